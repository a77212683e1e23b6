// The cleanup a cancelled task still owes when its root future is not a generator task: what
// the root handed to `coop.finishDropped` as it was dropped (a scope's children finishing, a
// select's generator children running `finally` blocks that await).
import { Future, PENDING, type Context, type Poll } from './future.js';

/**
 * Polls each handed-over cleanup to its end; then completes, or throws the first error one of
 * them threw (as a `finally` that throws replaces the cancellation).
 */
export class DroppedCleanups extends Future<void> {
  readonly #pending: Array<Future<unknown> | null>;
  #failure: { error: unknown } | null = null;

  constructor(cleanups: Future<unknown>[]) {
    super();
    this.#pending = cleanups;
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
        this.#failure ??= { error };
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
