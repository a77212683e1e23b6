// Notify: wake one waiting task, or all of them, with no data attached (tokio's Notify). A
// notifyOne() with nobody waiting is kept as a single permit for the next notified().
import { coop } from '../_coop.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { Waiter, WaiterQueue, wake } from './_waiter_queue.js';

/** What a Notify and its futures share. */
class NotifyState {
  /** A notifyOne() nobody took yet. Invariant: only set while no future waits. */
  permit = false;
  /** How many notifyWaiters() calls were made: a future made before one of them is done. */
  epoch = 0;
  /** Pending notified() futures, oldest first. */
  readonly waiters = new WaiterQueue();
}

/** Wakes the oldest waiter (handing it the notification), or stores the permit. */
function notifyOne(state: NotifyState): void {
  const next = state.waiters.shift();
  if (next === null) {
    state.permit = true;
    return;
  }
  next.granted = true;
  wake(next);
}

/**
 * Wakes tasks without passing data: `yield* notify.notified()` waits, `notifyOne()` wakes the
 * oldest waiter (or, if none waits, stores one permit so the next `notified()` completes at
 * once; permits do not add up), `notifyWaiters()` wakes every future made before the call,
 * whether or not it was polled yet, and stores no permit.
 *
 * Cancel safety: `notified()` is cancel-safe. Dropping a pending one unlinks it; if a
 * `notifyOne()` had already chosen it, the drop passes the notification on to the next waiter
 * (or back to the permit), so it is never lost.
 *
 * @example
 * ```ts
 * const dataReady = new Notify();
 * spawn(function* () { yield* dataReady.notified(); console.log('go'); }());
 * dataReady.notifyOne();
 * ```
 */
export class Notify {
  readonly #state = new NotifyState();

  /**
   * A future that completes when this Notify is notified. Await it once.
   *
   * @example
   * ```ts
   * yield* shutdown.notified();
   * ```
   */
  notified(): Future<void> {
    return new Notified(this.#state);
  }

  /**
   * Wakes the oldest waiting `notified()`, or stores a permit if none waits.
   *
   * @example
   * ```ts
   * queue.push(job);
   * jobAdded.notifyOne();
   * ```
   */
  notifyOne(): void {
    notifyOne(this.#state);
  }

  /**
   * Wakes every `notified()` future made before this call; stores no permit.
   *
   * @example
   * ```ts
   * config = reload();
   * configChanged.notifyWaiters();
   * ```
   */
  notifyWaiters(): void {
    const state = this.#state;
    state.epoch++;
    state.waiters.wakeAll();
  }
}

/** The future of `Notify.notified()`. */
class Notified extends Future<void> {
  readonly #state: NotifyState;
  /** The notifyWaiters() count when this future was made. */
  readonly #epoch: number;
  /** Our place among the waiters; made on the first pending poll. */
  #waiter: Waiter | null = null;
  #done = false;

  constructor(state: NotifyState) {
    super();
    this.#state = state;
    this.#epoch = state.epoch;
  }

  poll(cx: Context): Poll<void> {
    if (this.#done) throw new TypeError('Notify.notified(): this future already completed or was cancelled; call notified() again');
    const state = this.#state;
    const waiter = this.#waiter;
    if (waiter !== null && waiter.granted) {
      waiter.granted = false; // notifyOne() chose us
      this.#done = true;
      return undefined;
    }
    if (state.epoch !== this.#epoch) {
      this.#finish(); // notifyWaiters() since we were made
      return undefined;
    }
    if (waiter !== null && waiter.linked) {
      state.waiters.push(waiter, cx.waker);
      return PENDING;
    }
    if (state.permit) {
      state.permit = false;
      if (!coop.proceed()) {
        // Out of budget: yield, but keep the permit as ours (a grant, which drop() forwards).
        // Left in place, a notifyOne() made before our next poll would fold into it and be lost.
        this.#waiter ??= new Waiter();
        this.#waiter.granted = true;
        cx.waker.wake();
        return PENDING;
      }
      this.#done = true;
      return undefined;
    }
    this.#waiter ??= new Waiter();
    state.waiters.push(this.#waiter, cx.waker);
    return PENDING;
  }

  override drop(): void {
    if (this.#done) return;
    const granted = this.#waiter?.granted === true;
    this.#finish();
    if (granted) notifyOne(this.#state); // chosen but cancelled: forward it
  }

  #finish(): void {
    this.#done = true;
    const waiter = this.#waiter;
    if (waiter === null) return;
    waiter.granted = false;
    this.#state.waiters.remove(waiter);
  }
}
