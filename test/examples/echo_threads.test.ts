// `wakeloop echo-server` in its other two modes: --threads N (N workers sharing the port with
// SO_REUSEPORT, supervised from the main thread) and --attached (inside Node's event loop).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname;

/** Starts `wakeloop echo-server ...args` (epoll) and resolves once it prints its address. */
async function startServer(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'echo-server', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WAKELOOP_BACKEND: 'epoll' },
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('exit', () => clearTimeout(killer));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (;;) {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) return { child, port: Number(m[1]), output: () => out };
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')]);
  }
}

function echoOnce(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(payload));
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

/** Exit code and stderr of a run that is expected to fail at once. */
async function failing(args: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [CLI, 'echo-server', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, err };
}

describe.each([
  { mode: '--threads 2', args: ['--threads', '2'], closing: /SIGINT|SIGTERM: stopped 2 worker thread\(s\)/ },
  { mode: '--attached', args: ['--attached'], closing: /: closed the listener/ },
])('wakeloop echo-server $mode', ({ args, closing }) => {
  it.each(['SIGTERM', 'SIGINT'] as const)('echoes every byte on many connections and exits 0 on %s', async (sig) => {
    const { child, port, output } = await startServer([...args, '--port', '0']);
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
    const { code, err } = await failing(['--threads', n, '--port', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/--threads must be an integer from 1 to 256/);
  });

  it('rejects --attached with --threads', async () => {
    const { code, err } = await failing(['--threads', '2', '--attached', '--port', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/do not combine/);
  });

  it('fails with EADDRINUSE, starting no worker, when a non-SO_REUSEPORT socket holds the port', async () => {
    const holder = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    const { code, err } = await failing(['--threads', '2', '--port', String(port)]);
    holder.close();
    expect(code).toBe(1);
    expect(err).toMatch(/EADDRINUSE/);
  });
});
