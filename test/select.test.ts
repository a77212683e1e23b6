import { describe, expect, it } from 'vitest';
import {
  Executor,
  Future,
  Notify,
  TimeoutError,
  join,
  joinAll,
  pollFn,
  ready,
  select,
  selectFair,
  sleep,
  spawn,
  timeout,
  unboundedChannel,
  UnhandledTaskError,
  yieldNow,
  type JoinHandle,
  type Task,
} from '../src/index.js';
import { BACKEND, Gate, catching, run } from './util.js';

/** A generator task that records whether its finally block ran. */
function* guarded<T>(inner: Future<T>, log: string[], name: string): Task<T> {
  try {
    return yield* inner;
  } finally {
    log.push(`${name} finally`);
  }
}

describe('select()', () => {
  it('select() resolves with the first child to finish and drops the others', () => {
    const a = new Gate<number>();
    const b = new Gate<string>();
    const log: string[] = [];
    const result = run((function* () {
      spawn((function* () {
        yield* sleep(5);
        b.resolve('b wins');
      })());
      return yield* select(a, b, guarded(new Gate<boolean>(), log, 'gen'));
    })());
    expect(result).toEqual({ index: 1, value: 'b wins' });
    expect(a.drops).toBe(1);
    expect(b.drops).toBe(0); // the winner completed: nothing to cancel
    expect(log).toEqual(['gen finally']);
  });

  it('select() is biased: of two children ready at once, the first passed wins', () => {
    const r = run(select(ready('first'), ready('second')));
    expect(r).toEqual({ index: 0, value: 'first' });
  });

  it('selectFair() lets every ready child win sometimes', () => {
    const wins = new Set<number>();
    run((function* () {
      for (let i = 0; i < 200; i++) wins.add((yield* selectFair(ready(0), ready(1), ready(2))).index);
    })());
    expect([...wins].sort()).toEqual([0, 1, 2]);
  });

  it('select() re-polls only the children that were woken', () => {
    const gates = [new Gate<number>(), new Gate<number>(), new Gate<number>()];
    run((function* () {
      spawn((function* () {
        yield* yieldNow();
        gates[2].resolve(2);
      })());
      expect(yield* select(...gates)).toEqual({ index: 2, value: 2 });
    })());
    expect(gates.map((g) => g.polls)).toEqual([1, 1, 2]);
    expect(gates.map((g) => g.drops)).toEqual([1, 1, 0]);
  });

  it('select() keeps polling a child that wakes itself (yieldNow in a generator)', () => {
    const r = run(select(new Gate<never>(), (function* () {
      for (let i = 0; i < 3; i++) yield* yieldNow();
      return 'done';
    })()));
    expect(r).toEqual({ index: 1, value: 'done' });
  });

  it('select() propagates a child error and drops the others', () => {
    const a = new Gate<number>();
    const b = new Gate<number>();
    const log: string[] = [];
    const err = run((function* () {
      spawn((function* () {
        yield* yieldNow();
        b.reject(new Error('b failed'));
      })());
      return yield* catching(select(a, b, guarded(sleep(10_000), log, 'sleeper')));
    })());
    expect((err as Error).message).toBe('b failed');
    expect(a.drops).toBe(1);
    expect(b.drops).toBe(0);
    expect(log).toEqual(['sleeper finally']);
  });

  it('select() under timeout(): dropping the select drops every child', () => {
    const a = new Gate<number>();
    const log: string[] = [];
    const err = run(catching(timeout(5, select(a, guarded(new Gate<number>(), log, 'g')))));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(a.drops).toBe(1);
    expect(log).toEqual(['g finally']);
  });

  it("select() runs a loser's finally that awaits to its end", () => {
    const log: string[] = [];
    run((function* () {
      const loser = (function* (): Task<void> {
        try {
          yield* new Gate<void>();
        } finally {
          yield* sleep(2);
          log.push('cleanup done');
        }
      })();
      yield* select(loser, ready(1));
      yield* sleep(20);
    })());
    expect(log).toEqual(['cleanup done']);
  });

  it('select() accepts JoinHandles and sleeps', () => {
    const r = run((function* () {
      const worker = spawn((function* () {
        yield* sleep(1);
        return 'worker';
      })());
      return yield* select(sleep(5_000), worker);
    })());
    expect(r).toEqual({ index: 1, value: 'worker' });
  });

  it('select() validates its arguments', () => {
    expect(() => select()).toThrow(/select\(\): needs at least one future/);
    expect(() => select(ready(1), 42 as never)).toThrow(TypeError);
    expect(() => select(ready(1), 42 as never)).toThrow(/argument at index 1 .* got number 42/);
    expect(() => select(function* () {} as never)).toThrow(/index 0 .*call the generator function.*a function/);
    expect(() => selectFair(null as never)).toThrow(/selectFair\(\): the argument at index 0/);
  });

  it('select() types index and value together (a discriminated union)', () => {
    const r = run(select(ready(1), (function* (): Task<string> {
      return 'x';
    })()));
    if (r.index === 0) {
      const n: number = r.value;
      expect(n).toBe(1);
    } else {
      const s: string = r.value;
      // @ts-expect-error the value at index 1 is a string
      const bad: number = r.value;
      expect([s, bad]).toBeDefined();
    }
  });
});

