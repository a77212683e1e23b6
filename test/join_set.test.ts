import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CancelledError, ClosedError, Notify, ready, sleep, spawn, yieldNow, type Task } from '../src/index.js';
import { JoinSet } from '../src/join_set.js';
import { ThrowsOnDrop, run } from './util.js';

function* after<T>(ms: number, value: T, log?: string[]): Task<T> {
  try {
    yield* sleep(ms);
    return value;
  } finally {
    log?.push(`finally ${String(value)}`);
  }
}

describe('JoinSet', () => {
  it('JoinSet.joinNext() yields results in completion order, then undefined', () => {
    const got = run((function* () {
      const set = new JoinSet<number>();
      for (const ms of [30, 10, 20]) set.spawn(after(ms, ms));
      const order: Array<number | undefined> = [set.size];
      for (let v; (v = yield* set.joinNext()) !== undefined; ) order.push(v);
      order.push(set.size, yield* set.joinNext());
      return order;
    })());
    expect(got).toEqual([3, 10, 20, 30, 0, undefined]);
  });

  it('JoinSet keeps no memory for joined results while another result always waits', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const growth = run((function* () {
      const set = new JoinSet<number>();
      set.spawn(ready(-1));
      yield* yieldNow(); // one result waits from now on: each join takes the one before
      const round = function* () {
        for (let i = 0; i < 100_000; i++) {
          set.spawn(ready(i));
          yield* yieldNow();
          yield* set.joinNext();
        }
      };
      yield* round(); // warm-up: code and the run queue reach their size
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let r = 0; r < 4; r++) yield* round();
      gc();
      expect(set.size).toBe(1);
      return process.memoryUsage().heapUsed - before;
    })(), 60_000);
    // Before, every joined result left a slot behind: about 8 bytes a task, 3.2 MB here.
    expect(growth).toBeLessThan(1_000_000);
  });

  it('JoinSet.joinNext() awaited by two tasks at once gives each finished task to one of them', () => {
    const got = run((function* () {
      const set = new JoinSet<number>();
      const joiner = () => spawn((function* () {
        const mine: number[] = [];
        for (let v; (v = yield* set.joinNext()) !== undefined; ) mine.push(v);
        return mine;
      })());
      const [a, b] = [joiner(), joiner()];
      for (const ms of [5, 10, 15, 20]) set.spawn(after(ms, ms));
      return [...(yield* a), ...(yield* b)].sort((x, y) => x - y);
    })());
    expect(got).toEqual([5, 10, 15, 20]);
  });

  it('JoinSet.joinNext() throws a failed task error and the set goes on', () => {
    const got = run((function* () {
      const set = new JoinSet<string>();
      set.spawn(after(20, 'late'));
      set.spawn((function* (): Task<string> {
        yield* sleep(5);
        throw new RangeError('bad task');
      })());
      const seen: string[] = [];
      for (;;) {
        try {
          const v = yield* set.joinNext();
          if (v === undefined) break;
          seen.push(v);
        } catch (e) {
          seen.push(`error: ${(e as Error).message}`);
        }
      }
      return seen;
    })());
    expect(got).toEqual(['error: bad task', 'late']);
  });

  it('JoinSet.abortAll() cancels running tasks (finally ran); finished results stay joinable', () => {
    const log: string[] = [];
    const got = run((function* () {
      const set = new JoinSet<string>();
      const quick = set.spawn(after(0, 'quick', log));
      set.spawn(after(10_000, 'slow1', log));
      set.spawn(after(10_000, 'slow2', log));
      yield* quick; // finished (awaited through its handle), not joined from the set
      set.abortAll();
      const results: Array<string | undefined> = [];
      for (let v; (v = yield* set.joinNext()) !== undefined; ) results.push(v);
      return { results, size: set.size };
    })());
    expect(got).toEqual({ results: ['quick'], size: 0 });
    expect(log).toEqual(['finally quick', 'finally slow1', 'finally slow2']);
  });

  it('JoinSet [Symbol.dispose] (using) cancels every task when its owner is cancelled', () => {
    const log: string[] = [];
    const started = new Notify();
    run((function* () {
      const owner = spawn((function* () {
        using set = new JoinSet<string>();
        set.spawn(after(10_000, 'a', log));
        set.spawn(after(10_000, 'b', log));
        yield* yieldNow(); // both tasks take their first step
        started.notifyOne();
        yield* sleep(10_000);
      })());
      yield* started.notified();
      owner.cancel();
      log.push(String((yield* catchError(owner)) instanceof CancelledError));
    })());
    expect(log).toEqual(['finally a', 'finally b', 'true']);
  });

  it('JoinSet.close() cancels every task and later spawns throw ClosedError', () => {
    const log: string[] = [];
    const error = run((function* () {
      const set = new JoinSet<string>();
      set.spawn(after(10_000, 'x', log));
      yield* yieldNow();
      set.close();
      try {
        set.spawn(after(1, 'y'));
      } catch (e) {
        return e;
      }
      return undefined;
    })());
    expect(log).toEqual(['finally x']);
    expect(error).toBeInstanceOf(ClosedError);
  });

  it('JoinSet.shutdown() completes once awaiting finally blocks are done', () => {
    const log: string[] = [];
    run((function* () {
      const set = new JoinSet<void>();
      set.spawn((function* () {
        try {
          yield* sleep(10_000);
        } finally {
          yield* sleep(20);
          log.push('cleanup done');
        }
      })());
      yield* yieldNow();
      yield* set.shutdown();
      log.push('shutdown returned');
      return set.size;
    })());
    expect(log).toEqual(['cleanup done', 'shutdown returned']);
  });

  // A cancelled task whose finally awaits resumes after its yield* as if it had returned (a JS
  // limit); the set must still see it as cancelled, and wait for its cleanup.
  it('abortAll(): tasks whose finally awaits are skipped, and the drain waits for their cleanup', () => {
    const got = run((function* () {
      const log: string[] = [];
      const set = new JoinSet<number>();
      const cleanupTakes = function* (ms: number): Task<number> {
        try {
          yield* sleep(10_000);
          return ms;
        } finally {
          yield* sleep(ms);
          log.push(`cleanup ${ms} done`);
        }
      };
      set.spawn(cleanupTakes(5));
      set.spawn(cleanupTakes(40));
      yield* sleep(1);
      set.abortAll();
      const joined: Array<number | undefined> = [];
      for (let v; (v = yield* set.joinNext()) !== undefined; ) joined.push(v);
      log.push(`drained, size ${set.size}`);
      return { joined, log };
    })());
    expect(got.joined).toEqual([]);
    expect(got.log).toEqual(['cleanup 5 done', 'cleanup 40 done', 'drained, size 0']);
  });

  it("abortAll(): a task whose awaited future's drop() throws comes out of joinNext() with that error", () => {
    const error = run((function* () {
      const set = new JoinSet<number>();
      set.spawn((function* () { return yield* new ThrowsOnDrop(); })());
      yield* yieldNow();
      set.abortAll();
      return yield* catchError(set.joinNext());
    })());
    expect((error as Error).message).toBe('drop failed');
  });
});

function* catchError(fut: Task<unknown> | { [Symbol.iterator](): Iterator<unknown> }): Task<unknown> {
  try {
    yield* fut as Task<unknown>;
    return undefined;
  } catch (e) {
    return e;
  }
}
