// Unparker: the waking side of a Parker (see parker.ts), a view of the parker's shared cells
// that any thread may hold.
import { ParkerClosedError, checkSharedForm } from './_thread_errors.js';
import { CELLS, CLOSED, MAGIC, NOTIFIED, PARKED, PARKED_NOTIFIED, STATE } from './_parker_cells.js';
import { adoptNext, takeAdopted } from './_shared_cells.js';

const UNPARKER_KIND = 'wakeloop.Unparker';

/**
 * The plain, structured-cloneable form of an {@link Unparker}: post it to another thread and
 * rebuild it there with `Unparker.from(form)`.
 *
 * @example
 * ```ts
 * import { Parker, type UnparkerForm } from 'wakeloop';
 *
 * const form: UnparkerForm = new Parker().unparker().toCloneable();
 * console.log(form.kind); // wakeloop.Unparker
 * ```
 */
export interface UnparkerForm {
  readonly kind: typeof UNPARKER_KIND;
  readonly sab: SharedArrayBuffer;
}

/**
 * Wakes the thread parked on the matching {@link Parker}, or leaves it a token for its next
 * park. Any number of unparkers, in any threads, may share one parker. Get one with
 * `parker.unparker()`; in another thread, rebuild one from `unparker.toCloneable()` with
 * `Unparker.from()`. There is nothing to close: an unparker is only a view of the parker.
 *
 * @example
 * ```ts
 * import { Parker, Unparker } from 'wakeloop';
 *
 * const parker = new Parker();
 * const unparker = Unparker.from(structuredClone(parker.unparker().toCloneable()));
 * unparker.unpark();
 * console.log(parker.parkTimeout(0)); // true
 * ```
 */
export class Unparker {
  /** The parker's shared [state, magic] cells. */
  readonly #cells: Int32Array;

  /**
   * Not for direct use: get an unparker from `parker.unparker()` or `Unparker.from(form)`.
   * Throws a TypeError otherwise.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const unparker = new Parker().unparker(); // not `new Unparker()`
   * unparker.unpark();
   * ```
   */
  constructor() {
    const cells = takeAdopted();
    if (cells === undefined) {
      throw new TypeError('new Unparker(): use parker.unparker() or Unparker.from(form)');
    }
    this.#cells = cells;
  }

  /**
   * Rebuilds an unparker from its cloneable form, usually in the thread it was posted to.
   * Throws a TypeError when `form` is not an unparker's form.
   *
   * @example
   * ```ts
   * import { Parker, Unparker } from 'wakeloop';
   *
   * const parker = new Parker();
   * Unparker.from(parker.unparker().toCloneable()).unpark();
   * console.log(parker.parkTimeout(0)); // true
   * ```
   */
  static from(form: UnparkerForm): Unparker {
    adoptNext(checkSharedForm('Unparker.from', form, UNPARKER_KIND, CELLS, MAGIC));
    return new Unparker();
  }

  /**
   * Hands the parker its token and wakes it if it is parked. A token that is already there is
   * kept, not doubled. Throws {@link ParkerClosedError} if the parker was closed: that token
   * could never be taken, which in a handshake means a step went wrong.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * parker.unparker().unpark();
   * parker.unparker().unpark(); // still one token
   * console.log(parker.parkTimeout(0), parker.parkTimeout(0)); // true false
   * ```
   */
  unpark(): void {
    const cells = this.#cells;
    for (;;) {
      const state = Atomics.load(cells, STATE);
      if (state === CLOSED) throw new ParkerClosedError('Unparker.unpark: the parker is closed');
      if (state === NOTIFIED || state === PARKED_NOTIFIED) return;
      // A parked thread's token is marked as its own, so another handle's park cannot take it.
      const next = state === PARKED ? PARKED_NOTIFIED : NOTIFIED;
      if (Atomics.compareExchange(cells, STATE, state, next) === state) {
        if (state === PARKED) Atomics.notify(cells, STATE, 1);
        return;
      }
    }
  }

  /**
   * The structured-cloneable form of this unparker, for `postMessage`/`workerData`.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const form = new Parker().unparker().toCloneable();
   * console.log(form.kind); // wakeloop.Unparker
   * ```
   */
  toCloneable(): UnparkerForm {
    return { kind: UNPARKER_KIND, sab: this.#cells.buffer as SharedArrayBuffer };
  }

  /**
   * Whether the parker was closed (from any thread): `unpark()` would throw.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * console.log(parker.unparker().isClosed); // false
   * ```
   */
  get isClosed(): boolean {
    return Atomics.load(this.#cells, STATE) === CLOSED;
  }
}
