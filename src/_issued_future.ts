// The state shared by futures an owner hands out and may hand out again (a stream's reads and
// writes, a BufReader's calls): whether one is out, and whether a cancelled await may poll it.
import { Future } from './future.js';

/**
 * A future that is "issued" by its owner until it completes, throws or is dropped.
 *
 * @example
 * ```ts
 * class Op extends IssuedFuture<number> {
 *   poll(cx: Context) {
 *     if (!this.stillIssued()) throw new TypeError('Op: this future already completed');
 *     return this.done(42);
 *   }
 * }
 * ```
 */
export abstract class IssuedFuture<T> extends Future<T> {
  /**
   * True from `issue()` until the future completes, throws or is dropped. A reused future is
   * handed out again only after that (its owner makes a new one meanwhile); a poll while it is
   * false is a program awaiting a finished future again through a combinator (a second
   * `yield*` is caught by Future itself), which must not start the work again.
   */
  inUse = false;
  /** Set by drop(): an await that was cancelled gave nothing, so the future may be polled again. */
  #dropped = false;

  /**
   * True once the future completed (gave its value or error) and nobody may poll it any more:
   * only then may its owner hand it out again. A dropped future is not reusable, since the
   * program may still await it again (a cancelled await gave nothing); its owner makes a new one.
   */
  get reusable(): boolean {
    return !this.inUse && !this.#dropped;
  }

  /** Hands the future out (again): it may be awaited once more. */
  issue(): void {
    this.rearm();
    this.inUse = true;
    this.#dropped = false;
  }

  /**
   * Before a poll: false if the future already gave its value or error (the caller throws,
   * naming itself). A future whose await was cancelled is taken back into use.
   */
  protected stillIssued(): boolean {
    if (this.inUse) return true;
    if (!this.#dropped) return false;
    this.inUse = true; // the await's own state is the yield*'s: no rearm here
    this.#dropped = false;
    return true;
  }

  /** Completes with `value`: the owner may hand the future out again. */
  protected done<V>(value: V): V {
    this.inUse = false;
    return value;
  }

  override drop(): void {
    this.inUse = false;
    this.#dropped = true;
  }
}
