import { describe, expect, it } from 'vitest';
import {
  Executor,
  Sleep,
  TimeoutError,
  channel,
  interval,
  join,
  ready,
  select,
  sleep,
  sleepUntil,
  spawn,
  timeout,
  yieldNow,
  type Task,
} from '../src/index.js';
import { BACKEND, catching, run } from './util.js';

describe('timers', () => {
  it('sleep() never completes early', () => {
    run((function* () {
      for (const ms of [0, 1, 3, 10, 25, 0.4]) {
        const start = performance.now();
        yield* sleep(ms);
        expect(performance.now() - start).toBeGreaterThanOrEqual(ms);
      }
    })());
  });

  it('timers fire in deadline order, ties in the order they were made', () => {
    const order: string[] = [];
    run((function* () {
      const base = performance.now() + 20;
      const at = (name: string, t: number) =>
        spawn((function* (): Task<void> {
          yield* sleepUntil(base + t);
          order.push(name);
        })());
      const handles = [at('c', 30), at('a', 0), at('b1', 15), at('b2', 15), at('d', 45)];
      for (const h of handles) yield* h;
    })());
    expect(order).toEqual(['a', 'b1', 'b2', 'c', 'd']);
  });

  it('timeout() returns the value when the future is faster', () => {
    expect(run((function* () {
      return yield* timeout(1000, (function* () { yield* sleep(5); return 'fast'; })());
    })())).toBe('fast');
  });

  it('a late drop() of a completed timeout() leaves its inner future alone (it may be reused)', () => {
    const got = run((function* () {
      const { sender, receiver } = channel<number>(4);
      sender.trySend(1);
      const first = timeout(100, receiver.recv());
      const one = yield* first;
      const next = receiver.recv(); // the receiver hands out its recycled future again
      first.drop();
      sender.trySend(2);
      return [one, yield* next];
    })());
    expect(got).toEqual([1, 2]);
  });

  it('timeout() throws TimeoutError no earlier than its deadline', () => {
    const elapsed = run((function* () {
      const start = performance.now();
      try {
        yield* timeout(30, sleep(5000));
      } catch (e) {
        expect(e).toBeInstanceOf(TimeoutError);
        return performance.now() - start;
      }
      return -1;
    })());
    expect(elapsed).toBeGreaterThanOrEqual(30);
  });

  it('Interval.tick() completes at multiples of the period and skips missed ticks', () => {
    run((function* () {
      const every = interval(10);
      const start = performance.now() - 10; // the interval's origin, within rounding
      const t1 = yield* every.tick();
      expect(performance.now()).toBeGreaterThanOrEqual(t1);
      yield* sleep(35); // late for the next tick, and misses the two after it
      const t2 = yield* every.tick();
      expect(t2 - t1).toBeCloseTo(10, 6); // the late tick is delivered at once, with its due time
      const t3 = yield* every.tick();
      const periods = Math.round((t3 - t1) / 10);
      expect(t3 - t1).toBeCloseTo(periods * 10, 6); // still on the grid (within float rounding)...
      expect(periods).toBeGreaterThanOrEqual(4); // ...without a burst of the missed ones
      expect(t1 - start).toBeGreaterThanOrEqual(9);
    })());
  });

  it('timer functions reject bad input with a clear error', () => {
    expect(() => sleep(-1)).toThrow(RangeError);
    expect(() => sleep(Number.NaN)).toThrow(/number of milliseconds/);
    expect(() => sleep('5' as never)).toThrow(TypeError);
    expect(() => interval(0)).toThrow(/interval\(\): period must be at least 0.001 ms, got 0/);
    expect(() => timeout(-5, sleep(1))).toThrow(RangeError);
    expect(() => timeout(5, 42 as never)).toThrow(/timeout\(\): expected a Future or a generator task/);
    expect(() => sleepUntil('x' as never)).toThrow(/sleepUntil\(\): deadline must be a performance.now\(\) time in ms, got string x/);
  });

  it('sleep(Infinity) never completes and timeout(Infinity, f) never expires, as the thread timeouts take Infinity', () => {
    expect(run((function* () {
      const raced = yield* select(sleep(Infinity), sleep(5));
      return [raced.index, yield* timeout(Infinity, function* () { yield* sleep(2); return 'done'; }())];
    })())).toEqual([1, 'done']);
    const executor = new Executor({ backend: BACKEND });
    try {
      expect(() => executor.blockOn(sleep(Infinity))).toThrow(/nothing can wake it \(no ready task, timer but those at Infinity/);
    } finally {
      executor.close();
    }
  });

  it('interval() refuses a period too small to move the next tick past now (Number.MIN_VALUE stopped after one tick)', () => {
    expect(() => interval(Number.MIN_VALUE)).toThrow(/interval\(\): period must be at least 0.001 ms, got 5e-324/);
    expect(() => interval(1e-7)).toThrow(RangeError);
    run((function* () {
      const every = interval(0.001);
      const first = yield* every.tick();
      const second = yield* every.tick();
      expect(second).toBeGreaterThan(first);
      expect(every.nextTick).toBeGreaterThan(second);
      expect(Number.isFinite(every.nextTick)).toBe(true);
    })());
  });

  it('new Sleep() checks its deadline as sleepUntil() does: a NaN deadline would stop every timer', () => {
    expect(() => new Sleep(Number.NaN)).toThrow(/new Sleep\(\): deadline must be a performance.now\(\) time in ms, got number NaN/);
    expect(() => new Sleep('5' as never)).toThrow(TypeError);
    expect(new Sleep(performance.now() + 5).deadline).toBeGreaterThan(0);
  });

  it('two tick() futures of one interval pending at once complete at successive ticks, never early', () => {
    run((function* () {
      const every = interval(30);
      const [a, b] = yield* join(every.tick(), every.tick());
      expect(b - a).toBeCloseTo(30, 6); // b = a + 30 in floating point: b - a may differ in the last bit
      expect(performance.now()).toBeGreaterThanOrEqual(b); // the second did not complete at the first tick
      expect(every.nextTick).toBe(b + 30);
    })());
  });

  it('tasks looping on one interval take its ticks in turn (the first no longer took them all)', () => {
    const taken = run((function* () {
      const every = interval(5);
      const ticks: string[] = [];
      const loop = (name: string) =>
        spawn((function* () {
          for (;;) {
            yield* every.tick();
            ticks.push(name);
          }
        })());
      const loops = [loop('a'), loop('b'), loop('c')];
      while (ticks.length < 12) yield* sleep(5);
      for (const handle of loops) handle.cancel();
      return ticks.slice(0, 12).join('');
    })(), 5_000);
    expect(taken).toBe('abcabcabcabc');
  });

  it("a tick() waiting on an executor nobody drives, or one whose poll failed, holds back no other executor's tick()", () => {
    const every = interval(20);
    const side = new Executor({ backend: BACKEND });
    try {
      side.spawn((function* () {
        yield* every.tick();
      })());
      side.turn(0); // its tick() waits, and side is never turned again
      expect(() => every.tick().poll({ waker: { wake() {} } })).toThrow(/no wakeloop executor is running/);
      const t = run((function* () {
        return yield* timeout(1_000, every.tick());
      })());
      expect(t).toBeGreaterThan(0);
    } finally {
      side.close();
    }
  });

  it('a tick() dropped while first in line, due or not, lets the next one waiting take the tick', () => {
    run((function* () {
      const every = interval(20);
      // Dropped before its tick was due.
      expect((yield* select(every.tick(), ready('now'))).index).toBe(1);
      const due = every.nextTick;
      let other = 0;
      spawn((function* () {
        other = yield* every.tick();
      })());
      // First in line, then dropped at the tick: the select's first future is ready then too.
      expect((yield* select(sleepUntil(due), every.tick())).index).toBe(0);
      yield* yieldNow();
      expect(other).toBe(due);
      expect(yield* every.tick()).toBeCloseTo(due + 20, 6);
    })(), 5_000);
  });

  it('a loop of sleeps already due (sleep(0)) spends the budget, so other tasks still run', () => {
    const rounds = run((function* () {
      let flag = false;
      spawn((function* () {
        flag = true;
      })());
      let i = 0;
      while (!flag && i < 100_000) {
        yield* sleep(0);
        i++;
      }
      return i;
    })());
    expect(rounds).toBeLessThan(100_000); // about one budget of rounds, then the other task ran
  });

  it('a Sleep whose await was cancelled on one executor completes when awaited on another', () => {
    const first = new Executor({ backend: BACKEND });
    const second = new Executor({ backend: BACKEND });
    try {
      const nap = sleep(20);
      const winner = first.blockOn(select(nap, ready('at once'))); // nap waits in first's timers, then is dropped
      expect(winner.index).toBe(1);
      const started = performance.now();
      second.blockOn(nap);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      first.close();
      second.close();
    }
  });

  it('timeout() removes its timer even when dropping the inner future throws', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      const error = executor.blockOn((function* () {
        const h = spawn((function* () {
          yield* timeout(5000, (function* (): Task<void> {
            try {
              yield* sleep(60_000);
            } finally {
              throw new Error('cleanup failed');
            }
          })());
        })());
        yield* sleep(1); // h awaits the timeout: its 5 s timer and the inner 60 s one are set
        h.cancel();
        return yield* catching(h);
      })());
      expect((error as Error).message).toBe('cleanup failed');
      expect(executor.timers.size).toBe(0);
    } finally {
      executor.close();
    }
  });
});
