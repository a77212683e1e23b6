import { describe, expect, it } from 'vitest';
import { TimeoutError, interval, sleep, sleepUntil, spawn, timeout, type Task } from '../src/index.js';
import { run } from './util.js';

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
      expect(t2 - t1).toBe(10); // the late tick is delivered at once, with its due time
      const t3 = yield* every.tick();
      expect((t3 - t1) % 10).toBeCloseTo(0, 6); // still on the grid...
      expect(t3 - t1).toBeGreaterThanOrEqual(40); // ...without a burst of the missed ones
      expect(t1 - start).toBeGreaterThanOrEqual(9);
    })());
  });

  it('timer functions reject bad input with a clear error', () => {
    expect(() => sleep(-1)).toThrow(RangeError);
    expect(() => sleep(Number.NaN)).toThrow(/number of milliseconds/);
    expect(() => sleep('5' as never)).toThrow(TypeError);
    expect(() => sleep(Infinity)).toThrow(RangeError);
    expect(() => interval(0)).toThrow(/period must be > 0/);
    expect(() => timeout(-5, sleep(1))).toThrow(RangeError);
    expect(() => timeout(5, 42 as never)).toThrow(/expected a Future or a generator task/);
    expect(() => sleepUntil('x' as never)).toThrow(TypeError);
  });
});
