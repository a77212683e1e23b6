import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname;

/** Starts `wakeloop http-and-echo` on free ports; resolves once both servers listen. */
async function startDemo(): Promise<{ child: ChildProcess; echoPort: number; httpPort: number; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'http-and-echo', '--echo-port', '0', '--http-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WAKELOOP_BACKEND: 'epoll' }, // the attached mode needs epoll
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('exit', () => clearTimeout(killer));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (;;) {
    const e = /echo listening on 127\.0\.0\.1:(\d+)/.exec(out);
    const h = /http listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (e && h) return { child, echoPort: Number(e[1]), httpPort: Number(h[1]), output: () => out };
    if (child.exitCode !== null) throw new Error(`demo exited: ${out}`);
    await once(child.stdout!, 'data');
  }
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
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

describe('wakeloop http-and-echo', () => {
  it('serves a wakeloop echo server and node:http in one process; /echo awaits a wakeloop task', async () => {
    const { child, echoPort, httpPort, output } = await startDemo();
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

  it('says clearly that it needs the epoll backend', async () => {
    const child = spawn(process.execPath, [CLI, 'http-and-echo', '--echo-port', '0', '--http-port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, WAKELOOP_BACKEND: 'poll' },
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toMatch(/attach\(\) needs the epoll backend/);
  });

  it('rejects a bad port with exit code 2', async () => {
    const child = spawn(process.execPath, [CLI, 'http-and-echo', '--http-port', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(err).toMatch(/--http-port must be an integer/);
  });
});
