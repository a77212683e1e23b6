import { spawn as spawnProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
// Pool workers run compiled JS, and the caller must use the same wakeloop copy as they do:
// this file imports dist/ throughout (`npm test` runs tsc first).
import { CancelledError, ClosedError, Executor, scope, sleep, spawn, timeout } from '../../dist/src/index.js';
import type { Awaitable, Future, Task } from '../../dist/src/index.js';
import { poolScope, type Pool } from '../../dist/src/thread/pool.js';
import { CrossThreadSignal } from '../../dist/src/thread/signal.js';
import { runNode } from '../child.js';

const TASKS = new URL('./fixtures/pool_tasks.mjs', import.meta.url);
const SLOW_MODULE = new URL('./fixtures/slow_module.mjs', import.meta.url);
const DIST = (path: string): string => JSON.stringify(new URL(`../../dist/src/${path}`, import.meta.url).href);
const BACKEND = process.env.WAKELOOP_BACKEND === 'poll' ? 'poll' : 'epoll';

beforeAll(() => {
  for (const name of ['pool', 'pool_worker', '_pool_worker_main', '_pool_exits', '_pool_protocol', 'worker', '_start_worker', 'channel', 'signal']) {
    const built = statSync(fileURLToPath(new URL(`../../dist/src/thread/${name}.js`, import.meta.url)), { throwIfNoEntry: false });
    const source = statSync(fileURLToPath(new URL(`../../src/thread/${name}.ts`, import.meta.url)));
    if (built === undefined || built.mtimeMs < source.mtimeMs) {
      throw new Error(`dist/src/thread/${name}.js is missing or older than its source: run \`npx tsc -p tsconfig.json\``);
    }
  }
});

/** Runs `main` on a fresh executor with a wakeloop deadline, then closes it. */
function run<T>(main: Awaitable<T>, deadlineMs = 20_000): T {
  const executor = new Executor({ backend: BACKEND });
  try {
    return executor.blockOn(timeout(deadlineMs, main));
  } finally {
    executor.close();
  }
}

function* catching(fut: Future<unknown> | Task<unknown>): Task<unknown> {
  try {
    yield* fut;
    return undefined;
  } catch (e) {
    return e;
  }
}

const threads = (): number => readdirSync('/proc/self/task').length;
const fds = (): number => readdirSync('/proc/self/fd').length;

describe('poolScope', () => {
  it('poolScope() runs plain and generator tasks on worker threads; results come back through shared memory', async () => {
    const shared = new Int32Array(new SharedArrayBuffer(16));
    let pool: Pool | undefined;
    const result = run((function* () {
      return yield* poolScope(2, function* (p) {
        pool = p;
        const ids = [p.spawn<number>(TASKS, 'whoami'), p.spawn<number>(TASKS, 'whoami')];
        for (let slot = 0; slot < 4; slot++) p.spawn(TASKS, 'fill', shared.buffer, slot, 10 + slot);
        const sum = p.spawn<number>(TASKS, 'add', 2, 3);
        const slow = p.spawn<string>(TASKS, 'later', 20, 'generator');
        return { ids: [yield* ids[0], yield* ids[1]], sum: yield* sum, slow: yield* slow, size: p.size };
      });
    })());
    // every fill task finished before the scope returned, though nobody awaited them
    expect([...shared]).toEqual([10, 11, 12, 13]);
    expect(result.sum).toBe(5);
    expect(result.slow).toBe('generator');
    expect(result.size).toBe(2);
    expect(new Set(result.ids).size).toBe(2);
    expect(result.ids).not.toContain(0); // not the main thread
    await pool!.exited;
  });

  it('a task that throws fails the scope with its error (name, message, code, worker stack) and cancels the rest', async () => {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    const started = new CrossThreadSignal();
    let pool: Pool | undefined;
    const start = performance.now();
    const error = run((function* () {
      return yield* catching(poolScope(2, function* (p) {
        pool = p;
        p.spawn(TASKS, 'sleepLong', started.toCloneable(), shared.buffer, 0);
        yield* started.wait();
        p.spawn(TASKS, 'fail', 'task failed');
        yield* sleep(60_000);
      }));
    })()) as Error & { code?: string };
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('task failed');
    expect(error.code).toBe('E_TASK');
    expect(error.stack).toMatch(/at fail \(.*pool_tasks\.mjs/);
    expect(shared[0]).toBe(1); // the sleeping task was cancelled: its finally ran
    expect(performance.now() - start).toBeLessThan(5_000);
    await pool!.exited;
  });

  it("a task error's cause and an AggregateError's errors cross with their classes (they were dropped, and an AggregateError came back a plain Error)", async () => {
    const pools: Pool[] = [];
    const fail = (kind: string) => run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'failNested', kind);
    }))) as Error;
    const outer = fail('cause');
    expect(outer.message).toBe('outer');
    expect(outer.cause).toBeInstanceOf(RangeError);
    expect(outer.cause).toMatchObject({ message: 'inner', code: 'E_INNER' });
    expect((outer.cause as Error).stack).toMatch(/pool_tasks\.mjs/);
    const aggregate = fail('aggregate');
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(aggregate.message).toBe('all failed');
    const errors = (aggregate as AggregateError).errors as Error[];
    expect(errors.map((e) => [e.constructor.name, e.message])).toEqual([['TypeError', 'first'], ['RangeError', 'inner']]);
    await Promise.all(pools.map((p) => p.exited));
  });

  it("a task error's own primitive fields (errno, syscall, path, custom ones) and a primitive cause cross (they were dropped)", async () => {
    const pools: Pool[] = [];
    const error = run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'failWithFields');
    }))) as Error & Record<string, unknown>;
    expect(error.message).toBe('open failed');
    expect(error.cause).toBe('disk unplugged');
    expect(error).toMatchObject({ errno: -2, syscall: 'open', path: '/nowhere', retryable: false, detail: null });
    expect(error.options).toBeUndefined(); // an object field is left out
    expect(Object.getPrototypeOf(error)).toBe(Error.prototype); // a field named __proto__ is left out
    await Promise.all(pools.map((p) => p.exited));
  });

  it('an error too big for the result ring (its message or its code), or one that cannot be described, still fails the scope (it hung)', async () => {
    const pools: Pool[] = [];
    const huge = run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'failHuge', 300_000); // the default ring is 256 KiB
    }))) as Error;
    expect(huge).toBeInstanceOf(RangeError);
    expect(huge.message).toMatch(/^bad input: x{989}\.\.\. \(cut: the whole error did not fit the pool's result ring\)$/);
    const longCode = run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'failHugeCode', 300_000);
    }))) as Error & { code?: string };
    expect(longCode.message).toBe('bad request');
    expect(longCode.code).toBe(`${'E'.repeat(100)}... (cut)`);
    const odd = run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'throwNullProto');
    }))) as Error;
    expect(odd.message).toBe('a pool task threw a value that cannot be described ([object Object])');
    await Promise.all(pools.map((p) => p.exited));
  });

  it('a result too big for the ring or not cloneable fails naming the task and what to change, not ThreadChannel.send()', async () => {
    const pools: Pool[] = [];
    const fail = (name: string, ...args: unknown[]) =>
      run(catching(poolScope(1, function* (p) {
        pools.push(p);
        yield* p.spawn(TASKS, name, ...args);
      }))) as Error;
    const huge = fail('returnHuge', 1 << 20);
    expect(huge).toBeInstanceOf(RangeError);
    expect(huge.message).toMatch(/^pool task 'returnHuge': its result is too big for the pool's result ring \(options.resultCapacity of poolScope\(\)\): /);
    const fn = fail('returnFunction');
    expect(fn).toBeInstanceOf(TypeError);
    expect(fn.message).toMatch(/^pool task 'returnFunction': its result cannot be sent back to the pool's thread \(functions, symbols and other values structured cloning cannot copy; class instances arrive as plain objects\): /);
    await Promise.all(pools.map((p) => p.exited));
  });

  it('an error of a custom class keeps its name; an async function is refused with a clear error', async () => {
    const pools: Pool[] = [];
    const custom = run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'failLater', 5);
    }))) as Error;
    expect(custom.name).toBe('ParseError');
    expect(custom.message).toBe('bad input');
    const asyncError = run(catching(poolScope(1, function* (p) {
      pools.push(p);
      yield* p.spawn(TASKS, 'asyncTask');
    }))) as Error;
    expect(asyncError.message).toMatch(/returned a Promise/);
    await Promise.all(pools.map((p) => p.exited));
  });

  it('pool.spawn() refuses closures and relative paths; a missing export fails the scope; a closed pool throws ClosedError', async () => {
    let pool: Pool | undefined;
    const errors = run((function* () {
      return yield* poolScope(1, function* (p) {
        pool = p;
        const out: unknown[] = [];
        try {
          p.spawn(TASKS, 'add', () => 1, 2);
        } catch (e) {
          out.push(e);
        }
        try {
          p.spawn('relative/path.js', 'add');
        } catch (e) {
          out.push(e);
        }
        return out;
      });
    })()) as Error[];
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(errors[0].message).toMatch(/cannot be sent to a worker thread/);
    expect(errors[1]).toBeInstanceOf(TypeError);
    expect(() => pool!.spawn(TASKS, 'add', 1, 2)).toThrow(ClosedError);
    await pool!.exited;
    const missing = run(catching(poolScope(1, function* (p) {
      pool = p;
      p.spawn(TASKS, 'noSuchExport');
    }))) as Error;
    expect(missing.message).toMatch(/no exported function 'noSuchExport'/);
    await pool!.exited;
  });

  it('cancelling the scope stops a worker blocked in the kernel (a 60 s sleep) within a short time; its finally ran', async () => {
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const started = new CrossThreadSignal();
    let pool: Pool | undefined;
    const { error, stopMs } = run((function* () {
      const parent = spawn((function* () {
        yield* poolScope(2, function* (p) {
          pool = p;
          p.spawn(TASKS, 'sleepLong', started.toCloneable(), shared.buffer, 0);
          yield* sleep(60_000);
        }, { stopGraceMs: Infinity }); // graceful stop must not need the terminate backstop (it threw a RangeError: serveOnThreads took Infinity, poolScope did not)
      })());
      yield* started.wait(); // the worker's executor is now blocked in block(~60000)
      const t0 = performance.now();
      parent.cancel();
      const err = yield* catching(parent);
      return { error: err, stopMs: performance.now() - t0 };
    })());
    expect(error).toBeInstanceOf(CancelledError);
    expect(shared[0]).toBe(1);
    expect(stopMs).toBeLessThan(5_000);
    expect(await pool!.exited).toBeUndefined();
  });

  it('a worker that does not stop in time (a CPU loop, a finally blocked in the kernel) is terminated after stopGraceMs', async () => {
    const spinning = new CrossThreadSignal();
    const stubborn = new CrossThreadSignal();
    let pool: Pool | undefined;
    const start = performance.now();
    const error = run((function* () {
      return yield* catching(timeout(10_000, (function* () {
        yield* poolScope(2, function* (p) {
          pool = p;
          p.spawn(TASKS, 'spin', spinning.toCloneable());
          p.spawn(TASKS, 'stubborn', stubborn.toCloneable());
          yield* spinning.wait();
          yield* stubborn.wait();
          throw new Error('stop now');
        }, { stopGraceMs: 100 });
      })()));
    })()) as Error;
    expect(error.message).toBe('stop now');
    expect(performance.now() - start).toBeLessThan(5_000);
    await pool!.exited; // both threads are gone
  });

  it('workers exit when the pool closes: no thread or fd is left behind', async () => {
    // warm up once so lazily made process-wide threads and fds are not counted as leaks
    let pool: Pool | undefined;
    run(poolScope(2, function* (p) {
      pool = p;
      yield* p.spawn(TASKS, 'add', 1, 1);
    }));
    await pool!.exited;
    const before = { threads: threads(), fds: fds() };
    for (let i = 0; i < 3; i++) {
      run(poolScope(2, function* (p) {
        pool = p;
        p.spawn(TASKS, 'later', 5, 1);
        p.spawn(TASKS, 'add', 1, 2);
      }));
      await pool!.exited;
    }
    // A worker's 'exit' event can come a moment before its OS thread is gone: no event marks
    // that, so give the kernel a bounded moment before comparing.
    for (let i = 0; i < 100 && threads() > before.threads; i++) await new Promise((r) => setTimeout(r, 20));
    expect({ threads: threads(), fds: fds() }).toEqual(before);
  });

  it('a process whose timeout dropped a pool scope with a worker asleep in the kernel still exits', async () => {
    const script = `
      import { blockOn, timeout, TimeoutError } from ${JSON.stringify(new URL('../../dist/src/index.js', import.meta.url).href)};
      import { poolScope } from ${JSON.stringify(new URL('../../dist/src/thread/pool.js', import.meta.url).href)};
      import { CrossThreadSignal } from ${JSON.stringify(new URL('../../dist/src/thread/signal.js', import.meta.url).href)};
      const started = new CrossThreadSignal();
      const shared = new SharedArrayBuffer(4);
      try {
        blockOn(timeout(300, poolScope(2, function* (pool) {
          pool.spawn(${JSON.stringify(TASKS.href)}, 'sleepLong', started.toCloneable(), shared, 0);
          yield* started.wait();
          yield* pool.spawn(${JSON.stringify(TASKS.href)}, 'add', 1, 2);
          yield* pool.spawn(${JSON.stringify(TASKS.href)}, 'later', 60000, 0);
        })));
      } catch (e) {
        console.log(e instanceof TimeoutError ? 'timed out' : String(e));
      }
    `;
    const t0 = performance.now();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawnProcess(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(killer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(stderr).toBe('');
    expect(stdout).toBe('timed out\n');
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('poolScope and workers that die', () => {
  it('poolScope() fails, naming the worker, when a task ends its thread with process.exit() (it hung in blockOn)', async () => {
    let pool: Pool | undefined;
    const start = performance.now();
    const error = run(catching(poolScope(2, function* (p) {
      pool = p;
      yield* p.spawn(TASKS, 'exitNow', 3);
    })), 10_000) as Error;
    expect(error.message).toMatch(/^poolScope\(\): pool worker \d ended with exit code 3/);
    expect(performance.now() - start).toBeLessThan(5_000);
    await pool!.exited;
  });

  it('poolScope() fails with the uncaught error of a timer that throws while its worker imports a module', async () => {
    let pool: Pool | undefined;
    const error = run(catching(poolScope(1, function* (p) {
      pool = p;
      expect(yield* p.spawn(TASKS, 'throwInTimer', 50, 'boom from a timer')).toBe('scheduled');
      yield* p.spawn(SLOW_MODULE, 'one'); // the worker waits 300 ms on Node's loop: the timer fires
    })), 10_000) as Error;
    expect(error.message).toBe('poolScope(): pool worker 0 died of an uncaught error: Error: boom from a timer');
    expect((error.cause as Error).stack).toMatch(/pool_tasks\.mjs/);
    await pool!.exited; // its 'error' event came before: with no listener it would have crashed this process
  });

  it('poolScope() sees a worker terminated from outside, inside blockOn, where no Worker event arrives', async () => {
    const spinning = new CrossThreadSignal();
    let pool: Pool | undefined;
    const start = performance.now();
    const error = run(catching(poolScope(1, function* (p) {
      pool = p;
      const task = p.spawn(TASKS, 'spin', spinning.toCloneable());
      yield* spinning.wait();
      void p._workers[0].worker.terminate(); // no JS runs in the thread any more: no goodbye
      yield* task;
    })), 10_000) as Error;
    expect(error.message).toMatch(/^poolScope\(\): pool worker 0 died: its executor is gone/);
    expect(performance.now() - start).toBeLessThan(5_000);
    await pool!.exited;
  });

  it('poolScope() fails, naming the worker, when a worker cannot even start (it hung in blockOn)', async () => {
    const saved = process.env.WAKELOOP_BACKEND;
    const executor = new Executor({ backend: BACKEND });
    let pool: Pool | undefined;
    let error: Error;
    process.env.WAKELOOP_BACKEND = 'nope'; // the workers copy it and then cannot make an executor
    try {
      error = executor.blockOn(timeout(10_000, catching(poolScope(1, function* (p) {
        pool = p;
        yield* p.spawn(TASKS, 'add', 1, 2);
      })))) as Error;
    } finally {
      if (saved === undefined) delete process.env.WAKELOOP_BACKEND;
      else process.env.WAKELOOP_BACKEND = saved;
      executor.close();
    }
    expect(error.message).toBe("poolScope(): pool worker 0 could not start: WAKELOOP_BACKEND must be 'epoll' or 'poll', got 'nope'");
    await pool!.exited;
  });

  it('an attached poolScope() rejects when a worker calls process.exit(), and a late worker error does not crash the process', async () => {
    const script = `
      import { attach, toPromise } from ${DIST('index.js')};
      import { poolScope } from ${DIST('thread/pool.js')};
      const tasks = ${JSON.stringify(TASKS.href)};
      attach();
      try {
        await toPromise(poolScope(1, function* (p) { return yield* p.spawn(tasks, 'exitNow', 0); }));
        console.log('resolved');
      } catch (e) {
        console.log('rejected: ' + e.message);
      }
      // a timer that throws once the worker is back on Node's loop, after its pool closed
      console.log('value ' + await toPromise(poolScope(1, function* (p) {
        yield* p.spawn(tasks, 'throwInTimer', 0, 'late boom');
        return yield* p.spawn(tasks, 'add', 1, 1);
      })));
    `;
    // attach() needs epoll, whatever backend this suite runs on
    const child = await runNode(['--input-type=module', '-e', script], { env: { WAKELOOP_BACKEND: 'epoll' }, killAfterMs: 15_000 });
    expect(child.stdout).toBe('rejected: poolScope(): pool worker 0 ended with exit code 0 (process.exit() in a task or a timer?)\nvalue 2\n');
    expect(child.stderr).toMatch(/^wakeloop: pool worker 0 failed after its pool closed: Error: late boom/);
    expect({ code: child.code, signal: child.signal }).toEqual({ code: 0, signal: null });
  });
});

describe('pool workers over time', () => {
  it('a pool worker keeps nothing per finished task (its set of running tasks is reaped)', async () => {
    let pool: Pool | undefined;
    const growth = run((function* () {
      return yield* poolScope(1, function* (p) {
        pool = p;
        const round = function* (n: number) {
          const tasks = Array.from({ length: n }, () => p.spawn(TASKS, 'noop'));
          for (const t of tasks) yield* t;
        };
        // Warm-up: queues and tables grow to hold 20,000 tasks in flight, and stay that size.
        yield* round(20_000);
        const before = yield* p.spawn<number>(TASKS, 'heapAfterGc');
        yield* round(20_000);
        yield* round(20_000);
        const after = yield* p.spawn<number>(TASKS, 'heapAfterGc');
        return (after - before) / 40_000;
      });
    })(), 30_000);
    expect(growth).toBeLessThan(10); // bytes per task; it kept about 50 when nothing reaped the set
    await pool!.exited;
  });
});

describe('poolScope() arguments', () => {
  it('poolScope(), scope() and pool.spawn() say what they got', async () => {
    const body = function* () {};
    expect(() => poolScope(1, body, null as never)).toThrow('poolScope(workers, body, options): options must be an object, got null');
    expect(() => poolScope(1, body, [] as never)).toThrow('poolScope(workers, body, options): options must be an object, got an object (Array)');
    expect(() => poolScope(1, 5 as never)).toThrow('body must be a generator function (pool) => Task, got number 5');
    expect(() => scope(null as never)).toThrow('scope(body): body must be a generator function (s) => Task, got null');
    expect(() => poolScope('2' as never, body)).toThrow(new TypeError('poolScope(): workers must be an integer, got string 2'));
    expect(() => poolScope(0, body)).toThrow(new RangeError('poolScope(): workers must be between 1 and 256, got 0'));
    expect(() => poolScope(1, body, { stopGraceMs: '5' as never })).toThrow(TypeError);
    expect(() => poolScope(1, body, { stopGraceMs: Number.NaN })).toThrow(TypeError);
    expect(() => poolScope(1, body, { stopGraceMs: -1 })).toThrow(RangeError);
    // checked before any thread starts, naming the option rather than new ThreadChannel()
    expect(() => poolScope(1, body, { resultCapacity: -1 })).toThrow('poolScope(): options.resultCapacity must be between 4096 and 1073741824, got -1');
    expect(() => poolScope(1, body, { resultCapacity: 'x' as never })).toThrow('poolScope(): options.resultCapacity must be an integer, got string x');
    let pool: Pool | undefined;
    const error = run(catching(poolScope(1, function* (p) {
      pool = p;
      p.spawn(TASKS, 5 as never);
    }))) as Error;
    expect(error.message).toBe('pool.spawn(module, exportName): exportName must be a non-empty string, got number 5');
    await pool!.exited;
  });
});
