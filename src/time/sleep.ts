// sleep(ms): a future that completes once its deadline has passed, never before.
import { Executor } from '../executor.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { coop } from '../_coop.js';
import { checkDuration } from '../_validate.js';
import { describe } from '../task.js';
import { TimerEntry, type TimerHeap } from './_timer_heap.js';

/**
 * A future that completes at `deadline` (a `performance.now()` time in ms). Registers a timer on
 * its first pending poll; dropping it removes the timer. A deadline that is not a number (or is
 * NaN) is a TypeError.
 *
 * @example
 * ```ts
 * yield* new Sleep(performance.now() + 50); // as sleepUntil()
 * ```
 */
export class Sleep extends Future<void> {
  #entry: TimerEntry | null = null;
  #timers: TimerHeap | null = null;

  constructor(readonly deadline: number) {
    super();
    checkDeadline('new Sleep()', deadline);
  }

  poll(cx: Context): Poll<void> {
    if (performance.now() >= this.deadline) {
      // Due: spend budget, or a loop of sleeps already due (sleep(0), a schedule running late)
      // would never let another task, I/O or a timer run (yield* polls on the spot).
      if (!coop.proceed()) {
        cx.waker.wake();
        return PENDING;
      }
      this.drop();
      return undefined;
    }
    const timers = Executor.current().timers;
    if (this.#entry === null) {
      this.#entry = new TimerEntry(this.deadline, cx.waker);
    } else {
      this.#entry.waker = cx.waker;
      if (timers !== this.#timers) this.#timers!.remove(this.#entry); // awaited again on another executor
    }
    this.#timers = timers;
    timers.insert(this.#entry); // no-op while it is still queued
    return PENDING;
  }

  override drop(): void {
    if (this.#entry !== null) this.#timers!.remove(this.#entry);
  }
}

/**
 * Completes after `ms` milliseconds (never earlier; later by at most the loop's latency);
 * `sleep(Infinity)` never does.
 *
 * @example
 * ```ts
 * yield* sleep(250);
 * ```
 */
export function sleep(ms: number): Sleep {
  checkDuration('sleep()', 'ms', ms, true);
  return new Sleep(performance.now() + ms);
}

/**
 * Completes at a `performance.now()` time.
 *
 * @example
 * ```ts
 * const start = performance.now();
 * yield* sleepUntil(start + 100);
 * ```
 */
export function sleepUntil(deadline: number): Sleep {
  return new Sleep(checkDeadline('sleepUntil()', deadline));
}

/** A NaN deadline would sit at the top of the timer heap and stop every timer behind it. */
function checkDeadline(where: string, deadline: unknown): number {
  if (typeof deadline !== 'number' || Number.isNaN(deadline)) {
    throw new TypeError(`${where}: deadline must be a performance.now() time in ms, got ${describe(deadline)}`);
  }
  return deadline;
}
