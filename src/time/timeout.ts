// timeout(ms, future): the future's value, or a TimeoutError once `ms` have passed.
import { TimeoutError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { takeFuture, type Awaitable } from '../task.js';
import { checkDuration } from '../_validate.js';
import { reportDropFailure } from '../_drop_failure.js';
import { sleep, type Sleep } from './sleep.js';

class Timeout<T> extends Future<T> {
  /** Completed (value, error or timeout): there is nothing left to drop. */
  #done = false;
  constructor(
    private readonly inner: Future<T>,
    private readonly timer: Sleep,
    private readonly ms: number,
  ) {
    super();
  }

  poll(cx: Context): Poll<T> {
    let value: Poll<T>;
    try {
      value = this.inner.poll(cx);
    } catch (error) {
      this.#done = true;
      this.inner._gaveValue();
      this.timer.drop();
      throw error;
    }
    if (value !== PENDING) {
      this.#done = true;
      this.inner._gaveValue();
      this.timer.drop();
      return value;
    }
    if (this.timer.poll(cx) === PENDING) return PENDING;
    this.#done = true;
    try {
      this.#dropInner();
    } catch (error) {
      reportDropFailure(error, 'timeout()'); // the caller waits for the TimeoutError, as select's for its winner
    }
    throw new TimeoutError(this.ms);
  }

  /** Drops the inner future and the timer, unless it completed (a reused inner future may be in use again). */
  override drop(): void {
    if (this.#done) return;
    try {
      this.#dropInner();
    } finally {
      this.timer.drop(); // even if the inner future's cleanup throws
    }
  }

  #dropInner(): void {
    try {
      this.inner._dropClaimed();
    } finally {
      // A generator or scope is cancelled for good (its cleanup may still run, as a task of its
      // own): polled again through this timeout, it would be polled twice.
      if (this.inner._isRetired()) this._retire();
    }
  }
}

/**
 * Awaits `future`, but throws `TimeoutError` if it has not finished after `ms` milliseconds; the
 * future is then dropped (cancelled). Whether that loses data depends on the future: see the
 * cancellation-safety table in the README. If that drop throws (a `finally` that fails), the
 * error goes to the executor's unhandled-error policy and `TimeoutError` is still thrown. A
 * future that already gave its value to a `yield*` is refused with a TypeError. With `ms`
 * Infinity it never expires, as for the other timeouts that take milliseconds.
 *
 * @example
 * ```ts
 * const data = yield* timeout(5_000, stream.read());
 * ```
 */
export function timeout<T>(ms: number, future: Awaitable<T>): Future<T> {
  checkDuration('timeout()', 'ms', ms, true);
  return new Timeout(takeFuture(future, 'timeout()'), sleep(ms), ms);
}
