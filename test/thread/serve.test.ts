// serveOnThreads(): workers run compiled JS, so this file imports dist/ throughout (build first).
// The servers under test are small ES modules given as data: URLs, importing dist/ by file URL.
import { spawn as spawnProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sys } from '../../dist/src/index.js';
import { serveOnThreads, type ThreadServer, type WorkerExit } from '../../dist/src/thread/serve.js';
import { runNode } from '../child.js';

const INDEX = new URL('../../dist/src/index.js', import.meta.url).href;

// Each connection first gets one byte, the number of the worker that accepted it, then echoes.
// Worker `crash` throws `crashAfterMs` after it is ready (its listener closes in the finally),
// or with `how` 'exit' calls process.exit(7) then (no finally runs).
const SERVER = `data:text/javascript,${encodeURIComponent(`
import { TcpListener, sleep, spawn } from ${JSON.stringify(INDEX)};
export function* serve(ctx, port, crash = -1, crashAfterMs = 0, how = 'throw') {
  const listener = yield* TcpListener.bind({ host: '127.0.0.1', port }, { reusePort: true });
  try {
    ctx.ready(listener.localAddress.port);
    if (ctx.index === crash) {
      yield* sleep(crashAfterMs);
      if (how === 'exit') process.exit(7);
      throw new Error('worker ' + ctx.index + ' crashed on purpose');
    }
    for (;;) spawn(reply(yield* listener.accept(), ctx.index));
  } finally {
    listener.close();
  }
}
function* reply(stream, index) {
  try {
    yield* stream.writeAll(Uint8Array.of(index));
    for (;;) { const d = yield* stream.read(); if (d.length === 0) return; yield* stream.writeAll(d); }
  } catch {} finally { stream.close(); }
}
export function notAGenerator() { return 42; }
export function* drainOnStop(ctx, sab) {
  const flags = new Int32Array(sab);
  ctx.ready();
  try {
    yield* sleep(1e9);
  } finally {
    Atomics.store(flags, ctx.index * 2, 1); // entered
    yield* sleep(100); // say, to let open connections finish
    Atomics.store(flags, ctx.index * 2 + 1, 1); // completed
  }
}
`)}`;

const threads = () => readdirSync('/proc/self/task').length;
/** Open fds, by target. */
const fds = () => readdirSync('/proc/self/fd').map((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return ''; // the directory handle readdir used
  }
});

/** A port every worker can join: a bound, non-listening SO_REUSEPORT socket holds it meanwhile. */
function reservePort(): { port: number; release: () => void } {
  const fd = sys.socket(4);
  sys.setReusePort(fd, true);
  if (sys.bind(fd, '127.0.0.1', 0) < 0) throw new Error('cannot reserve a port');
  const address = sys.localAddress(fd);
  if (typeof address === 'number') throw new Error('getsockname failed');
  return { port: address.port, release: () => void sys.close(fd) };
}

/** Connects, reads the worker's number, checks one echo, closes. */
async function ask(port: number, text = 'ping'): Promise<number> {
  const socket: Socket = connect(port, '127.0.0.1');
  let got = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  await once(socket, 'connect');
  socket.end(text);
  await once(socket, 'close');
  expect(got.subarray(1).toString()).toBe(text);
  return got[0];
}

