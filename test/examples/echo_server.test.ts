import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname;

/** Starts `wakeloop echo-server` on a free port and resolves with the child and its port. */
async function startServer(): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'echo-server', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('exit', () => clearTimeout(killer));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (;;) {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) return { child, port: Number(m[1]), output: () => out };
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    await once(child.stdout!, 'data');
  }
}

/** Sends `payload` on a new connection and resolves with what came back before our FIN. */
function echoOnce(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(payload));
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

describe('wakeloop echo-server', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('echoes every byte on many connections and exits 0 on %s', async (sig) => {
    const { child, port, output } = await startServer();
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1000 * (i + 1), i + 1));
    const echoed = await Promise.all(payloads.map((p) => echoOnce(port, p)));
    echoed.forEach((e, i) => expect(e.equals(payloads[i])).toBe(true));
    // An idle connection stays open until shutdown closes it.
    const idle = connect(port, '127.0.0.1');
    await once(idle, 'connect');
    const closed = once(idle, 'close');
    child.kill(sig);
    const [code] = await once(child, 'exit');
    await closed;
    expect(code).toBe(0);
    expect(output()).toContain(`${sig}: closed the listener`);
    expect(output()).toMatch(/closed 1 connection\(s\)/);
  });

  it('rejects a bad port with exit code 2', async () => {
    const child = spawn(process.execPath, [CLI, 'echo-server', '--port', 'http'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(err).toMatch(/--port must be an integer/);
  });
});
