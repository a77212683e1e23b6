import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';

const FIXTURE = new URL('./fixtures/emfile_listener.mjs', import.meta.url).pathname;

describe('TcpListener out of fds', () => {
  it('TcpListener.accept() sheds connections at EMFILE instead of spinning, and keeps serving', async () => {
    const child = spawn('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" "${FIXTURE}"`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const waitFor = async (re: RegExp) => {
      while (!re.test(out)) {
        if (child.exitCode !== null) throw new Error(`child exited: ${out}${err}`);
        await once(child.stdout!, 'data');
      }
      return re.exec(out)!;
    };
    const port = Number((await waitFor(/port (\d+)/))[1]);
    const sockets: Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    const m = await waitFor(/held (\d+) shed (\d+)/);
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(err).toMatch(/out of file descriptors \(EMFILE\)/);
    for (const s of sockets) s.destroy();
    const probe = connect(port, '127.0.0.1', () => probe.write('ping'));
    const [reply] = (await once(probe, 'data')) as [Buffer];
    expect(reply.toString()).toBe('ping');
    probe.destroy();
    const [code] = await once(child, 'exit');
    clearTimeout(killer);
    expect(code).toBe(0);
    expect(out).toContain('done');
  });
});