let server: ThreadServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('serveOnThreads()', () => {
  it('serveOnThreads() runs the server on N threads accepting on one port; stop() ends them all', async () => {
    const threadsBefore = threads();
    const fdsBefore = fds();
    const { port, release } = reservePort();
    server = serveOnThreads({ threads: 2, module: SERVER, exportName: 'serve', args: [port] });
    expect(await server.ready).toEqual([port, port]);
    release();
    expect(server.serving).toBe(2);
    const workers = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(port, `hello ${i}`)));
    expect(new Set(workers)).toEqual(new Set([0, 1])); // the kernel spread them (2^-39 odds otherwise)

    const t0 = performance.now();
    const exits = await server.stop(); // both are idle in block(-1): woken through notifyBlocker
    expect(performance.now() - t0).toBeLessThan(1500); // under the 2 s grace, after which it would terminate them
    expect(exits.map((e) => [e.code, e.expected, e.openTasks])).toEqual([[0, true, 0], [0, true, 0]]);
    expect(server.serving).toBe(0);
    const refused = connect(port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    await new Promise((r) => setTimeout(r, 50));
    expect(threads()).toBe(threadsBefore);
    // Nothing the workers opened outlives them (the addon closes what a thread left open).
    const added = fds().filter((t) => t !== '');
    for (const t of fdsBefore) {
      const i = added.indexOf(t);
      if (i >= 0) added.splice(i, 1);
    }
    expect(added).toEqual([]);
  });

  it('serveOnThreads() reports a worker that crashes, and the others keep serving', async () => {
    const { port, release } = reservePort();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      server = serveOnThreads({ threads: 3, module: SERVER, exportName: 'serve', args: [port, 1, 300] });
      await server.ready;
      release();
      for (let i = 0; i < 200 && server.serving === 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.serving).toBe(2);
      const workers = await Promise.all(Array.from({ length: 30 }, () => ask(port)));
      expect(new Set(workers)).toEqual(new Set([0, 2]));
      const report = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(report).toMatch(/wakeloop: serve worker 1 crashed: Error: worker 1 crashed on purpose/);
      expect(report).toMatch(/2 of 3 still serving/);
    } finally {
      stderr.mockRestore();
    }
    const exits = await server.stop();
    expect(exits[1]).toMatchObject({ code: 1, expected: false });
    expect((exits[1] as WorkerExit).error?.message).toBe('worker 1 crashed on purpose');
    expect(exits.filter((e) => e.expected).map((e) => e.index)).toEqual([0, 2]);
  });

  it('a worker that calls process.exit() leaves no listener behind: every connection is still served', async () => {
    const { port, release } = reservePort();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      server = serveOnThreads({ threads: 3, module: SERVER, exportName: 'serve', args: [port, 1, 300, 'exit'] });
      await server.ready;
      release();
      for (let i = 0; i < 200 && server.serving === 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.serving).toBe(2);
      // Before, the dead worker's listener stayed open, and the kernel gave it about a third of
      // the new connections, which nobody accepted: those waited for good.
      const answered = Promise.all(Array.from({ length: 30 }, () => ask(port)));
      const workers = await Promise.race([answered, new Promise((r) => setTimeout(r, 5000, 'some connections hung'))]);
      expect(workers).toBeInstanceOf(Array);
      expect(new Set(workers as number[])).toEqual(new Set([0, 2]));
    } finally {
      stderr.mockRestore();
    }
    const exits = await server.stop();
    expect(exits[1]).toMatchObject({ code: 7, expected: false });
  });

  it("onUnhandledError: 'warn' reports each failed connection task at once and the worker serves on; 'throw' (the default) ends it", async () => {
    // In a child process: the workers write their warnings straight to fd 2.
    const run = async (policy: string) => {
      const { code, stdout, stderr } = await runNode([new URL('./fixtures/serve_policy.mjs', import.meta.url).pathname, policy]);
      return { code, seen: JSON.parse(stdout), stderr };
    };
    const warned = await run('warn');
    expect(warned.code).toBe(0);
    expect(warned.seen).toEqual({ echoed: true, serving: 1 });
    const beforeStop = warned.stderr.slice(0, warned.stderr.indexOf('stopping'));
    expect(beforeStop.match(/wakeloop: a spawned task failed and nobody joined it:\nError: handler bug/g)).toHaveLength(2);
    const thrown = await run('throw');
    expect(thrown.code).toBe(0);
    expect(thrown.seen).toMatchObject({ exits: [{ index: 0, expected: false }] });
    expect(thrown.seen.error).toMatch(/handler bug/);
  });

  it('serveOnThreads() calls onWorkerExit for every worker, expected or not', async () => {
    const { port, release } = reservePort();
    const seen: WorkerExit[] = [];
    server = serveOnThreads({ threads: 2, module: SERVER, exportName: 'serve', args: [port], onWorkerExit: (e) => seen.push(e) });
    await server.ready;
    release();
    await server.stop();
    expect(seen.map((e) => e.expected).sort()).toEqual([true, true]);
  });

  it('serveOnThreads() rejects bad options with a clear error', () => {
    const base = { threads: 2, module: SERVER, exportName: 'serve' };
    expect(() => serveOnThreads({ ...base, threads: 0 })).toThrow(new RangeError('serveOnThreads(): options.threads must be between 1 and 256, got 0'));
    expect(() => serveOnThreads({ ...base, threads: '2' as never })).toThrow(new TypeError('serveOnThreads(): options.threads must be an integer, got string 2'));
    expect(() => serveOnThreads({ ...base, threads: 1.5 })).toThrow(TypeError);
    expect(() => serveOnThreads({ ...base, module: './server.js' })).toThrow(/module must be a URL or an absolute path/);
    expect(() => serveOnThreads({ ...base, exportName: '' })).toThrow(/exportName/);
    expect(() => serveOnThreads({ ...base, onUnhandledError: 'ignore' as never })).toThrow("serveOnThreads(): options.onUnhandledError must be 'throw' or 'warn', got string ignore");
    expect(() => serveOnThreads({ ...base, onUnhandledError: (() => {}) as never })).toThrow(/onUnhandledError must be 'throw' or 'warn'/);
    expect(() => serveOnThreads({ ...base, args: [() => 1] })).toThrow(/options\.args cannot be sent to the workers/);
    expect(() => serveOnThreads(null as never)).toThrow(TypeError);
    expect(() => serveOnThreads([] as never)).toThrow('serveOnThreads(options): options must be an object, got an object (Array)');
  });

  it('serveOnThreads() says what it got for a bad exportName or stopGraceMs', () => {
    const base = { threads: 1, module: SERVER, exportName: 'serve' };
    expect(() => serveOnThreads({ ...base, exportName: 5 as never })).toThrow('serveOnThreads(): options.exportName must be a non-empty string, got number 5');
    expect(() => serveOnThreads({ ...base, stopGraceMs: -1 })).toThrow('serveOnThreads(): options.stopGraceMs must be >= 0, got -1');
    expect(() => serveOnThreads({ ...base, stopGraceMs: '5' as never })).toThrow('serveOnThreads(): options.stopGraceMs must be a number of milliseconds, got string 5');
    expect(() => serveOnThreads({ ...base, stopGraceMs: Number.NaN })).toThrow(TypeError);
  });

  it('serveOnThreads(): stop() lets a server task\'s finally that awaits run to its end within stopGraceMs', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(16));
    server = serveOnThreads({ threads: 2, module: SERVER, exportName: 'drainOnStop', args: [flags.buffer], stopGraceMs: 5_000 });
    await server.ready;
    const t0 = performance.now();
    const exits = await server.stop();
    expect([...flags]).toEqual([1, 1, 1, 1]); // both finally blocks were entered and completed
    expect(exits.map((e) => [e.code, e.expected])).toEqual([[0, true], [0, true]]); // not terminated
    expect(performance.now() - t0).toBeLessThan(3_000);
  });

  it('serveOnThreads(): a worker terminated after stopGraceMs is not an expected exit (it counted as one)', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(16));
    server = serveOnThreads({ threads: 1, module: SERVER, exportName: 'drainOnStop', args: [flags.buffer], stopGraceMs: 20 });
    await server.ready;
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(String(chunk))) as never;
    let exit;
    try {
      [exit] = await server.stop();
    } finally {
      process.stderr.write = write;
    }
    expect(Atomics.load(flags, 1)).toBe(0); // its finally was still sleeping
    expect(exit).toMatchObject({ code: 1, expected: false, openTasks: undefined });
    expect(written).toEqual(['wakeloop: serve worker 0 did not stop within the grace period and was terminated (exit code 1); 0 of 1 still serving\n']);
  });

  it.each([
    ['nope', /has no exported function 'nope'/],
    ['notAGenerator', /'notAGenerator' must be a generator function/],
  ])('serveOnThreads() with export %s: ready rejects with what went wrong', async (exportName, message) => {
    server = serveOnThreads({ threads: 2, module: SERVER, exportName, onWorkerExit: () => {} });
    await expect(server.ready).rejects.toThrow(message);
    const exits = await server.exited;
    expect(exits.every((e) => e.code === 1 && !e.expected)).toBe(true);
  });
});

describe('serveOnThreads() and process lifetime', () => {
  it('a process that stops its ThreadServer exits by itself: no handle is left behind', async () => {
    const code = `
      import { serveOnThreads } from ${JSON.stringify(new URL('../../dist/src/thread/serve.js', import.meta.url).href)};
      import net from 'node:net';
      const server = serveOnThreads({ threads: 2, module: ${JSON.stringify(SERVER)}, exportName: 'serve', args: [0] });
      const [port] = await server.ready;
      const s = net.connect(port, '127.0.0.1');
      s.once('data', async () => { s.destroy(); await server.stop(); process.stdout.write('stopped\\n'); });`;
    const child = spawnProcess(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const [exitCode, signal] = await once(child, 'exit');
    clearTimeout(killer);
    expect({ exitCode, signal, out }).toEqual({ exitCode: 0, signal: null, out: 'stopped\n' });
  });
});