describe('select() and join() when dropping a child throws', () => {
  /** A generator whose finally throws when it is dropped. */
  function* failingCleanup(message: string): Task<void> {
    try {
      yield* sleep(60_000);
    } finally {
      throw new Error(message);
    }
  }

  it("select() returns the winner's value (a recv() keeps its value); the drop error goes to the unhandled-error policy", () => {
    const reported: unknown[] = [];
    const { result, left } = run(
      (function* () {
        const { sender, receiver } = unboundedChannel<string>();
        spawn((function* () {
          yield* sleep(5);
          sender.send('precious');
        })());
        const result = yield* select(receiver.recv(), failingCleanup('loser cleanup failed'));
        return { result, left: receiver.tryRecv() };
      })(),
      10_000,
      { onUnhandledError: (e) => reported.push(e) },
    );
    expect(result).toEqual({ index: 0, value: 'precious' });
    expect(left).toEqual({ ok: false, reason: 'empty' });
    expect(reported.map((e) => (e as Error).message)).toEqual(['loser cleanup failed']);
  });

  it('with the default policy the drop error fails blockOn as an UnhandledTaskError naming select()', () => {
    const executor = new Executor({ backend: BACKEND });
    let value: unknown;
    try {
      const error = (() => {
        try {
          executor.blockOn((function* () {
            value = yield* select(sleep(5), failingCleanup('loser cleanup failed'));
          })());
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(UnhandledTaskError);
      expect((error as Error).message).toBe('select(): dropping an unfinished future threw: loser cleanup failed');
      expect(((error as Error).cause as Error).message).toBe('loser cleanup failed');
      expect(value).toEqual({ index: 0, value: undefined });
    } finally {
      executor.close();
    }
  });

  it("join() throws the child's error; a drop error of the others is reported, not lost", () => {
    const reported: unknown[] = [];
    const error = run(
      (function* () {
        const failing = (function* (): Task<void> {
          yield* sleep(5);
          throw new Error('child failed');
        })();
        return yield* catching(join(failing, failingCleanup('other cleanup failed')));
      })(),
      10_000,
      { onUnhandledError: (e) => reported.push(e) },
    );
    expect((error as Error).message).toBe('child failed');
    expect(reported.map((e) => (e as Error).message)).toEqual(['other cleanup failed']);
  });

  it('a select dropped before it completes throws the first drop error and reports the others', () => {
    const reported: unknown[] = [];
    const error = run(
      (function* () {
        const task = spawn(function* () {
          yield* select(failingCleanup('first'), failingCleanup('second'));
        }());
        yield* sleep(5);
        task.cancel(); // drops the select the task awaits: its error is the task's
        return yield* catching(task);
      })(),
      10_000,
      { onUnhandledError: (e) => reported.push(e) },
    );
    expect((error as Error).message).toBe('first');
    expect(reported.map((e) => (e as Error).message)).toEqual(['second']);
  });

  it('a JoinHandle that a select or join dropped before polling it counts as awaited: a later await gets its error, nothing is reported', () => {
    const errors = run((function* () {
      const lost = spawn(function* () { yield* sleep(5); throw new Error('lost a select'); }());
      yield* select(ready('first'), lost); // ready at once: the handle is dropped unpolled
      const joined = spawn(function* () { yield* sleep(5); throw new Error('in a failed join'); }());
      yield* catching(join(function* () { throw new Error('sibling'); }(), joined));
      yield* sleep(20);
      return [yield* catching(lost), yield* catching(joined)];
    })());
    expect(errors.map((e) => (e as Error).message)).toEqual(['lost a select', 'in a failed join']);
  });

  it("a task's failure is still reported when only its own select, or a spawn cancelled before it ran, held its handle", () => {
    const reported: string[] = [];
    run((function* () {
      const self: { handle?: JoinHandle<void> } = {};
      self.handle = spawn(function* () {
        yield* sleep(1);
        yield* catching(join(function* () { throw new Error('sibling'); }(), self.handle!)); // its own handle
        throw new Error('failed after holding its own handle');
      }());
      const unawaited = spawn(function* () { yield* sleep(5); throw new Error('awaited by a cancelled spawn'); }());
      spawn(unawaited).cancel();
      yield* sleep(20);
    })(), 10_000, { onUnhandledError: (e) => reported.push((e as Error).message) });
    expect(reported.sort()).toEqual(['awaited by a cancelled spawn', 'failed after holding its own handle']);
  });

  it('timeout() throws TimeoutError when it expires, and reports what dropping its future threw', () => {
    const reported: unknown[] = [];
    const error = run(
      (function* () {
        return yield* catching(timeout(5, select(failingCleanup('first'), failingCleanup('second'))));
      })(),
      10_000,
      { onUnhandledError: (e) => reported.push(e) },
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(reported.map((e) => (e as Error).message).sort()).toEqual(['first', 'second']);
  });
});

describe('join() and joinAll()', () => {
  it('join() resolves with a typed tuple of every value', () => {
    const [n, s, v] = run(join(ready(1), (function* () {
      yield* sleep(2);
      return 'two';
    })(), sleep(1)));
    const typed: [number, string, void] = [n, s, v];
    expect(typed).toEqual([1, 'two', undefined]);
  });

  it('join() with no futures resolves with []', () => {
    expect(run(join())).toEqual([]);
  });

  it('join() re-polls only the children that were woken', () => {
    const gates = [new Gate<number>(), new Gate<number>(), new Gate<number>()];
    run((function* () {
      spawn((function* () {
        gates[1].resolve(1);
        yield* yieldNow();
        gates[0].resolve(0);
        gates[2].resolve(2);
      })());
      expect(yield* join(...gates)).toEqual([0, 1, 2]);
    })());
    expect(gates.map((g) => g.polls)).toEqual([2, 2, 2]);
    expect(gates.map((g) => g.drops)).toEqual([0, 0, 0]);
  });

  it('join() throws the first error and drops the others', () => {
    const a = new Gate<number>();
    const log: string[] = [];
    const err = run(catching(join(a, guarded(sleep(10_000), log, 'sleeper'), (function* (): Task<number> {
      yield* sleep(1);
      throw new Error('third failed');
    })())));
    expect((err as Error).message).toBe('third failed');
    expect(a.drops).toBe(1);
    expect(log).toEqual(['sleeper finally']);
  });

  it('join() under timeout(): dropping the join drops the children still running', () => {
    const a = new Gate<number>();
    const log: string[] = [];
    const err = run(catching(timeout(5, join(ready(1), a, guarded(new Gate<number>(), log, 'g')))));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(a.drops).toBe(1);
    expect(log).toEqual(['g finally']);
  });

  it('joinAll() resolves an array of one type in order, whatever order they finish in', () => {
    const delays = [5, 1, 3, 0, 2];
    const values = run(joinAll(delays.map((ms) => (function* (): Task<number> {
      yield* sleep(ms);
      return ms * 10;
    })())));
    const typed: number[] = values;
    expect(typed).toEqual([50, 10, 30, 0, 20]);
    expect(run(joinAll([]))).toEqual([]);
    expect(run(joinAll(new Set([ready('a'), ready('b')])))).toEqual(['a', 'b']);
  });

  it('joinAll() joins 10,000 futures woken one at a time in linear time', () => {
    const gates = Array.from({ length: 10_000 }, () => new Gate<number>());
    const t0 = performance.now();
    const values = run((function* () {
      spawn((function* () {
        for (let i = 0; i < gates.length; i++) {
          gates[i].resolve(i);
          yield* yieldNow();
        }
      })());
      return yield* joinAll(gates);
    })());
    expect(values[9_999]).toBe(9_999);
    expect(gates.every((g) => g.polls === 2)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('a combinator polled again after it completed names itself in the TypeError', () => {
    run((function* () {
      const cx = { waker: { wake() {} } };
      const fair = selectFair(ready(1));
      const all = joinAll([ready(2)]);
      yield* fair;
      yield* all;
      expect(() => fair.poll(cx)).toThrow(/^selectFair\(\) was awaited again after it completed/);
      expect(() => all.poll(cx)).toThrow(/^joinAll\(\) was awaited again after it completed/);
    })());
  });

  it('joinAll() of 20,000 children ready at once, each spending budget, polls each about once (it re-polled all the rest every turn)', () => {
    let polls = 0;
    const values = run((function* () {
      const children = Array.from({ length: 20_000 }, (_, i) => {
        const { sender, receiver } = unboundedChannel<number>();
        sender.send(i);
        const recv = receiver.recv(); // ready, and spends one unit of the task's budget
        return pollFn((cx) => {
          polls++;
          return recv.poll(cx);
        });
      });
      return yield* joinAll(children);
    })());
    expect(values[19_999]).toBe(19_999);
    expect(polls).toBeLessThan(2 * 20_000);
  });

  it('joinAll() sees a child woken while a budget-cut batch waited for the next poll (it never polled that child again)', () => {
    // Not run(): its timeout would poll the join once more when it fires, which hides the bug.
    const executor = new Executor({ backend: BACKEND });
    try {
      const joined = executor.blockOn((function* () {
        const notify = new Notify();
        spawn((function* () {
          notify.notifyOne(); // runs after the join's first poll, which the budget cut short
        })());
        const children = [notify.notified(), ...Array.from({ length: 200 }, () => sleep(0))];
        return (yield* joinAll(children)).length;
      })());
      expect(joined).toBe(201);
    } finally {
      executor.close();
    }
  });

  it('joinAll() takes any iterable of futures, iterators such as map.values() too (they were refused as tasks)', () => {
    const byName = new Map([['a', ready(1)], ['b', ready(2)]]);
    expect(run(joinAll(byName.values()))).toEqual([1, 2]);
    expect(run(joinAll([sleep(1), sleep(2)].values()))).toEqual([undefined, undefined]);
    expect(run(joinAll(new Set([ready('x')])))).toEqual(['x']);
  });

  it('joinAll() validates its argument', () => {
    expect(() => joinAll(ready(1) as never)).toThrow(/joinAll\(\): expected an array of futures/);
    expect(() => joinAll(ready(1) as never)).toThrow(/one awaitable: pass \[it\], or use join\(\)/);
    expect(() => joinAll(42 as never)).toThrow(/joinAll\(\): expected an array of futures, got number 42$/);
    expect(() => joinAll((function* () {})() as never)).toThrow(/one awaitable: pass \[it\], or use join\(\)/);
    expect(() => joinAll([ready(1), 'x' as never])).toThrow(/joinAll\(\): the argument at index 1 .* got string x/);
    expect(() => join(ready(1), undefined as never)).toThrow(/join\(\): the argument at index 1/);
  });
});
