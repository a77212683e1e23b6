import { describe, expect, it } from 'vitest';
import { CancelledError, Notify, TimeoutError, select, sleep, spawn, timeout, yieldNow, type Task } from '../../src/index.js';
import { catching, run } from '../util.js';

/** A task that waits on `n` and then logs `name`. */
function* waiter(n: Notify, log: string[], name: string): Task<void> {
  yield* n.notified();
  log.push(name);
}

describe('Notify', () => {
  it('Notify.notifyOne() with nobody waiting stores one permit, and permits do not add up', () => {
    const n = new Notify();
    n.notifyOne();
    n.notifyOne();
    const second = run((function* () {
      yield* n.notified(); // the permit: completes at once
      return yield* catching(timeout(5, n.notified()));
    })());
    expect(second).toBeInstanceOf(TimeoutError);
  });

  it('Notify.notifyOne() wakes the oldest waiter first', () => {
    const n = new Notify();
    const log: string[] = [];
    run((function* () {
      const hs = ['a', 'b', 'c'].map((name) => spawn(waiter(n, log, name)));
      yield* yieldNow();
      n.notifyOne();
      yield* hs[0];
      expect(log).toEqual(['a']);
      n.notifyOne();
      n.notifyOne();
      yield* hs[1];
      yield* hs[2];
    })());
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('Notify.notifyWaiters() wakes every future made before it and stores no permit', () => {
    const n = new Notify();
    const log: string[] = [];
    run((function* () {
      const hs = ['a', 'b'].map((name) => spawn(waiter(n, log, name)));
      yield* yieldNow();
      const unpolled = n.notified(); // made before the call, polled after it
      n.notifyWaiters();
      yield* unpolled;
      for (const h of hs) yield* h;
      expect(yield* catching(timeout(5, n.notified()))).toBeInstanceOf(TimeoutError);
    })());
    expect(log.sort()).toEqual(['a', 'b']);
  });

  it('Notify.notified() cancelled after notifyOne() chose it forwards the notification', () => {
    const n = new Notify();
    const log: string[] = [];
    run((function* () {
      const a = spawn(waiter(n, log, 'a'));
      const b = spawn(waiter(n, log, 'b'));
      yield* yieldNow();
      n.notifyOne(); // chooses a, whose task has not run yet
      a.cancel();
      expect(yield* catching(a)).toBeInstanceOf(CancelledError);
      yield* b;
    })());
    expect(log).toEqual(['b']);
  });

  it('Notify.notified() chosen and then cancelled with nobody else waiting leaves the permit', () => {
    const n = new Notify();
    const log: string[] = [];
    run((function* () {
      const a = spawn(waiter(n, log, 'a'));
      yield* yieldNow();
      n.notifyOne();
      a.cancel();
      yield* n.notified(); // the forwarded permit
    })());
    expect(log).toEqual([]);
  });

  it('Notify.notified() that finds a permit with the budget spent keeps it, so a notifyOne() made meanwhile is stored', () => {
    const n = new Notify();
    const last = run((function* () {
      let notifiedByOther = false;
      const looper = spawn((function* () {
        // Each round takes the permit it stored; once the cooperative budget is spent, notified()
        // yields, and the other task's notifyOne() runs while this one still owes a poll.
        while (!notifiedByOther) {
          n.notifyOne();
          yield* n.notified();
        }
        return yield* catching(timeout(5, n.notified())); // the other task's notification
      })());
      const other = spawn((function* () {
        n.notifyOne();
        notifiedByOther = true;
      })());
      yield* other;
      return yield* looper;
    })());
    expect(last).toBeUndefined();
  });

  it('Notify.notified() dropped by timeout() or a lost select leaves the queue', () => {
    const n = new Notify();
    run((function* () {
      expect(yield* catching(timeout(5, n.notified()))).toBeInstanceOf(TimeoutError);
      expect((yield* select(n.notified(), sleep(5))).index).toBe(1);
      n.notifyOne(); // nobody waits any more: becomes the permit, not lost on a dead waiter
      yield* n.notified();
    })());
  });
});
