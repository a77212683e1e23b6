// Poll-based futures, as in Rust: a future does a step of work each time it is polled and either
// returns its value or PENDING after arranging for `cx.waker.wake()` to be called.
import { coop } from './_coop.js';

/**
 * The value `poll` returns when the future cannot finish yet. A sentinel, so a poll allocates
 * nothing.
 *
 * @example
 * ```ts
 * const v = fut.poll(cx);
 * if (v === PENDING) return PENDING;
 * ```
 */
export const PENDING: unique symbol = Symbol('wakeloop.PENDING');

/**
 * What `Future.poll` returns: the value, or `PENDING`.
 *
 * @example
 * ```ts
 * poll(cx: Context): Poll<number> { return this.ready ? 42 : PENDING; }
 * ```
 */
export type Poll<T> = T | typeof PENDING;

/**
 * Wakes the task that polled a future, so the executor polls it again. Waking a task that is
 * already queued does nothing; spurious wakes are allowed (a woken future always re-checks).
 *
 * @example
 * ```ts
 * const waker = cx.waker; // keep it, call waker.wake() when progress is possible
 * ```
 */
export interface Waker {
  wake(): void;
}

/**
 * What a future gets when it is polled: the waker of the task polling it.
 *
 * @example
 * ```ts
 * poll(cx: Context) { this.#waker = cx.waker; return PENDING; }
 * ```
 */
export interface Context {
  readonly waker: Waker;
}

// The states of a future's awaits: not yet awaited, held (by a `yield*`, spawn or a
// combinator), awaited, and cancelled for good (a generator future or a scope, which cannot run
// again once dropped).
const FRESH = 0;
const AWAITING = 1;
const AWAITED = 2;
const RETIRED = 3;

/**
 * A value that is not ready yet. Subclasses implement `poll`; `drop` releases whatever a pending
 * poll registered (wakers, timers, interest) and is called when the future is cancelled.
 *
 * A future is its own one-shot iterator, so a generator task awaits it with `yield*` and gets
 * its typed value back. Inside a task the first `next()` polls the future with the task's
 * context: a ready value is returned at once and the generator never suspends; a pending future
 * is yielded to the task, and the second `next()` returns the value the task polled out of it
 * once woken. (A generator method here would allocate a generator object on every await.)
 * Outside a task, and inside a future's `poll`, the first `next()` hands the future over
 * unpolled, so a future that steps a generator by hand polls what it yields with its own
 * context; a generator a task's own code steps by hand polls with the task's (so the pending
 * future it hands out is armed: drop it if you abandon the generator).
 * A future gives its value once: a `yield*` of a future that already gave its value (or error)
 * throws a TypeError, rather than quietly giving `undefined`, and so does a `yield*` of a
 * future another task is awaiting, or that `spawn`, a combinator or `timeout` holds. An await
 * that was cancelled gave nothing, so the future may be awaited again, except a generator
 * future or a scope: dropping it ran its `finally` blocks (cancelled its children), and it
 * cannot run again.
 * The futures meant to be awaited repeatedly (a JoinHandle, a oneshot receiver) say so.
 *
 * @example
 * ```ts
 * class Ready<T> extends Future<T> {
 *   constructor(private value: T) { super(); }
 *   poll() { return this.value; }
 * }
 * function* task(): Task<number> { return (yield* new Ready(42)) + 1; }
 * ```
 */
export abstract class Future<T> implements Iterator<Future<unknown>, T, unknown> {
  /**
   * Where the awaits of this future stand: FRESH, AWAITING (a `yield*` handed it to the
   * executor, or spawn, a combinator or `timeout` claimed it), AWAITED (it gave its value) or
   * RETIRED (dropped for good).
   */
  #await = FRESH;

  /** Lets the future be awaited again: for a future that is reused (a recycled read or recv future). */
  protected rearm(): void {
    this.#await = FRESH;
  }

