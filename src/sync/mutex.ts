// Mutex<T>: an async lock for one executor. A task holds the guard across awaits (the chat's
// Outbound writes a whole packet under it); waiting tasks queue in FIFO order and a release hands
// the lock straight to the oldest one.
import { coop } from '../_coop.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { GuardReleasedError } from './errors.js';
import { Waiter, WaiterQueue, wake } from './_waiter_queue.js';

/** The state a Mutex, its lock futures and its guards share. */
class MutexState<T> {
  /** Invariant: false implies `waiters` is empty (a release hands the lock to a waiter). */
  locked = false;
  /** Lock futures waiting, oldest first. */
  readonly waiters = new WaiterQueue();
  constructor(
    /** The protected value. */
    public value: T,
  ) {}
}

/** Makes a guard; set by MutexGuard's static block, so only this module can make one. */
let newGuard: <T>(state: MutexState<T>) => MutexGuard<T>;

/** Releases the lock: to the oldest waiter if there is one (it stays locked), else unlocks. */
function handOff(state: MutexState<unknown>): void {
  const next = state.waiters.shift();
  if (next === null) {
    state.locked = false;
    return;
  }
  next.granted = true;
  wake(next);
}

/**
 * An async mutual-exclusion lock around a value, for tasks of one executor. `lock()` waits
 * without blocking the thread; the guard it gives may be held across `yield*`.
 *
 * Fairness: FIFO. A release hands the lock directly to the oldest waiting `lock()`, so a task
 * that releases and re-locks at once queues behind the others and cannot starve them; `tryLock()`
 * succeeds only when nobody waits.
 *
 * Cancel safety: `lock()` is cancel-safe. Dropping a pending lock future (JoinHandle.cancel(),
 * a `timeout()` that fires, a lost `select`) unlinks it from the queue in O(1); if the lock had
 * already been handed to it but its task had not run yet, the drop passes the lock to the next
 * waiter (or unlocks), so no wake-up is lost and nothing stays locked. The only thing lost is
 * the place in the queue. Hold guards with `using` or `try/finally`: a cancelled task runs its
 * `finally` blocks, so the lock is released.
 *
 * @example
 * ```ts
 * const outbound = new Mutex(stream);
 * function* sendPacket(line: Uint8Array): Task<void> {
 *   using guard = yield* outbound.lock();
 *   yield* guard.value.writeAll(line); // no other task writes in between
 * }
 * ```
 */
export class Mutex<T> {
  readonly #state: MutexState<T>;

  /** Makes an unlocked mutex protecting `value`. */
  constructor(value: T) {
    this.#state = new MutexState(value);
  }

  /** True while some guard holds the lock (or a woken waiter is about to take it). */
  get locked(): boolean {
    return this.#state.locked;
  }

  /**
   * Waits for the lock and returns its guard. Await it once.
   *
   * @example
   * ```ts
   * const guard = yield* mutex.lock();
   * try { guard.value.count++; } finally { guard.release(); }
   * ```
   */
  lock(): Future<MutexGuard<T>> {
    return new Lock(this.#state);
  }

  /**
   * Takes the lock if it is free and nobody waits for it; otherwise returns null at once.
   *
   * @example
   * ```ts
   * const guard = mutex.tryLock();
   * if (guard !== null) { guard.value.push(item); guard.release(); }
   * ```
   */
  tryLock(): MutexGuard<T> | null {
    const state = this.#state;
    if (state.locked) return null;
    state.locked = true;
    return newGuard(state);
  }
}

/**
 * Proof of holding a {@link Mutex}: read or replace the protected value through `value`, then
 * `release()`. `[Symbol.dispose]` releases too, so `using guard = yield* m.lock()` releases at
 * the end of the block; disposing a guard already released is a no-op, but calling `release()`
 * twice throws {@link GuardReleasedError}, as does touching `value` after the release.
 *
 * @example
 * ```ts
 * using guard = yield* counter.lock();
 * guard.value = guard.value + 1;
 * ```
 */
export class MutexGuard<T> {
  /** The mutex while held; null once released. */
  #state: MutexState<T> | null;

  static {
    newGuard = (state) => new MutexGuard(state);
  }

  /** Guards are made by `Mutex.lock()` and `Mutex.tryLock()` only. */
  private constructor(state: MutexState<T>) {
    this.#state = state;
  }

  /** False once released. */
  get held(): boolean {
    return this.#state !== null;
  }

  /** The protected value. */
  get value(): T {
    return this.#held('MutexGuard.value').value;
  }

  set value(value: T) {
    this.#held('MutexGuard.value').value = value;
  }

  /**
   * Releases the lock, handing it to the oldest waiting task if any.
   *
   * @example
   * ```ts
   * const guard = yield* mutex.lock();
   * guard.release();
   * ```
   */
  release(): void {
    const state = this.#held('MutexGuard.release()');
    this.#state = null;
    handOff(state);
  }

  /** Releases the lock unless it already was; lets `using` manage the guard. */
  [Symbol.dispose](): void {
    if (this.#state !== null) this.release();
  }

  #held(what: string): MutexState<T> {
    if (this.#state === null) throw new GuardReleasedError(what);
    return this.#state;
  }
}

/** The future `Mutex.lock()` returns. */
class Lock<T> extends Future<MutexGuard<T>> {
  readonly #state: MutexState<T>;
  /** Our place in the queue; made on the first pending poll. */
  #waiter: Waiter | null = null;
  /** The guard was returned (or the grant passed on): nothing left to release on drop. */
  #done = false;

  constructor(state: MutexState<T>) {
    super();
    this.#state = state;
  }

  poll(cx: Context): Poll<MutexGuard<T>> {
    if (this.#done) throw new TypeError('Mutex.lock(): this lock future already completed; call lock() again');
    const state = this.#state;
    const waiter = this.#waiter;
    if (waiter !== null && waiter.granted) {
      // A release handed us the lock while we waited: it is ours, take it even if over budget.
      waiter.granted = false;
      this.#done = true;
      return newGuard(state);
    }
    if (waiter !== null && waiter.linked) {
      state.waiters.push(waiter, cx.waker); // still waiting: refresh the waker
      return PENDING;
    }
    if (!state.locked) {
      // Free means nobody waits (see MutexState.locked), so taking it now is fair.
      if (!coop.proceed()) {
        cx.waker.wake();
        return PENDING;
      }
      state.locked = true;
      this.#done = true;
      return newGuard(state);
    }
    this.#waiter ??= new Waiter();
    state.waiters.push(this.#waiter, cx.waker);
    return PENDING;
  }

  override drop(): void {
    if (this.#done) return;
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#state.waiters.remove(waiter);
    if (waiter.granted) {
      // Handed the lock but cancelled before taking it: pass it on, or the next waiter hangs.
      // The future took nothing, so it may be awaited again (and then queues afresh).
      waiter.granted = false;
      handOff(this.#state);
    }
  }
}
