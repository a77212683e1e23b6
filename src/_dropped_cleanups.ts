// The cleanup a cancelled task still owes when its root future is not a generator task: what
// the root handed to `coop.finishDropped` as it was dropped (a scope's children finishing, a
// select's generator children running `finally` blocks that await).
import { Future, PENDING, type Context, type Poll } from './future.js';

/**
 * Polls each handed-over cleanup to its end; then completes, or throws the first error one of
 * them threw (as a `finally` that throws replaces the cancellation). Errors after the first go
 * to `report` (the executor's unhandled-error policy), as they would from cleanups run apart.
 */
export class DroppedCleanups extends Future<void> {
  readonly #pending: Array<Future<unknown> | null>;
  readonly #report: (error: unknown) => void;
  #failure: { error: unknown } | null = null;

  constructor(cleanups: Future<unknown>[], report: (error: unknown) => void) {
    super();
    this.#pending = cleanups;
    this.#report = report;
  }

  poll(cx: Context): Poll<void> {
    let left = 0;
    const pending = this.#pending;
    for (let i = 0; i < pending.length; i++) {
      const cleanup = pending[i];
      if (cleanup === null) continue;
      try {
        if (cleanup.poll(cx) === PENDING) {
          left++;
          continue;
        }
      } catch (error) {
        if (this.#failure === null) this.#failure = { error };
        else this.#report(error);
      }
      pending[i] = null;
    }
    if (left > 0) return PENDING;
    if (this.#failure !== null) throw this.#failure.error;
  }

  /** Drops whatever cleanup is left. */
  override drop(): void {
    for (const cleanup of this.#pending) cleanup?.drop();
    this.#pending.length = 0;
  }
}
