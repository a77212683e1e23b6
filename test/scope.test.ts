import { describe, expect, it } from 'vitest';
import { CancelledError, ClosedError, Notify, TimeoutError, select, sleep, spawn, timeout, yieldNow, type JoinHandle, type Task } from '../src/index.js';
import { scope, type Scope } from '../src/scope.js';
import { ThrowsOnDrop, catching, run } from './util.js';

/** A child that logs when it starts, ends, and runs its finally block. */
function* sleeper(log: string[], name: string, ms: number): Task<string> {
  try {
    log.push(`${name} start`);
    yield* sleep(ms);
    log.push(`${name} end`);
    return name;
  } finally {
    log.push(`${name} finally`);
  }
}

describe('scope', () => {
  it('scope() completes only once every child is done, with the body value', () => {
    const log: string[] = [];
    const result = run((function* () {
      const value = yield* scope(function* (s) {
        s.spawn(sleeper(log, 'a', 30));
        s.spawn(sleeper(log, 'b', 10));
        log.push('body returns');
        return 42;
      });
      log.push('after scope');
      return value;
    })());
    expect(result).toBe(42);
    expect(log.indexOf('after scope')).toBe(log.length - 1);
    expect(log).toContain('a end');
    expect(log).toContain('b end');
    expect(log.indexOf('b end')).toBeLessThan(log.indexOf('a end'));
  });

  it('scope() children may use and mutate the parent locals, which outlive them', () => {
    const result = run((function* () {
      const totals: number[] = []; // the parent's local, "borrowed" by every child
      let sum = 0;
      yield* scope(function* (s) {
        for (const n of [3, 1, 2]) {
          s.spawn((function* () {
            yield* sleep(n * 5);
            totals.push(n);
            sum += n;
            // a grandchild on the same scope also sees the locals
            s.spawn((function* () {
              yield* yieldNow();
              totals.push(n * 10);
            })());
          })());
        }
      });
      return { totals, sum };
    })());
    expect(result.sum).toBe(6);
    expect(result.totals.slice(0, 2)).toEqual([1, 10]);
    expect([...result.totals].sort((a, b) => a - b)).toEqual([1, 2, 3, 10, 20, 30]);
  });

  it("a child's error cancels its siblings and the body, then is thrown in the parent", () => {
    const log: string[] = [];
    const start = performance.now();
    const error = run((function* () {
      return yield* catching(scope(function* (s) {
        s.spawn(sleeper(log, 'sibling', 10_000));
        s.spawn((function* (): Task<void> {
          yield* sleep(10);
          throw new RangeError('child failed');
        })());
        try {
          yield* sleep(10_000);
        } finally {
          log.push('body finally');
        }
      }));
    })());
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('child failed');
    expect(log).toEqual(['sibling start', 'sibling finally', 'body finally']);
    expect(performance.now() - start).toBeLessThan(2_000);
  });

  it("the body's error cancels the children; the first error wins, later ones are dropped", () => {
    const log: string[] = [];
    const error = run((function* () {
      return yield* catching(scope(function* (s): Task<void> {
        s.spawn((function* () {
          try {
            yield* sleep(10_000);
          } finally {
            log.push('child finally throws');
            throw new Error('second');
          }
        })());
        yield* sleep(5);
        throw new TypeError('first');
      }));
    })());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('first');
    expect(log).toEqual(['child finally throws']);
  });

  it('JoinHandle.cancel() of the parent cancels the children and waits for their awaiting finally blocks', () => {
    const log: string[] = [];
    const started = new Notify();
    run((function* () {
      const parent = spawn((function* () {
        try {
          yield* scope(function* (s) {
            s.spawn(sleeper(log, 'sync', 10_000));
            s.spawn((function* () {
              try {
                yield* sleep(10_000);
              } finally {
                log.push('async cleanup start');
                yield* sleep(20);
                log.push('async cleanup end');
              }
            })());
            yield* yieldNow(); // the children run their first step before the body goes on
            started.notifyOne();
            yield* sleep(10_000);
          });
        } finally {
          log.push('parent finally');
        }
      })());
      yield* started.notified();
      parent.cancel();
      const err = yield* catching(parent);
      log.push(err instanceof CancelledError ? 'parent cancelled' : String(err));
    })());
    expect(log).toEqual(['sync start', 'sync finally', 'async cleanup start', 'async cleanup end', 'parent finally', 'parent cancelled']);
  });

  it('a scope spawned as the task itself (not inside a generator): cancel() settles the handle after the awaiting finally blocks (it settled at once)', () => {
    const log: string[] = [];
    const error = run((function* () {
      const handle = spawn(scope(function* (s) {
        s.spawn((function* () {
          try {
            yield* sleep(10_000);
          } finally {
            yield* sleep(20);
            log.push('cleanup end');
          }
        })());
        yield* sleep(10_000);
      }));
      yield* sleep(5);
      handle.cancel();
      const err = yield* catching(handle);
      log.push('handle settled');
      return err;
    })());
    expect(error).toBeInstanceOf(CancelledError);
    expect(log).toEqual(['cleanup end', 'handle settled']);
  });

  it('a select spawned as the task itself: cancel() waits for its children\'s awaiting finally blocks, and an error there fails the task', () => {
    const log: string[] = [];
    const cleanup = (name: string, fail: boolean) => (function* (): Task<void> {
      try {
        yield* sleep(10_000);
      } finally {
        yield* sleep(10);
        log.push(`${name} cleanup end`);
        if (fail) throw new RangeError(`${name} cleanup failed`);
      }
    })();
    const [quiet, failing] = run((function* () {
      const cancelled = function* (task: JoinHandle<unknown>): Task<unknown> {
        yield* sleep(5);
        task.cancel();
        return yield* catching(task);
      };
      const quiet = yield* cancelled(spawn(select(cleanup('a', false), cleanup('b', false))));
      return [quiet, yield* cancelled(spawn(select(cleanup('c', false), cleanup('d', true))))];
    })());
    expect(quiet).toBeInstanceOf(CancelledError);
    expect(failing).toBeInstanceOf(RangeError);
    expect(log.sort()).toEqual(['a cleanup end', 'b cleanup end', 'c cleanup end', 'd cleanup end']);
  });

  it("an error thrown by a child's finally while the parent is cancelled is not lost: the parent fails with it", () => {
    const started = new Notify();
    const error = run((function* () {
      const parent = spawn((function* () {
        yield* scope(function* (s) {
          s.spawn((function* () {
            try {
              yield* sleep(10_000);
            } finally {
              throw new RangeError('cleanup failed');
            }
          })());
          yield* yieldNow();
          started.notifyOne();
          yield* sleep(10_000);
        });
      })());
      yield* started.notified();
      parent.cancel();
      return yield* catching(parent);
    })());
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('cleanup failed');
  });

  it('a timeout dropping the scope cancels the children (their finally blocks ran)', () => {
    const log: string[] = [];
    run((function* () {
      const err = yield* catching(timeout(20, scope(function* (s) {
        s.spawn(sleeper(log, 'a', 10_000));
        s.spawn(sleeper(log, 'b', 10_000));
      })));
      log.push(err instanceof TimeoutError ? 'timed out' : String(err));
    })());
    expect(log).toEqual(['a start', 'b start', 'a finally', 'b finally', 'timed out']);
  });

  it('Scope.spawn() returns a JoinHandle; a child cancelled through it before it ran is not an error', () => {
    const result = run((function* () {
      let active = -1;
      const value = yield* scope(function* (s) {
        const a = s.spawn(sleeper([], 'a', 5));
        const b = s.spawn(sleeper([], 'b', 10_000));
        b.cancel(); // before it ever ran
        active = s.active;
        return [yield* a, String((yield* catching(b)) instanceof CancelledError)];
      });
      return { value, active };
    })());
    expect(result).toEqual({ value: ['a', 'true'], active: 1 });
  });

  it('Scope.spawn() after the scope completed throws ClosedError', () => {
    const error = run((function* () {
      let leaked: Scope | undefined;
      yield* scope(function* (s) {
        leaked = s;
      });
      try {
        leaked!.spawn(sleep(1));
      } catch (e) {
        return e;
      }
      return undefined;
    })());
    expect(error).toBeInstanceOf(ClosedError);
  });

  it('a scope another task is awaiting cannot be awaited by a second task: the first gets the value', () => {
    const [first, second] = run((function* () {
      const sc = scope(function* () {
        yield* sleep(5);
        return 'v';
      });
      const a = spawn(function* () {
        return yield* sc;
      }());
      const b = spawn(function* () {
        yield* yieldNow(); // a awaits the scope by now
        return yield* catching(function* () {
          return yield* sc;
        }());
      }());
      return [yield* a, yield* b];
    })());
    expect(first).toBe('v');
    expect(second).toBeInstanceOf(TypeError);
    expect((second as Error).message).toBe('this scope is already being awaited: a scope is awaited by one task');
  });

  it('scope() validates its body', () => {
    expect(() => scope(42 as never)).toThrow(TypeError);
    const error = run(catching(scope((() => 5) as never)));
    expect(error).toBeInstanceOf(TypeError);
  });
});

