import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';

const FIXTURE = new URL('./fixtures/emfile_listener.mjs', import.meta.url).pathname;
const NO_RESERVE = new URL('./fixtures/emfile_no_reserve.mjs', import.meta.url).pathname;
const OVER_LIMIT = new URL('./fixtures/poll_over_fd_limit.mjs', import.meta.url).pathname;

/** The soft fd limit of another process, and setting it (there is no setrlimit in Node). */
function softFdLimit(pid: number): number {
  return Number(execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--output=SOFT', '--noheadings', '--raw']));
}
function setSoftFdLimit(pid: number, soft: number): void {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:`]);
}

/** Runs a fixture; `line(re)` waits for its output to match and returns the match. */
function runFixture(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(killer);
    return code as number | null;
  });
  const line = async (re: RegExp): Promise<RegExpExecArray> => {
    while (!re.test(out)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited: ${out}${err}`);
      await Promise.race([once(child.stdout!, 'data'), exited]);
    }
    return re.exec(out)!;
  };
  return { child, line, exited, output: () => out + err };
}

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

  for (const backend of ['epoll', 'poll']) {
    it(`TcpListener.accept() with no fd number left at all pauses and retries, neither spinning nor stalling (${backend})`, async () => {
      const { child, line, exited } = runFixture([NO_RESERVE, backend]);
      const [, port, limit] = await line(/port (\d+) limit (\d+)/);
      const original = softFdLimit(child.pid!);
      setSoftFdLimit(child.pid!, Number(limit));
      const client = connect(Number(port), '127.0.0.1');
      client.on('error', () => {});
      await once(client, 'connect');
      child.kill('SIGUSR2');
      const [, cpuMs, accepted] = await line(/cpu (\d+) ms accepted (\d+)/);
      expect(Number(accepted)).toBe(0);
      // Retrying on a doubling pause costs next to nothing; the old wait for readiness spun a
      // whole core on poll(2), which reports the waiting connection again at once.
      expect(Number(cpuMs)).toBeLessThan(300);
      setSoftFdLimit(child.pid!, original);
      child.kill('SIGUSR2');
      // epoll sends no new edge for the connection that waited: the retry takes it.
      await line(/accepted 1/);
      client.destroy();
      expect(await exited).toBe(0);
    });
  }

  it('a poll-backend executor (and IoBlocker.block()) with more fds registered than the fd limit throws IoError instead of spinning', async () => {
    const { child, line, exited, output } = runFixture([OVER_LIMIT], { ...process.env, WAKELOOP_BACKEND: 'poll' });
    await line(/ready 80/);
    setSoftFdLimit(child.pid!, 64);
    expect(await exited).toBe(3);
    expect(output()).toMatch(/executor: IoError EINVAL block/);
    expect(output()).toMatch(/IoBlocker: IoError EINVAL block/);
  });
});
