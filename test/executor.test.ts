import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ClosedError,
  Executor,
  Future,
  JoinSet,
  PENDING,
  UnhandledTaskError,
  blockOn,
  pollFn,
  ready,
  scope,
  sleep,
  sleepUntil,
  spawn,
  timeout,
  toFuture,
  toPromise,
  yieldNow,
  type Task,
} from '../src/index.js';
import { runNode } from './child.js';
import { BACKEND, Gate, catching, run } from './util.js';

describe('Executor', () => {
  it('Executor.blockOn() returns the main task value', () => {
    expect(run((function* () { return (yield* ready(20)) + 22; })())).toBe(42);
  });

  it('yield* delivers typed values and errors thrown by poll reach try/catch', () => {
    const failing = pollFn<number>(() => {
      throw new Error('boom');
    });
    const result = run((function* (): Task<string> {
      try {
        yield* failing;
        return 'not reached';
      } catch (error) {
        return (error as Error).message;
      }
    })());
    expect(result).toBe('boom');
  });

  it('spawn() returns a JoinHandle that yields the task value', () => {
    const value = run((function* () {
      const a = spawn((function* () { yield* sleep(5); return 'a'; })());
      const b = spawn((function* () { return 'b'; })());
      return (yield* a) + (yield* b);
    })());
    expect(value).toBe('ab');
  });

  it('JoinHandle rethrows the task error in the joiner', () => {
    const message = run((function* () {
      const h = spawn((function* (): Task<void> { yield* yieldNow(); throw new TypeError('bad'); })());
      try {
        yield* h;
        return 'no';
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    })());
    expect(message).toBe('TypeError: bad');
  });

  it('Waker.wake() on a task that is already queued is a no-op', () => {
    let polls = 0;
    const fut = pollFn<string>((cx) => {
      polls++;
      if (polls === 1) {
        cx.waker.wake();
        cx.waker.wake();
        cx.waker.wake();
        return PENDING;
      }
      return 'done';
    });
    expect(run(fut)).toBe('done');
    expect(polls).toBe(2);
  });

  it('JoinHandle.cancel() runs the finally block and drops the awaited future', () => {
    const gate = new Gate<number>();
    const log: string[] = [];
    run((function* () {
      const h = spawn((function* (): Task<void> {
        try {
          yield* gate;
          log.push('after gate');
        } finally {
          log.push('finally');
        }
      })());
      yield* yieldNow(); // let it start and wait on the gate
      h.cancel();
      expect(h.finished).toBe(true);
      try {
        yield* h;
      } catch (e) {
        log.push(e instanceof CancelledError ? 'cancelled' : 'other');
      }
    })());
    expect(log).toEqual(['finally', 'cancelled']);
    expect(gate.drops).toBe(1);
  });

  it('JoinHandle.cancel() runs a finally that awaits to completion before the handle settles', () => {
    const log: string[] = [];
    run((function* () {
      const h = spawn((function* (): Task<void> {
        try {
          yield* sleep(10_000);
        } finally {
          log.push('cleanup start');
          yield* sleep(20);
          log.push('cleanup end');
        }
      })());
      yield* yieldNow();
      h.cancel();
      expect(h.finished).toBe(false);
      const err = yield* catching(h);
      log.push(err instanceof CancelledError ? 'cancelled' : String(err));
    })());
    expect(log).toEqual(['cleanup start', 'cleanup end', 'cancelled']);
  });

  it('a task that cancels itself stops at its next await', () => {
    const log: string[] = [];
    run((function* () {
      const self: { h?: ReturnType<typeof spawn<void>> } = {};
      self.h = spawn((function* (): Task<void> {
        try {
          yield* yieldNow();
          self.h!.cancel();
          log.push('still running until the await');
          yield* sleep(10_000);
          log.push('not reached');
        } finally {
          log.push('finally');
        }
      })());
      log.push(String((yield* catching(self.h)) instanceof CancelledError));
    })());
    expect(log).toEqual(['still running until the await', 'finally', 'true']);
  });

  it('an error in a spawned task nobody joins fails blockOn with UnhandledTaskError', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      expect(() =>
        executor.blockOn((function* () {
          spawn((function* (): Task<void> { throw new RangeError('lost'); })());
          yield* sleep(50);
        })()),
      ).toThrow(UnhandledTaskError);
    } finally {
      executor.close();
    }
  });

  it('two unjoined failures in one turn are both reported, one per turn() call', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      executor.spawn((function* (): Task<void> { throw new RangeError('first'); })());
      executor.spawn((function* (): Task<void> { throw new RangeError('second'); })());
      const messages = [];
      for (let i = 0; i < 2; i++) {
        const error = (() => { try { executor.turn(0); } catch (e) { return e; } })();
        expect(error).toBeInstanceOf(UnhandledTaskError);
        messages.push(((error as UnhandledTaskError).cause as Error).message);
      }
      expect(messages).toEqual(['first', 'second']);
      expect(executor.turn(0)).toBe(false); // nothing left to report or run
    } finally {
      executor.close();
    }
  });

  it("onUnhandledError: a function receives the error and the program goes on", () => {
    const seen: unknown[] = [];
    const value = run(
      (function* () {
        spawn((function* (): Task<void> { throw new RangeError('lost'); })());
        yield* sleep(5);
        return 'finished';
      })(),
      5000,
      { onUnhandledError: (e) => seen.push(e) },
    );
    expect(value).toBe('finished');
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toBe('lost');
  });

  /** Thrown values whose text cannot all be read (String() or a getter throws), and how a report names each. */
  const undescribable = (): [string, unknown, string][] => [
    ['a null-prototype object', Object.create(null), '[object Object]'],
    ['an object whose toString throws', { toString() { throw new Error('toString threw'); } }, '[object Object]'],
    ['an Error whose message getter throws', Object.defineProperty(new Error('x'), 'message', { get() { throw new Error('message threw'); } }), '[object Error]'],
    ['an Error whose stack getter throws', Object.defineProperty(new Error('x'), 'stack', { get() { throw new Error('stack threw'); } }), 'x'],
  ];

  it.each(undescribable())('blockOn() reports %s thrown by an unjoined task as UnhandledTaskError with that cause', (_, thrown, named) => {
    const executor = new Executor({ backend: BACKEND });
    try {
      const error = (() => {
        try {
          executor.blockOn((function* () {
            spawn((function* (): Task<void> { throw thrown; })());
            yield* sleep(50);
          })());
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(UnhandledTaskError);
      expect((error as UnhandledTaskError).cause).toBe(thrown);
      expect((error as Error).message).toBe(`a spawned task failed and nobody joined it: ${named}`);
    } finally {
      executor.close();
    }
  });

  it.each(undescribable())("onUnhandledError 'warn' prints %s thrown by an unjoined task and the program goes on", (_, thrown) => {
    const printed: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => printed.push(text) > 0) as typeof process.stderr.write;
    try {
      const value = run(
        (function* () {
          spawn((function* (): Task<void> { throw thrown; })());
          yield* sleep(5);
          return 'finished';
        })(),
        5000,
        { onUnhandledError: 'warn' },
      );
      expect(value).toBe('finished');
    } finally {
      process.stderr.write = write;
    }
    expect(printed.join('')).toMatch(/^wakeloop: a spawned task failed and nobody joined it:\n[^]+\n$/);
  });

  it('new UnhandledTaskError() describes a value whose text cannot be read by its Object.prototype.toString tag', () => {
    const thrown = Object.create(null);
    const error = new UnhandledTaskError(thrown, 'select(): dropping an unfinished future threw');
    expect(error.message).toBe('select(): dropping an unfinished future threw: [object Object]');
    expect(error.cause).toBe(thrown);
  });

  it('a failed task that is joined later in the same turn is not reported', () => {
    expect(run((function* () {
      const h = spawn((function* (): Task<number> { throw new Error('mine'); })());
      return (yield* catching(h)) instanceof Error;
    })())).toBe(true);
  });

  it('blockOn() from inside a task throws a clear error', () => {
    const msg = run((function* () {
      try {
        blockOn(ready(1));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })());
    expect(msg).toMatch(/inside a running task/);
  });

  it('blockOn() reports a main task that nothing can wake instead of hanging', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      expect(() => executor.blockOn(new Gate<void>())).toThrow(
        new Error('blockOn(): the main task is pending, but nothing can wake it (no ready task, timer, I/O or signal)'),
      );
      // A sleepUntil(Infinity) is a timer that never fires: the message said there was none.
      expect(() => executor.blockOn(sleepUntil(Infinity))).toThrow(
        new Error('blockOn(): the main task is pending, but nothing can wake it (no ready task, timer but those at Infinity, I/O or signal)'),
      );
    } finally {
      executor.close();
    }
  });

  it('yielding a non-future throws a TypeError into the task', () => {
    const msg = run((function* (): Task<string> {
      try {
        yield 42 as unknown as Future<unknown>;
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })());
    expect(msg).toMatch(/yield\* future/);
  });

  it('a yield* of a Uint8Array (a read result, by mistake) fails naming what was yielded, not only a missing throw method', () => {
    let error: Error | undefined;
    try {
      run((function* (): Task<void> {
        yield* (new Uint8Array([7, 8]) as unknown as Future<void>);
      })());
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error!.message).toBe('a task yielded number 7; await futures with `yield* future` (a `yield*` of an array, a string or a Uint8Array yields its elements)');
    expect((error!.cause as Error).message).toMatch(/'throw' method/);
  });

  it('dropping a generator future (timeout) runs its finally block', () => {
    const log: string[] = [];
    run((function* () {
      const slow = (function* (): Task<void> {
        try {
          yield* sleep(10_000);
        } finally {
          log.push('inner finally');
        }
      })();
      log.push(String((yield* catching(timeout(10, slow))) instanceof Error));
    })());
    expect(log).toEqual(['inner finally', 'true']);
  });

  it('Executor.turn() runs ready tasks and reports whether any remain', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      let steps = 0;
      const h = executor.spawn((function* () {
        steps++;
        yield* yieldNow();
        steps++;
        return 'x';
      })());
      expect(steps).toBe(0);
      expect(executor.turn(0)).toBe(true);
      expect(steps).toBe(1);
      expect(executor.turn(0)).toBe(false);
      expect(steps).toBe(2);
      expect(h.finished).toBe(true);
    } finally {
      executor.close();
    }
  });

  it('Executor.turn(-1) does not block once no task is left, and throws when nothing can wake the tasks left (child process)', async () => {
    // In a child: a regression would block in the kernel for good, which only a kill ends.
    const code = `
      import * as w from ${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)};
      const ex = new w.Executor({ backend: ${JSON.stringify(BACKEND)} });
      ex.spawn(w.sleep(20));
      let turns = 0;
      while (ex.turn(-1)) turns++;
      const empty = ex.turn(-1);
      ex.spawn(w.pollFn(() => w.PENDING)); // pending, and nothing will ever wake it
      let error = 'none';
      try { ex.turn(-1); } catch (e) { error = e.message; }
      console.log(JSON.stringify({ turns, empty, error }));
      ex.close();
    `;
    const r = await runNode(['--input-type=module', '-e', code], { killAfterMs: 10_000 });
    expect(r.signal).toBe(null);
    const out = JSON.parse(r.stdout);
    expect(out.turns).toBeGreaterThanOrEqual(1);
    expect(out.empty).toBe(false);
    expect(out.error).toMatch(/Executor.turn\(-1\): tasks are pending, but nothing can wake them/);
  });

  it('Executor.spawn() validates its argument', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      expect(() => executor.spawn((() => 1) as never)).toThrow(/generator task \(call the generator function\)/);
      expect(() => executor.spawn(null as never)).toThrow(TypeError);
    } finally {
      executor.close();
    }
    expect(() => executor.spawn(ready(1))).toThrow(/Executor is closed/);
    expect(() => new Executor({ backend: 'kqueue' as never })).toThrow(new RangeError(`new Executor(): backend must be 'epoll' or 'poll', got "kqueue"`));
    expect(() => new Executor({ backend: 1 as never })).toThrow(new TypeError("new Executor(): backend must be 'epoll' or 'poll', got number 1"));
  });

  it('a bad task argument is a TypeError naming the function that got it', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      const fn = function* named() {};
      expect(() => executor.spawn(fn as never)).toThrow(/^spawn\(\): expected a Future or a generator task .*got a function/);
      expect(() => spawn(5 as never)).toThrow(/^spawn\(\): expected a Future/);
      expect(() => executor.blockOn(5 as never)).toThrow(/^blockOn\(\): expected a Future/);
      expect(() => blockOn(fn as never)).toThrow(/^blockOn\(\): expected a Future/);
      expect(() => timeout(5, 42 as never)).toThrow(/^timeout\(\): expected a Future/);
      expect(() => toPromise(5 as never, executor)).toThrow(/^toPromise\(\): expected a Future/);
      expect(() => new JoinSet(executor).spawn(fn as never)).toThrow(/^JoinSet\.spawn\(\): expected a Future/);
      expect(() => toFuture({} as never)).toThrow(/^toFuture\(\): expected a Future/);
    } finally {
      executor.close();
    }
  });

  it('spawn() refuses an iterator without return(), which could not be cancelled, and names what it lacks', () => {
    const executor = new Executor({ backend: BACKEND });
    const iterator = (withReturn: boolean) => ({
      next: () => ({ done: false, value: sleep(10_000) }),
      throw(e: unknown): never { throw e; },
      ...(withReturn ? { return: (v: unknown) => ({ done: true, value: v }) } : {}),
      [Symbol.iterator]() { return this; },
    });
    try {
      const lacking = /expected a Future or a generator task \(call the generator function\), got an object \(Object\), an iterator lacking return\(\)$/;
      expect(() => executor.spawn(iterator(false) as never)).toThrow(lacking);
      expect(() => toFuture(iterator(false) as never)).toThrow(lacking);
      expect(() => toFuture({ next() {} } as never)).toThrow(/an iterator lacking throw\(\), return\(\), \[Symbol\.iterator\]\(\)$/);
      // With return(), a hand-written iterator is a task, and cancelling it is a CancelledError.
      const outcome = executor.blockOn((function* () {
        const h = executor.spawn(iterator(true) as never);
        yield* sleep(1);
        h.cancel();
        return yield* catching(h);
      })());
      expect(outcome).toBeInstanceOf(CancelledError);
    } finally {
      executor.close();
    }
  });

  it('Executor.turn() says which timeouts it accepts: -1, or a finite number >= 0', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      expect(() => executor.turn(-2)).toThrow(/-1 \(wait until something happens\) or a finite number >= 0, got -2/);
      expect(() => executor.turn(Infinity)).toThrow(RangeError);
      expect(() => executor.turn('1' as never)).toThrow(/must be a number of milliseconds, got string 1/);
      expect(executor.turn(0)).toBe(false);
    } finally {
      executor.close();
    }
  });

  it('Executor.blockOn() on a closed executor throws ClosedError, as spawn() and turn() do', () => {
    const executor = new Executor({ backend: BACKEND });
    executor.close();
    expect(() => executor.blockOn((function* () { return 1; })())).toThrow(ClosedError);
    expect(() => executor.blockOn(sleep(1))).toThrow(/Executor is closed/);
  });

  it('a task spawned by a finally while close() cancels is cancelled before it runs', () => {
    const executor = new Executor({ backend: BACKEND });
    const log: string[] = [];
    let late: ReturnType<Executor['spawn']> | undefined;
    executor.spawn((function* (): Task<void> {
      try {
        yield* new Gate<void>();
      } finally {
        late = executor.spawn((function* (): Task<void> {
          log.push('late task ran');
          yield* sleep(60_000);
        })());
      }
    })());
    executor.turn(0);
    executor.close();
    expect(log).toEqual([]);
    expect(late!.finished).toBe(true);
    expect(executor.taskCount).toBe(0);
  });

  it('a task spawned while close() cancels, into a JoinSet or a scope, leaves neither waiting for it', () => {
    const executor = new Executor({ backend: BACKEND });
    const set = new JoinSet<void>(executor);
    let childOfScope: ReturnType<Executor['spawn']> | undefined;
    executor.spawn((function* (): Task<void> {
      yield* scope(function* (s) {
        try {
          yield* new Gate<void>();
        } finally {
          set.spawn(sleep(60_000)); // ended at once: its executor is closing
          childOfScope = s.spawn(sleep(60_000));
        }
      });
    })());
    executor.turn(0);
    executor.close();
    expect(set.size).toBe(0);
    expect(childOfScope!.finished).toBe(true);
    expect(executor.taskCount).toBe(0);
  });

  it('Executor.close() reports what nobody joined, since no turn follows: a throwing finally, by each policy', () => {
    const failingCleanup = (executor: Executor, message: string) => {
      executor.spawn((function* (): Task<void> {
        try {
          yield* new Gate<void>();
        } finally {
          throw new Error(message);
        }
      })());
      executor.turn(0);
    };
    const throwing = new Executor({ backend: BACKEND });
    failingCleanup(throwing, 'cleanup failed');
    expect(() => throwing.close()).toThrow('a spawned task failed and nobody joined it: cleanup failed');
    expect(throwing.closed).toBe(true);

    const seen: unknown[] = [];
    const collecting = new Executor({ backend: BACKEND, onUnhandledError: (e) => seen.push((e as Error).message) });
    failingCleanup(collecting, 'first');
    failingCleanup(collecting, 'second');
    collecting.close();
    expect(seen).toEqual(['first', 'second']);

    const several = new Executor({ backend: BACKEND });
    failingCleanup(several, 'one');
    failingCleanup(several, 'two');
    let thrown: unknown;
    try {
      several.close();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UnhandledTaskError);
    const causes = ((thrown as UnhandledTaskError).cause as AggregateError).errors;
    expect(causes.map((e: UnhandledTaskError) => (e.cause as Error).message)).toEqual(['one', 'two']);
  });

  it("an error thrown by the main task's cleanup when blockOn() cancels it is reported at the next turn", () => {
    const executor = new Executor({ backend: BACKEND });
    expect(() =>
      executor.blockOn((function* (): Task<void> {
        executor.spawn((function* (): Task<void> {
          throw new Error('child failed');
        })());
        try {
          yield* sleep(60_000);
        } finally {
          throw new Error('main cleanup failed');
        }
      })()),
    ).toThrow('a spawned task failed and nobody joined it: child failed');
    expect(() => executor.turn(0)).toThrow('a spawned task failed and nobody joined it: main cleanup failed');
    executor.close();
  });

  it('blockOn() that throws before its main task completes cancels the main task', () => {
    const executor = new Executor({ backend: BACKEND });
    const log: string[] = [];
    expect(() =>
      executor.blockOn((function* (): Task<void> {
        executor.spawn((function* (): Task<void> {
          throw new Error('child failed');
        })());
        try {
          yield* sleep(10);
          log.push('main resumed');
        } finally {
          log.push('main finally');
        }
      })()),
    ).toThrow(UnhandledTaskError);
    expect(log).toEqual(['main finally']);
    expect(executor.taskCount).toBe(0);
    expect(executor.blockOn(sleep(15))).toBe(undefined);
    expect(log).toEqual(['main finally']);
    executor.close();
  });

  it('Executor.close() cancels pending tasks and runs their finally blocks', () => {
    const executor = new Executor({ backend: BACKEND });
    const log: string[] = [];
    executor.spawn((function* (): Task<void> {
      try {
        yield* new Gate<void>();
      } finally {
        log.push('closed');
      }
    })());
    executor.turn(0);
    executor.close();
    expect(log).toEqual(['closed']);
  });
});
