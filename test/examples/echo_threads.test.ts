// `wakeloop echo-server` in its other two modes: --threads N (N workers sharing the port with
// SO_REUSEPORT, supervised from the main thread) and --attached (inside Node's event loop).
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { echoOnce, runCli, startCli } from '../child.js';

describe.each([
  { mode: '--threads 2', args: ['--threads', '2'], closing: /SIGINT|SIGTERM: stopped 2 worker thread\(s\)/ },
  { mode: '--attached', args: ['--attached'], closing: /: closed the listener/ },
])('wakeloop echo-server $mode', ({ args, closing }) => {
  it.each(['SIGTERM', 'SIGINT'] as const)('echoes every byte on many connections and exits 0 on %s', async (sig) => {
    const { child, ports: [port], output } = await startCli(['echo-server', ...args, '--port', '0'], { env: { WAKELOOP_BACKEND: 'epoll' } });
    const payloads = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000 * (i + 1), i + 1));
    const echoed = await Promise.all(payloads.map((p) => echoOnce(port, p)));
    echoed.forEach((e, i) => expect(e.equals(payloads[i])).toBe(true));
    const idle = connect(port, '127.0.0.1'); // stays open until shutdown closes it
    await once(idle, 'connect');
    await new Promise((r) => setTimeout(r, 50)); // accepted by now
    const closed = once(idle, 'close');
    child.kill(sig);
    const [code] = await once(child, 'exit');
    await closed;
    expect(code).toBe(0);
    expect(output()).toMatch(closing);
    expect(output()).toContain(`${sig}:`);
    expect(output()).toMatch(/closed 1 connection\(s\)/);
  });
});

describe('wakeloop echo-server --threads: bad input', () => {
  it.each([['0'], ['1.5'], ['many'], ['300']])('rejects --threads %s with exit code 2', async (n) => {
    const { code, stderr: err } = await runCli(['echo-server', '--threads', n, '--port', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/--threads must be an integer from 1 to 256/);
  });

  it('rejects --attached with --threads', async () => {
    const { code, stderr: err } = await runCli(['echo-server', '--threads', '2', '--attached', '--port', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/do not combine/);
  });

  it('fails with EADDRINUSE, starting no worker, when a non-SO_REUSEPORT socket holds the port', async () => {
    const holder = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    const { code, stderr: err } = await runCli(['echo-server', '--threads', '2', '--port', String(port)]);
    holder.close();
    expect(code).toBe(1);
    expect(err).toMatch(/EADDRINUSE/);
  });

  it('refuses, with EADDRINUSE, a port another program already serves with SO_REUSEPORT', async () => {
    const holder = await startCli(['echo-server', '--threads', '1', '--port', '0']);
    const [port] = holder.ports;
    try {
      const { code, stdout, stderr: err } = await runCli(['echo-server', '--threads', '2', '--port', String(port)], { killAfterMs: 10_000 });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(err).toMatch(/^echo-server: bind 127\.0\.0\.1:\d+: .*\(EADDRINUSE\)\n$/);
    } finally {
      holder.child.kill('SIGTERM');
    }
    const [code] = await once(holder.child, 'exit');
    expect(code).toBe(0);
    expect(holder.output()).toMatch(/closed 0 connection\(s\)/); // every connection went to the holder
  });

  it('binds a port whose connections from an earlier server are still in TIME_WAIT', async () => {
    // The earlier server closes a connection first, so its side of it stays in TIME_WAIT.
    const first = await startCli(['echo-server', '--port', '0']);
    const [port] = first.ports;
    const idle = connect(port, '127.0.0.1');
    await once(idle, 'connect');
    await new Promise((r) => setTimeout(r, 50)); // accepted by now
    const closed = once(idle, 'close');
    first.child.kill('SIGTERM');
    expect((await once(first.child, 'exit'))[0]).toBe(0);
    await closed;

    const { child, ports } = await startCli(['echo-server', '--threads', '2', '--port', String(port)]);
    expect(ports).toEqual([port]);
    expect((await echoOnce(port, Buffer.from('again'))).toString()).toBe('again');
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });
});

describe('wakeloop echo-server --attached under WAKELOOP_BACKEND=poll', () => {
  it('asks for the epoll backend itself, as attach() needs it', async () => {
    const { child, ports: [port] } = await startCli(['echo-server', '--attached', '--port', '0'], { env: { WAKELOOP_BACKEND: 'poll' } });
    expect((await echoOnce(port, Buffer.from('attached'))).toString()).toBe('attached');
    child.kill('SIGINT');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });
});
