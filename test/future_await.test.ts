// The `yield*` protocol of a future: one value per future, and what may be awaited again.
import { describe, expect, it } from 'vitest';
import { Mutex, TimeoutError, channel, oneshot, sleep, sleepUntil, spawn, timeout, yieldNow } from '../src/index.js';
import { catching, run } from './util.js';

describe('awaiting a future', () => {
  it('a future that gave its value throws a TypeError when awaited again, instead of giving undefined', () => {
    const errors = run((function* () {
      const mutex = new Mutex(0);
      const lock = mutex.lock();
      (yield* lock).release();
      const { sender, receiver } = channel<string>(4);
      sender.trySend('a');
      const recv = receiver.recv();
      expect(yield* recv).toBe('a');
      const nap = sleep(1);
      yield* nap;
      return [yield* catching(lock), yield* catching(nap)];
    })());
    for (const error of errors) {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/was already awaited: a future is awaited once/);
    }
  });

  it('a future whose await was cancelled may be awaited again, and waits as it should', () => {
    const waited = run((function* () {
      const start = performance.now();
      const nap = sleepUntil(start + 60);
      expect(yield* catching(timeout(5, (function* () { yield* nap; })()))).toBeInstanceOf(TimeoutError);
      yield* nap;
      return performance.now() - start;
    })());
    expect(waited).toBeGreaterThanOrEqual(60);
  });

  it('a JoinHandle can be awaited again, and by several tasks at once; a dropped await wakes nobody else', () => {
    const results = run((function* () {
      const handle = spawn((function* () {
        yield* sleep(30);
        return 'done';
      })());
      // One awaiter gives up early (its await is dropped); two others keep waiting.
      const quitter = spawn(catching(timeout(5, (function* () { return yield* handle; })())));
      const a = spawn((function* () { return yield* handle; })());
      const b = spawn((function* () { return yield* handle; })());
      expect(yield* quitter).toBeInstanceOf(TimeoutError);
      const first = yield* handle;
      return [first, yield* handle, yield* a, yield* b];
    })());
    expect(results).toEqual(['done', 'done', 'done', 'done']);
  });

  it('a oneshot receiver awaited by two tasks wakes both; one that gives up does not strand the other', () => {
    const got = run((function* () {
      const { sender, receiver } = oneshot<number>();
      const waiting = spawn((function* () { return yield* receiver; })());
      const quitter = spawn(catching(timeout(5, receiver)));
      expect(yield* quitter).toBeInstanceOf(TimeoutError);
      yield* yieldNow();
      sender.send(7);
      return yield* timeout(1000, waiting);
    })());
    expect(got).toBe(7);
  });
});
