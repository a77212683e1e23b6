import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ClosedError, Executor, StateError, TimeoutError, listenSignals, signal, timeout, yieldNow } from '../src/index.js';
import { BACKEND, catching, run } from './util.js';

const FIXTURE = new URL('./fixtures/signal_listener.mjs', import.meta.url).pathname;
const NODE_LISTENERS = new URL('./fixtures/signal_node_listeners.mjs', import.meta.url).pathname;
const WATCH_LIMIT = new URL('./fixtures/signal_watch_limit.mjs', import.meta.url).pathname;
const ORDER = new URL('./fixtures/signal_order.mjs', import.meta.url).pathname;
const WORKER_CHAIN = new URL('./fixtures/signal_worker_chain.mjs', import.meta.url).pathname;

/** A fixture child that the test signals step by step: `waitFor(line)` resolves once it printed `line`. */
function startChild(fixture: string) {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('exit', () => clearTimeout(killer));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const waitFor = async (line: string): Promise<void> => {
    while (!out.includes(line)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child ended: ${out}${err}`);
      await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')]);
    }
  };
  const exit = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, waitFor, exit, output: () => ({ out, err }) };
}

describe('signals', () => {
  it('SignalListener.recv() receives a signal sent while no recv() was waiting', async () => {
    const child = spawn(process.execPath, [FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const waitFor = async (line: string) => {
      while (!out.includes(line)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child ended: ${out}`);
        await once(child.stdout!, 'data');
      }
    };
    await waitFor('ready\n');
    child.kill('SIGUSR2');
    await waitFor('SIGUSR2 1\n');
    child.kill('SIGUSR2'); // lands during the child's 300 ms pause, between two recv() calls
    await waitFor('SIGUSR2 2\n');
    child.kill('SIGTERM');
    const [code, sig] = await once(child, 'exit');
    clearTimeout(killer);
    expect(sig).toBeNull();
    expect(code).toBe(0);
    expect(out).toBe('ready\nSIGUSR2 1\nSIGUSR2 2\ndone after 2\n');
  });

  it("wakeloop's handler and Node's process.on listeners both get a signal, in either order", async () => {
    const child = spawn(process.execPath, [NODE_LISTENERS], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const [code, sig] = await once(child, 'close');
    clearTimeout(killer);
    expect({ code, sig, out, err }).toEqual({
      code: 0,
      sig: null,
      // A: Node's listener first; B: Node's added while wakeloop listens; C: Node's outlives
      // wakeloop's; D: a name given twice, one delivery (and SIGUSR1, which nobody listens to
      // in Node, does not start the inspector: stderr stays empty).
      out: 'A wakeloop=SIGUSR2 node=1\nB wakeloop=SIGUSR2 node=1\nC node=1\nD SIGUSR1,nothing\n',
      err: '',
    });
  });

  it("a worker's signal watch does not stop the main thread's process.on listener", async () => {
    const { child, waitFor, exit, output } = startChild(WORKER_CHAIN);
    await waitFor('ready B\n');
    child.kill('SIGUSR2');
    await waitFor('ready A\n');
    child.kill('SIGUSR2');
    const [code, sig] = await exit;
    expect({ code, sig, ...output() }).toEqual({
      code: 0,
      sig: null,
      out: 'ready B\nB worker=SIGUSR2 node=1\nready A\nA worker=SIGUSR2 main=SIGUSR2 node=1\n',
      err: '',
    });
  });

  it('listenSignals(a, b) past the watcher limit for b throws a clear error and leaves a unwatched', async () => {
    const { exit, output } = startChild(WATCH_LIMIT);
    const [code, sig] = await exit;
    const { out, err } = output();
    expect({ code, sig, err }).toEqual({ code: 0, sig: null, err: '' });
    expect(JSON.parse(out)).toEqual({
      limit: 32,
      hupBefore: false,
      error: 'IoError ENOSPC: cannot watch SIGUSR2: 32 executors already watch it, the most the addon allows at once',
      hupAfter: false,
      hupLate: true,
      usr2End: false,
      hupEnd: false,
    });
  });

  it('SignalListener.recv() returns queued deliveries by the order of the names, not of arrival', async () => {
    const { exit, output } = startChild(ORDER);
    const [code, sig] = await exit;
    expect({ code, sig, ...output() }).toEqual({
      code: 0,
      sig: null,
      out: 'SIGUSR2+SIGINT: SIGUSR2,SIGUSR2,SIGUSR2,SIGINT\nSIGINT+SIGUSR2: SIGINT,SIGUSR2,SIGUSR2,SIGUSR2\n',
      err: '',
    });
  });

  it('signal() and listenSignals() reject bad names with a clear error', () => {
    expect(() => signal()).toThrow(/at least one signal/);
    expect(() => signal('SIGKILL' as never)).toThrow(/names must be among SIGINT/);
    run((function* () {
      expect(() => listenSignals('SIGSEGV' as never)).toThrow(TypeError);
      const listener = listenSignals('SIGUSR1');
      listener.close();
      expect(() => listener.recv()).toThrow(/SignalListener is closed/);
    })());
    expect(() => listenSignals('SIGUSR1')).toThrow(/no wakeloop executor is running/);
    expect(() => listenSignals('SIGUSR1')).toThrow(StateError);
  });

  it('SignalListener.close() ends a recv() already waiting with ClosedError', () => {
    run((function* () {
      const listener = listenSignals('SIGUSR2');
      const waiting = Executor.current().spawn(catching(timeout(2000, listener.recv())));
      yield* yieldNow(); // the recv() polls and waits
      listener.close();
      const started = performance.now();
      const error = yield* waiting;
      expect(error).toBeInstanceOf(ClosedError);
      expect(error).not.toBeInstanceOf(TimeoutError);
      expect(performance.now() - started).toBeLessThan(1000);
    })());
  });

  it('SignalListener.recv() awaited on another executor than the listener\'s is a StateError, not a missed signal', () => {
    const owner = new Executor({ backend: BACKEND });
    const listener = owner.blockOn((function* () {
      return listenSignals('SIGUSR2');
    })());
    try {
      const error = run(catching(listener.recv()));
      expect(error).toBeInstanceOf(StateError);
      expect((error as Error).message).toMatch(/SignalListener belongs to another executor/);
    } finally {
      listener.close();
      owner.close();
    }
  });

  it('SignalListener.close() from plain code wakes the task waiting in recv()', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      let listener: ReturnType<typeof listenSignals> | null = null;
      const h = executor.spawn((function* () {
        listener = listenSignals('SIGUSR2');
        return yield* catching(listener.recv());
      })());
      executor.turn(0);
      expect(executor.reactor.hasWaiters).toBe(true);
      listener!.close();
      expect(executor.reactor.hasWaiters).toBe(false);
      expect(executor.blockOn(timeout(2000, h))).toBeInstanceOf(ClosedError);
    } finally {
      executor.close();
    }
  });

  it('a signal wait cancelled outside a turn (from plain code) forgets its waiter', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      const viaListener = function* () {
        const listener = listenSignals('SIGUSR2');
        try {
          return yield* listener.recv();
        } finally {
          listener.close();
        }
      };
      for (const task of [signal('SIGUSR2'), viaListener()]) {
        const h = executor.spawn(task);
        executor.turn(0);
        expect(executor.reactor.hasWaiters).toBe(true);
        h.cancel();
        expect(executor.reactor.hasWaiters).toBe(false); // would keep an attached process alive
      }
    } finally {
      executor.close();
    }
  });
});
