// The awaiting cleanup of a future a task dropped (a select's loser, what a timeout gave up on)
// belongs to that task: the task goes on at once, but settles only after the cleanup.
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  Executor,
  JoinSet,
  UnhandledTaskError,
  join,
  scope,
  select,
  sleep,
  spawn,
  timeout,
  toFuture,
  yieldNow,
  type Task,
} from '../src/index.js';
import { BACKEND, Gate, catching, run } from './util.js';

/** Waits for good; its finally sleeps `ms`, logs, and throws `fails` if given. */
function* slowCleanup(log: string[], name: string, ms: number, fails?: string): Task<void> {
  try {
    yield* new Gate<void>();
  } finally {
    yield* sleep(ms);
    log.push(`${name} cleaned up`);
    if (fails !== undefined) throw new Error(fails);
  }
}

describe("a dropped future's awaiting cleanup belongs to the task that dropped it", () => {
  it("select(): the task goes on at once, and its handle settles after the loser's finally", () => {
    const log: string[] = [];
    const value = run((function* () {
      const handle = spawn((function* () {
        const winner = yield* select(slowCleanup(log, 'loser', 20), sleep(1));
        log.push(`task went on (winner ${winner.index})`);
        return 'value';
      })());
      const v = yield* handle;
      log.push('handle settled');
      return v;
    })());
    expect(value).toBe('value');
    expect(log).toEqual(['task went on (winner 1)', 'loser cleaned up', 'handle settled']);
  });

  it('blockOn() returns after the cleanup of a future its main task dropped', () => {
    const log: string[] = [];
    const executor = new Executor({ backend: BACKEND });
    try {
      executor.blockOn((function* () {
        yield* catching(timeout(1, slowCleanup(log, 'timed out', 20)));
      })());
      log.push('blockOn returned');
      expect(executor.taskCount).toBe(0);
    } finally {
      executor.close();
    }
    expect(log).toEqual(['timed out cleaned up', 'blockOn returned']);
  });

  it('a scope waits for the cleanup its children left behind; JoinSet.shutdown() too', () => {
    const log: string[] = [];
    run((function* () {
      yield* scope(function* (s) {
        s.spawn((function* () {
          yield* select(slowCleanup(log, 'scope child loser', 20), sleep(1));
        })());
      });
      log.push('scope ended');
      const set = new JoinSet<void>();
      set.spawn((function* () {
        yield* join(sleep(1), select(slowCleanup(log, 'set member loser', 20), sleep(1)));
        yield* new Gate<void>();
      })());
      yield* sleep(5);
      yield* set.shutdown();
      log.push('shutdown ended');
    })());
    expect(log).toEqual(['scope child loser cleaned up', 'scope ended', 'set member loser cleaned up', 'shutdown ended']);
  });

  it("cancel() after the task's root ended changes nothing: the handle keeps the root's value", () => {
    const log: string[] = [];
    const result = run((function* () {
      const handle = spawn((function* () {
        yield* select(slowCleanup(log, 'loser', 20), sleep(1));
        return 'kept';
      })());
      yield* sleep(5); // the root returned; the loser's cleanup still sleeps
      handle.cancel();
      return yield* handle;
    })());
    expect(result).toBe('kept');
    expect(log).toEqual(['loser cleaned up']);
  });

  it("an error of that cleanup leaves the task's value and is reported as unhandled, once", () => {
    const reported: unknown[] = [];
    const result = run(
      (function* () {
        const handle = spawn((function* () {
          yield* select(slowCleanup([], 'loser', 5, 'cleanup failed'), sleep(1));
          return 'value';
        })());
        return yield* handle;
      })(),
      10_000,
      { onUnhandledError: (error) => reported.push(error) },
    );
    expect(result).toBe('value');
    expect(reported.map((e) => (e as Error).message)).toEqual(['cleanup failed']);
  });

  it('with the default policy that error fails blockOn as an UnhandledTaskError saying what threw', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      const error = (() => {
        try {
          executor.blockOn((function* () {
            yield* select(slowCleanup([], 'loser', 5, 'cleanup failed'), sleep(1));
            yield* sleep(50);
          })());
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(UnhandledTaskError);
      expect((error as Error).message).toBe("a dropped future's cleanup threw: cleanup failed");
    } finally {
      executor.close();
    }
  });

  it('cancelling a task waits for the cleanup of what its awaited select drops, and an error there fails it', () => {
    const log: string[] = [];
    const reported: unknown[] = [];
    const outcomes = run(
      (function* () {
        const quiet = spawn((function* () {
          yield* select(slowCleanup(log, 'quiet', 20), new Gate<void>());
        })());
        const failing = spawn((function* () {
          yield* select(slowCleanup(log, 'failing', 20, 'cleanup failed'), new Gate<void>());
        })());
        yield* sleep(1);
        quiet.cancel();
        failing.cancel();
        return yield* join(
          (function* () {
            const error = yield* catching(quiet);
            log.push('quiet settled');
            return error;
          })(),
          catching(failing),
        );
      })(),
      10_000,
      { onUnhandledError: (error) => reported.push(error) },
    );
    expect(log).toEqual(['quiet cleaned up', 'failing cleaned up', 'quiet settled']);
    expect(outcomes[0]).toBeInstanceOf(CancelledError);
    expect((outcomes[1] as Error).message).toBe('cleanup failed');
    expect(reported).toEqual([]);
  });

  it('a generator future dropped by select, or the root of a cancelled task, cannot be awaited again (it waited for good, or gave undefined)', () => {
    const { awaited, spawned } = run((function* () {
      const work = toFuture(slowCleanup([], 'work', 20));
      yield* select(work, sleep(1));
      const awaited = yield* catching(work);
      yield* sleep(40); // its cleanup task ended: still cancelled, not "already awaited"
      const cancelled = toFuture(slowCleanup([], 'cancelled', 1));
      const handle = spawn(cancelled);
      yield* yieldNow();
      handle.cancel(); // a cancelled task's root generator future is retired too
      const attempts = [work, cancelled].map((f) => { try { spawn(f); } catch (e) { return e; } });
      return { awaited, spawned: [...attempts, yield* catching(cancelled)] };
    })());
    for (const error of [awaited, ...spawned]) {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/GenFuture was cancelled \(dropped by a select, join or timeout, or with its task\): it cannot be awaited again/);
    }
  });

  it('a cleanup runs with a budget of its own while its task stays busy (it waited until the task stopped)', () => {
    let released = false;
    const spins = run((function* () {
      const loser = (function* (): Task<void> {
        try {
          yield* new Gate<void>();
        } finally {
          yield* sleep(1);
          released = true;
        }
      })();
      yield* select(loser, sleep(1));
      let n = 0;
      while (!released) {
        n++;
        yield* yieldNow(); // spends the task's whole budget each time
      }
      return n;
    })(), 2_000);
    expect(spins).toBeGreaterThan(0);
  });

  it("a loop that keeps dropping such futures does not pile their cleanups up (they waited for the loop's end)", () => {
    let most = 0;
    const left = run((function* () {
      const executor = Executor.current();
      for (let i = 0; i < 5_000; i++) {
        const loser = (function* (): Task<void> {
          try {
            yield* new Gate<void>();
          } finally {
            yield* sleep(0);
          }
        })();
        yield* select(loser, sleep(0));
        if (i % 100 === 99) yield* sleep(1);
        most = Math.max(most, executor.taskCount);
      }
      return executor.taskCount;
    })());
    expect(left).toBeLessThan(1_000);
    expect(most).toBeLessThan(1_000);
  });

  it('a scope dropped by select cannot be awaited again (it gave undefined)', () => {
    const error = run((function* () {
      const sc = scope<string>(function* (s) {
        s.spawn(slowCleanup([], 'child', 10));
        yield* new Gate<void>();
        return 'body';
      });
      yield* select(sc, sleep(1));
      return yield* catching(sc);
    })());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/this scope was cancelled \(dropped by a select, join or timeout, or with its task\): it cannot be awaited again/);
  });

  it("a cleanup awaiting the handle of the task that waits for it gets a TypeError, not a wait for good", () => {
    const seen: unknown[] = [];
    const value = run((function* () {
      let handle: ReturnType<typeof spawn<string>> | null = null;
      handle = spawn((function* () {
        const loser = (function* (): Task<void> {
          try {
            yield* new Gate<void>();
          } finally {
            seen.push(yield* catching(handle!));
          }
        })();
        yield* select(loser, sleep(1));
        return 'value';
      })());
      return yield* handle;
    })(), 2_000);
    expect(value).toBe('value');
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toBe("the cleanup of a future a task dropped awaited that task's JoinHandle: the task ends only after that cleanup");
  });

  it("Executor.close() reports an error a cleanup task handed its cancelled owner (it was lost)", () => {
    const executor = new Executor({ backend: BACKEND });
    executor.spawn((function* () {
      yield* select((function* (): Task<void> {
        try {
          yield* new Gate<void>();
        } finally {
          yield* yieldNow();
          throw new Error('cleanup failed');
        }
      })(), sleep(0));
      try {
        yield* new Gate<void>();
      } finally {
        yield* sleep(10_000); // the owner's own cleanup outlasts close()
      }
    })());
    executor.turn(0);
    const error = (() => {
      try {
        executor.close();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnhandledTaskError);
    expect((error as Error).message).toBe("a cancelled task's cleanup threw: cleanup failed");
  });

  it("a cleanup awaiting its owner's handle through join or select gets the TypeError too (it waited for good)", () => {
    const seen: unknown[] = [];
    run((function* () {
      let handle: ReturnType<typeof spawn<void>> | null = null;
      handle = spawn((function* () {
        yield* select((function* (): Task<void> {
          try {
            yield* new Gate<void>();
          } finally {
            seen.push(yield* catching(join(handle!, sleep(0))));
          }
        })(), sleep(1));
      })());
      yield* handle;
    })(), 2_000);
    expect((seen[0] as Error).message).toBe("the cleanup of a future a task dropped awaited that task's JoinHandle: the task ends only after that cleanup");
  });
});

describe('Executor.close() and tasks waiting for their cleanup tasks', () => {
  function* slowLoser(): Task<void> {
    try {
      yield* new Gate<void>();
    } finally {
      yield* sleep(200);
    }
  }

  it("a task whose own code ended keeps its value or error (close() made it CancelledError, and the error was lost)", () => {
    const reported: unknown[] = [];
    const executor = new Executor({ backend: BACKEND, onUnhandledError: (e) => void reported.push(e) });
    const returned = executor.spawn((function* () {
      yield* select(slowLoser(), sleep(1));
      return 'value';
    })());
    executor.spawn((function* () {
      yield* select(slowLoser(), sleep(1));
      throw new Error('boom');
    })());
    executor.blockOn(sleep(20)); // both returned; their losers' cleanup sleeps on
    expect(returned.finished).toBe(false);
    executor.close();
    expect(returned.poll({ waker: { wake() {} } })).toBe('value');
    expect(reported.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it("a dropped scope's awaiting cleanup runs on in close(), as a generator's does (it was cut at once)", () => {
    const log: string[] = [];
    const opened = new Gate<void>();
    const executor = new Executor({ backend: BACKEND });
    executor.spawn((function* () {
      const loser = scope(function* () {
        try {
          yield* new Gate<void>();
        } finally {
          yield* opened;
          log.push('scope body finally done');
        }
      });
      yield* select(loser, sleep(1));
      try {
        yield* new Gate<void>();
      } finally {
        opened.resolve(); // close() cancels the task: this lets the scope's cleanup end
      }
    })());
    executor.blockOn(sleep(20));
    executor.close();
    expect(log).toEqual(['scope body finally done']);
  });
});

describe('a timeout whose generator a select dropped', () => {
  it('cannot be awaited again (it polled the generator beside its cleanup task, and waited)', () => {
    const error = run((function* () {
      const t = timeout(60_000, slowCleanup([], 'inner', 20));
      yield* select(t, sleep(1));
      return yield* catching(t);
    })(), 2_000);
    expect((error as Error).message).toMatch(/this Timeout was cancelled \(dropped by a select, join or timeout, or with its task\)/);
  });
});

describe('scopes are held like other futures', () => {
  it('a scope a select holds cannot be awaited elsewhere, and one being awaited cannot be handed on (one of the two waited for good)', () => {
    const errors = run((function* () {
      const held = scope(function* () {
        yield* sleep(20);
        return 'held';
      });
      const holder = spawn(catching(select(held, new Gate<void>())));
      yield* yieldNow();
      const awaitedElsewhere = yield* catching(held);
      const awaited = scope(function* () {
        yield* sleep(20);
        return 'awaited';
      });
      const awaiter = spawn((function* () {
        return yield* awaited;
      })());
      yield* yieldNow();
      const handedOn = [() => select(awaited, sleep(1)), () => spawn(awaited)].map((f) => { try { f(); } catch (e) { return e; } });
      expect(yield* awaiter).toBe('awaited');
      yield* holder;
      return [awaitedElsewhere, ...handedOn];
    })(), 2_000);
    expect(errors).toHaveLength(3);
    for (const error of errors) expect((error as Error).message).toMatch(/scope is (already )?being awaited|ScopeFuture is (already )?being awaited/);
  });

  it('a scope dropped at once (nothing left to finish) cannot be handed on either (it failed later, "awaited again")', () => {
    const error = run((function* () {
      const sc = scope(function* () {
        yield* new Gate<void>();
      });
      yield* select(sc, sleep(1));
      try {
        spawn(sc);
      } catch (e) {
        return e;
      }
      return null;
    })());
    expect((error as Error).message).toMatch(/ScopeFuture was cancelled/);
  });
});
