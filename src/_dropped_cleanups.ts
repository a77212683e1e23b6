// The cleanup a task owes for futures it dropped: a `select` loser, a future a `timeout` gave up
// on or a scope cancelled whose `finally` blocks await, handed to `coop.finishDropped` as they were
// dropped. The executor polls them with the task and settles the task only after the last.
import { PENDING, type Context, type Future } from './future.js';

/**
 * Polls each handed-over cleanup to its end. An error one of them throws is kept as the task's
 * (the first, while `keep()` says so: the task was cancelled, and a `finally` that throws
 * replaces the cancellation) or goes to `report`, the unhandled-error policy.
 */
export class DroppedCleanups {
  readonly #pending: Array<Future<unknown>> = [];
  readonly #keep: () => boolean;
  readonly #report: (error: unknown) => void;
  /** The first error kept for the task to throw, if any. */
  failure: { error: unknown } | null = null;

  constructor(keep: () => boolean, report: (error: unknown) => void) {
    this.#keep = keep;
    this.#report = report;
  }

  add(cleanup: Future<unknown>): void {
    this.#pending.push(cleanup);
  }

  /** Polls what is left (including cleanups added meanwhile); true once none is. */
  poll(cx: Context): boolean {
    const pending = this.#pending;
    // Kept ones move down as finished ones leave, so a long-lived task that keeps dropping
    // futures holds only the cleanups still running.
    let kept = 0;
    for (let i = 0; i < pending.length; i++) {
      const cleanup = pending[i];
      try {
        if (cleanup.poll(cx) === PENDING) {
          pending[kept++] = cleanup;
          continue;
        }
      } catch (error) {
        if (this.failure === null && this.#keep()) this.failure = { error };
        else this.#report(error);
      }
    }
    pending.length = kept;
    return kept === 0;
  }
}
