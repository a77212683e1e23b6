import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  GuardReleasedError,
  Mutex,
  TimeoutError,
  select,
  sleep,
  spawn,
  timeout,
  yieldNow,
  type Task,
} from '../../src/index.js';
import { Gate, catching, run } from '../util.js';

/** A task that takes the lock, logs `name`, and releases at once. */
function* locker(m: Mutex<string[]>, name: string): Task<void> {
  using guard = yield* m.lock();
  guard.value.push(name);
}

describe('Mutex', () => {
  it('Mutex.lock() gives a guard that reads and replaces the value', () => {
    const m = new Mutex(1);
    const seen = run((function* () {
      const g = yield* m.lock();
      const before = g.value;
      g.value = before + 41;
      g.release();
      return [before, m.tryLock()!.value];
    })());
    expect(seen).toEqual([1, 42]);
  });

  it('Mutex.tryLock() returns null while locked and a guard once released', () => {
    const m = new Mutex('x');
    const g = m.tryLock()!;
    expect(m.locked).toBe(true);
    expect(m.tryLock()).toBeNull();
    g.release();
    expect(m.locked).toBe(false);
    expect(m.tryLock()).not.toBeNull();
  });

  it('MutexGuard.release() twice throws GuardReleasedError, and so does value afterwards', () => {
    const m = new Mutex({ n: 0 });
    const g = m.tryLock()!;
    g.release();
    expect(g.held).toBe(false);
    expect(() => g.release()).toThrow(GuardReleasedError);
    expect(() => g.release()).toThrow(/already released/);
    expect(() => g.value).toThrow(GuardReleasedError);
    expect(() => (g.value = { n: 1 })).toThrow(GuardReleasedError);
    expect((() => { try { g.release(); } catch (e) { return (e as GuardReleasedError).code; } })()).toBe('ERR_GUARD_RELEASED');
    // A stale guard cannot release a lock that another holder took since.
    const other = m.tryLock()!;
    expect(() => g.release()).toThrow(GuardReleasedError);
    expect(m.locked).toBe(true);
    other.release();
  });

  it('MutexGuard[Symbol.dispose]() releases with `using`, also on throw, and is a no-op after release()', () => {
    const m = new Mutex(0);
    expect(() => {
      using g = m.tryLock()!;
      g.value = 1;
      throw new Error('boom');
    }).toThrow('boom');
    expect(m.locked).toBe(false);
    {
      using g = m.tryLock()!;
      g.release(); // early release, then the block end disposes again: fine
    }
    expect(m.locked).toBe(false);
  });

  it('Mutex.lock() excludes other tasks while a guard is held across awaits', () => {
    const m = new Mutex(0);
    const total = run((function* () {
      const handles = [];
      for (let i = 0; i < 20; i++) {
        handles.push(spawn((function* () {
          using g = yield* m.lock();
          const read = g.value;
          yield* yieldNow(); // others run meanwhile but cannot take the lock
          g.value = read + 1;
        })()));
      }
      for (const h of handles) yield* h;
      return m.tryLock()!.value;
    })());
    expect(total).toBe(20);
  });

  it('Mutex.lock() hands the lock to waiters in FIFO order', () => {
    const m = new Mutex<string[]>([]);
    const order = run((function* () {
      const g = yield* m.lock();
      const handles = ['a', 'b', 'c', 'd', 'e'].map((name) => spawn(locker(m, name)));
      yield* yieldNow(); // every locker is now queued, in spawn order
      g.release();
      for (const h of handles) yield* h;
      return m.tryLock()!.value;
    })());
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('Mutex.lock() does not let a task that releases and re-locks at once starve a waiter', () => {
    const m = new Mutex<string[]>([]);
    const log = run((function* () {
      let g = yield* m.lock();
      const patient = spawn(locker(m, 'patient'));
      yield* yieldNow(); // patient now waits for the lock
      for (let i = 0; i < 3; i++) {
        g.value.push('greedy');
        g.release(); // the first time, the waiter is handed the lock here...
        if (i === 0) expect(m.tryLock()).toBeNull(); // ...so even an immediate tryLock fails
        g = yield* m.lock(); // and re-locking queues behind it
      }
      g.release();
      yield* patient;
      return m.tryLock()!.value;
    })());
    expect(log).toEqual(['greedy', 'patient', 'greedy', 'greedy']);
  });

  it('Mutex.lock() cancelled by JoinHandle.cancel() leaves the queue and the next waiter gets the lock', () => {
    const m = new Mutex<string[]>([]);
    const log = run((function* () {
      const g = yield* m.lock();
      const a = spawn(locker(m, 'a'));
      const b = spawn(locker(m, 'b'));
      yield* yieldNow();
      a.cancel();
      g.release();
      yield* b;
      expect(yield* catching(a)).toBeInstanceOf(CancelledError);
      return m.tryLock()!.value; // free: no phantom waiter holds it
    })());
    expect(log).toEqual(['b']);
  });

  it('Mutex.lock() cancelled after the lock was handed to it passes the lock on (no lost wake-up)', () => {
    const m = new Mutex<string[]>([]);
    const log = run((function* () {
      const g = yield* m.lock();
      const a = spawn(locker(m, 'a'));
      const b = spawn(locker(m, 'b'));
      yield* yieldNow();
      g.release(); // hands the lock to a, whose task has not run yet
      expect(m.locked).toBe(true);
      a.cancel(); // a's lock future is dropped holding the grant: b must get it
      yield* b;
      return m.tryLock()!.value;
    })());
    expect(log).toEqual(['b']);
  });

  it('Mutex.lock() dropped by timeout() leaves the queue', () => {
    const m = new Mutex(0);
    run((function* () {
      const g = yield* m.lock();
      expect(yield* catching(timeout(5, m.lock()))).toBeInstanceOf(TimeoutError);
      g.release();
      expect(m.locked).toBe(false);
    })());
  });

  it('Mutex.lock() that loses a select after it was handed the lock passes it on', () => {
    const m = new Mutex<string[]>([]);
    const log = run((function* () {
      const g = yield* m.lock();
      const gate = new Gate<string>();
      const racer = spawn((function* () {
        const r = yield* select(gate, m.lock()); // biased: the gate wins a tie
        return r.index;
      })());
      const next = spawn(locker(m, 'next'));
      yield* yieldNow();
      g.release(); // granted to the racer's lock future...
      gate.resolve('gate'); // ...which then loses to the gate in the same poll
      expect(yield* racer).toBe(0);
      yield* next;
      return m.tryLock()!.value;
    })());
    expect(log).toEqual(['next']);
  });

  it('Mutex.lock() that lost a select after it was handed the lock took nothing, so it may be awaited again', () => {
    const m = new Mutex<string[]>([]);
    const log = run((function* () {
      const g = yield* m.lock();
      const gate = new Gate<string>();
      const lock = m.lock();
      const racer = spawn((function* () {
        const r = yield* select(gate, lock); // biased: the gate wins a tie
        using again = yield* lock; // the same future, awaited again after the cancel
        again.value.push(`racer after index ${r.index}`);
      })());
      const next = spawn(locker(m, 'next'));
      yield* yieldNow();
      g.release(); // granted to the racer's lock future, which loses to the gate and passes it on
      gate.resolve('gate');
      yield* racer;
      yield* next;
      return m.tryLock()!.value;
    })());
    expect(log).toEqual(['next', 'racer after index 0']);
  });

  it('Mutex.lock() that loses a select to a timer leaves the queue', () => {
    const m = new Mutex(0);
    run((function* () {
      const g = yield* m.lock();
      const r = yield* select(m.lock(), sleep(5));
      expect(r.index).toBe(1);
      g.release();
      expect(m.locked).toBe(false);
    })());
  });

  it('Mutex.lock() on a free mutex spends the cooperative budget so a re-locking loop cannot starve others', () => {
    const m = new Mutex(0);
    const seenAt = run((function* () {
      let loops = 0;
      const busy = spawn((function* () {
        for (; loops < 10_000; loops++) {
          using g = yield* m.lock();
          g.value++;
        }
      })());
      const other = spawn((function* () { return loops; })());
      const at = yield* other;
      yield* busy;
      return at;
    })());
    expect(seenAt).toBeLessThan(10_000);
  });
});