describe('scope cancellation with awaiting cleanup', () => {
  it('a task cancelled while awaiting a scope whose child cleanup awaits never runs the code after it', () => {
    const log = run((function* () {
      const log: string[] = [];
      const task = spawn((function* () {
        try {
          yield* scope(function* (s) {
            s.spawn((function* () {
              try {
                yield* sleep(1e9);
              } finally {
                yield* sleep(20);
                log.push('child cleanup done');
              }
            })());
            yield* sleep(1e9);
          });
          log.push('resumed after the scope');
          yield* sleep(1e9);
        } finally {
          log.push('task finally');
        }
      })());
      yield* sleep(10);
      task.cancel();
      log.push(`handle: ${((yield* catching(timeout(1000, task))) as Error).name}`);
      return log;
    })());
    expect(log).toEqual(['child cleanup done', 'task finally', 'handle: CancelledError']);
  });

  it('a child the body cancels is not an error, even when it awaits a nested scope whose cleanup awaits', () => {
    const got = run((function* () {
      return yield* scope(function* (s) {
        const child = s.spawn((function* () {
          yield* scope(function* (inner) {
            inner.spawn((function* () {
              try {
                yield* sleep(10_000);
              } finally {
                yield* sleep(5);
              }
            })());
          });
        })());
        yield* sleep(1);
        child.cancel();
        return 'body returned';
      });
    })());
    expect(got).toBe('body returned');
  });

  it("a cancelled child whose awaited future's drop() throws fails the scope with that error", () => {
    const error = run(catching(scope(function* (s) {
      const child = s.spawn((function* () { yield* new ThrowsOnDrop(); })());
      yield* yieldNow();
      child.cancel();
      return 'body returned';
    })));
    expect((error as Error).message).toBe('drop failed');
  });
});
