import { once } from 'node:events';
import { get } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { echoOnce, runCli, startCli } from '../child.js';

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

describe('wakeloop http-and-echo', () => {
  it('serves a wakeloop echo server and node:http in one process; /echo awaits a wakeloop task', async () => {
    // Resolves once both servers listen.
    const { child, ports: [echoPort, httpPort], output } = await startCli(['http-and-echo', '--echo-port', '0', '--http-port', '0'], {
      listening: [/echo listening on 127\.0\.0\.1:(\d+)/, /http listening on 127\.0\.0\.1:(\d+)/],
    });
    // Both servers at once: echo connections and HTTP requests interleaved.
    const payloads = Array.from({ length: 10 }, (_, i) => Buffer.alloc(5000 * (i + 1), i + 1));
    const [echoed, root, ...viaWakeloop] = await Promise.all([
      Promise.all(payloads.map((p) => echoOnce(echoPort, p))),
      httpGet(httpPort, '/'),
      ...Array.from({ length: 10 }, (_, i) => httpGet(httpPort, `/echo?text=${encodeURIComponent(`hello ${i}`)}`)),
    ]);
    echoed.forEach((e, i) => expect(e.equals(payloads[i])).toBe(true));
    expect(root).toEqual({ status: 200, body: 'node:http here, next to a wakeloop echo server\n' });
    viaWakeloop.forEach((r, i) => expect(r).toEqual({ status: 200, body: JSON.stringify({ echoed: `hello ${i}` }) }));
    expect((await httpGet(httpPort, '/nope')).status).toBe(404);

    const idle = connect(echoPort, '127.0.0.1');
    await once(idle, 'connect');
    const closed = once(idle, 'close');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    await closed; // the executor's close() cancelled its echo task, which closed the stream
    expect(code).toBe(0);
    expect(output()).toContain('SIGTERM: closed both servers');
    expect(output()).toContain('closed 1 echo connection(s)');
  });

  it('asks for the epoll backend itself, as attach() needs it, whatever WAKELOOP_BACKEND says; both lines show the bound address', async () => {
    // With --host 127.1 the http line printed '127.1', the text given, not the address bound.
    const { child, ports: [, httpPort] } = await startCli(['http-and-echo', '--host', '127.1', '--echo-port', '0', '--http-port', '0'], {
      env: { WAKELOOP_BACKEND: 'poll' },
      listening: [/echo listening on 127\.0\.0\.1:(\d+)/, /http listening on 127\.0\.0\.1:(\d+)/],
    });
    expect(await httpGet(httpPort, '/echo?text=poll')).toEqual({ status: 200, body: JSON.stringify({ echoed: 'poll' }) });
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('exits 1 with a one-line message when a port is taken', async () => {
    const { child, ports: [echoPort] } = await startCli(['echo-server', '--port', '0']);
    try {
      const { code, stderr: err } = await runCli(['http-and-echo', '--echo-port', String(echoPort), '--http-port', '0'], { killAfterMs: 10_000 });
      expect(code).toBe(1);
      expect(err).toMatch(/^http-and-echo: bind .*\(EADDRINUSE\)\n$/);
    } finally {
      child.kill('SIGTERM');
    }
    await once(child, 'exit');
  });

  it('rejects a bad port with exit code 2', async () => {
    const { code, stderr: err } = await runCli(['http-and-echo', '--http-port', 'x']);
    expect(code).toBe(2);
    expect(err).toMatch(/--http-port must be an integer/);
  });
});