  /**
   * @internal A combinator, `timeout` or the executor polled this future to its end (a value or
   * an error): as after a `yield*`, it has given its value and may not be awaited again.
   */
  _gaveValue(): void {
    if (this.#await !== RETIRED) this.#await = AWAITED; // a cleanup task ran it to its end
  }

  /**
   * @internal spawn, a combinator or `timeout` took this future to poll it: a `yield*` of it
   * elsewhere is refused (both would poll it, and one would wait for good) until it gives its
   * value or they drop it.
   */
  _claim(): void {
    this.#await = AWAITING;
  }

  /** @internal What claimed this future dropped it: it gave nothing and may be awaited again. */
  _release(): void {
    if (this.#await === AWAITING) this.#await = FRESH;
  }

  /**
   * @internal Drops a future this caller claimed (spawn's root, a combinator's child, a
   * timeout's inner future) and releases it, even if the drop throws: unfinished, it gave
   * nothing, and a leaf future may be awaited again (a generator or scope stays retired).
   */
  _dropClaimed(): void {
    try {
      this.drop();
    } finally {
      this._release();
    }
  }

  /**
   * @internal Dropping cancelled this future for good (a generator's `finally` ran, or a
   * scope's children were cancelled, and may still be finishing for the task that dropped it):
   * any later await or hand-over is refused.
   */
  _retire(): void {
    this.#await = RETIRED;
  }

  /** @internal A select or join holding this future was first polled by the task of `waker`. */
  _heldBy(_waker: Waker): void {}

  /** @internal True once dropping cancelled this future for good (see _retire). */
  _isRetired(): boolean {
    return this.#await === RETIRED;
  }

  /**
   * @internal Why a combinator or spawn may not take this future (a `yield*`, spawn or another
   * combinator holds it, it already gave its value, or it was dropped for good), or null if it
   * may: it would poll the future a second time.
   */
  _awaitedProblem(): string | null {
    if (this.#await === FRESH) return null;
    if (this.#await === RETIRED) return retiredProblem(this);
    const what = this.#await === AWAITING ? 'is being awaited (by a task, spawn or a combinator)' : 'was already awaited';
    return `this ${this.constructor.name} ${what}: a future gives its value once (make a new one)`;
  }

  /** Makes progress; returns the value or `PENDING` (after storing `cx.waker`). May throw. */
  abstract poll(cx: Context): Poll<T>;

  /** Cancellation: releases wakers, timers and registrations taken by a pending poll. */
  drop(): void {}

  [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    // A second `yield*` while the first waits would take the first one's value (its next()
    // reads as the executor resuming it) and leave the first with an error.
    if (this.#await === AWAITING) {
      throw new TypeError(
        `this ${this.constructor.name} is already being awaited (by a task, spawn or a combinator): a future is awaited by one task at a time`,
      );
    }
    return this;
  }

  /**
   * @internal The `yield*` protocol: first hand the future to the executor, then its value.
   * Inside a generator task's step (`coop.cx` set) the first call polls at once, as the task
   * would right after the yield: a ready value returns without suspending the generator, and a
   * pending future is handed over marked as polled, so the task does not poll it twice.
   */
  next(value?: unknown): IteratorResult<Future<unknown>, T> {
    if (this.#await === FRESH) {
      this.#await = AWAITING;
      const cx = coop.cx;
      if (cx !== null) {
        // During the poll cx is unset: a future that steps a generator of its own by hand
        // polls what that generator yields with its own context, not the task's.
        coop.cx = null;
        let v: Poll<T>;
        try {
          v = this.poll(cx);
        } catch (error) {
          coop.cx = cx;
          this.#await = AWAITED;
          throw error; // surfaces at the `yield*`, as the task's throw() would put it
        }
        coop.cx = cx;
        if (v !== PENDING) {
          this.#await = AWAITED;
          RETURNED.value = v;
          return RETURNED as IteratorReturnResult<T>;
        }
        coop.polledPending = this;
      }
      YIELDED.value = this;
      return YIELDED;
    }
    if (this.#await === RETIRED) throw new TypeError(retiredProblem(this));
    if (this.#await === AWAITED) {
      throw new TypeError(
        `this ${this.constructor.name} was already awaited: a future is awaited once (make a new one to wait again)`,
      );
    }
    this.#await = AWAITED;
    RETURNED.value = value as T;
    return RETURNED as IteratorReturnResult<T>;
  }

  /** @internal An error the executor got from `poll` surfaces at the `yield*`. */
  throw(error?: unknown): IteratorResult<Future<unknown>, T> {
    this.#await = AWAITED;
    throw error;
  }

  /**
   * @internal Cancelling the awaiting generator passes through. The future gave no value, and
   * its drop() released what the await had registered, so it may be awaited again.
   */
  return(value?: unknown): IteratorResult<Future<unknown>, T> {
    if (this.#await !== RETIRED) this.rearm();
    RETURNED.value = value as T;
    return RETURNED as IteratorReturnResult<T>;
  }
}

function retiredProblem(future: Future<unknown>): string {
  return `this ${future.constructor.name} was cancelled (dropped by a select, join or timeout, or with its task): it cannot be awaited again; make a new one (call the generator function again)`;
}

// `yield*` reads an iterator result's fields at once and keeps nothing, so one shared result
// object per kind serves every await without allocating.
const YIELDED: IteratorYieldResult<Future<unknown>> = { done: false, value: undefined! };
const RETURNED: IteratorReturnResult<unknown> = { done: true, value: undefined };

/**
 * A future made from a poll function, for small one-off futures.
 *
 * @example
 * ```ts
 * let n = 0;
 * const third = pollFn((cx) => (++n < 3 ? (cx.waker.wake(), PENDING) : n));
 * ```
 */
export function pollFn<T>(poll: (cx: Context) => Poll<T>, drop?: () => void): Future<T> {
  if (typeof poll !== 'function') throw new TypeError('pollFn(poll): poll must be a function');
  if (drop !== undefined && typeof drop !== 'function') {
    throw new TypeError('pollFn(poll, drop): drop must be a function');
  }
  return new PollFn(poll, drop);
}

class PollFn<T> extends Future<T> {
  constructor(
    private readonly pollImpl: (cx: Context) => Poll<T>,
    private readonly dropImpl: (() => void) | undefined,
  ) {
    super();
  }
  poll(cx: Context): Poll<T> {
    return this.pollImpl(cx);
  }
  override drop(): void {
    this.dropImpl?.();
  }
}

/**
 * A future that is ready at once with `value`.
 *
 * @example
 * ```ts
 * const five = yield* ready(5);
 * ```
 */
export function ready<T>(value: T): Future<T> {
  if (value === PENDING) throw new TypeError('ready(value): PENDING cannot be a value: it is what poll() returns for "not ready yet"');
  return new PollFn(() => value, undefined);
}

/**
 * Gives other tasks and pending I/O a turn: pending once (waking itself at once), then ready.
 * It spends the rest of the task's budget, so the executor asks the kernel for events before
 * the task runs again (as tokio's `yield_now` defers the task past the next I/O poll).
 *
 * @example
 * ```ts
 * for (const item of work) { process(item); yield* yieldNow(); }
 * ```
 */
export function yieldNow(): Future<void> {
  let yielded = false;
  return new PollFn<void>((cx) => {
    if (yielded) return undefined;
    yielded = true;
    coop.budget = 0;
    cx.waker.wake();
    return PENDING;
  }, undefined);
}
