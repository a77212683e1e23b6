// Parker / Unparker: a one-token blocking handshake between threads, over one shared Int32Array
// cell and Atomics.wait/notify (the futex parker of Rust's std and crossbeam, ported). The
// parker (the side that blocks) is here; the Unparker is in unparker.ts.
import { performance } from 'node:perf_hooks';
import { ParkerBusyError, ParkerClosedError, checkSharedForm } from './_thread_errors.js';
import { checkDuration } from '../_validate.js';
import { CELLS, CLOSED, EMPTY, MAGIC, NOTIFIED, PARKED, PARKED_NOTIFIED, STATE } from './_parker_cells.js';
import { adoptNext, newCells, takeAdopted } from './_shared_cells.js';
import { Unparker } from './unparker.js';

const PARKER_KIND = 'wakeloop.Parker';

/**
 * The plain, structured-cloneable form of a {@link Parker}: post it to a worker
 * (`worker.postMessage(form)` or `workerData`) and rebuild it there with `Parker.from(form)`.
 * The buffer is shared, not copied, so both ends see the same token.
 *
 * @example
 * ```ts
 * import { Parker, type ParkerForm } from 'wakeloop';
 *
 * const form: ParkerForm = new Parker().toCloneable();
 * console.log(form.kind, form.sab.byteLength); // wakeloop.Parker 8
 * ```
 */
export interface ParkerForm {
  readonly kind: typeof PARKER_KIND;
  readonly sab: SharedArrayBuffer;
}

/**
 * Blocks the current thread until another thread hands it a token through the matching
 * {@link Unparker}. Token semantics: an `unpark()` that comes before `park()` makes the next
 * `park()` return at once; tokens do not add up (two unparks, then two parks: the second park
 * blocks). One thread parks on a parker at a time ({@link ParkerBusyError} otherwise).
 *
 * Crossing threads: class instances lose their `#private` state in `postMessage`, so post
 * `parker.toCloneable()` (or `parker.unparker().toCloneable()`) and rebuild with
 * `Parker.from()` / `Unparker.from()` on the other side.
 *
 * Closing (`close()` or `using`): later `park()`/`unpark()` calls throw
 * {@link ParkerClosedError}, and a thread parked at that moment wakes up and throws it.
 *
 * Atomics.wait blocks the whole thread, Node's event loop included (allowed on Node's main
 * thread, not in a browser's).
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { Parker } from 'wakeloop';
 *
 * const parker = new Parker();
 * const url = new URL('./unparker.js', import.meta.url).href;
 * const worker = new Worker(
 *   `(async () => {
 *      const { workerData } = await import('node:worker_threads');
 *      const { Unparker } = await import(${JSON.stringify(url)});
 *      Unparker.from(workerData).unpark();
 *    })();`,
 *   { eval: true, workerData: parker.unparker().toCloneable() },
 * );
 * console.log(parker.parkTimeout(5_000)); // true: the worker unparked us
 * await worker.terminate();
 * ```
 */
export class Parker {
  /** The shared [state, magic] cells. */
  readonly #cells: Int32Array;
  /** The unparker handed out by unparker(), made once. */
  #unparker: Unparker | undefined;

  /** Makes a parker with no token. */
  constructor() {
    this.#cells = takeAdopted() ?? newCells(CELLS, MAGIC);
  }

  /**
   * Rebuilds a parker from its cloneable form, usually in the thread it was posted to.
   * Throws a TypeError when `form` is not a parker's form.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const here = new Parker();
   * const there = Parker.from(structuredClone(here.toCloneable()));
   * here.unparker().unpark();
   * console.log(there.parkTimeout(0)); // true: the same token
   * ```
   */
  static from(form: ParkerForm): Parker {
    adoptNext(checkSharedForm('Parker.from', form, PARKER_KIND, CELLS, MAGIC));
    return new Parker();
  }

  /**
   * Blocks until a token is available and takes it; returns at once if one is already there.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * parker.unparker().unpark();
   * parker.park(); // returns at once: the token was already there
   * ```
   */
  park(): void {
    this.#park('Parker.park', Infinity);
  }

  /**
   * Like {@link Parker.park}, but gives up after `ms` milliseconds (fractions allowed; 0 only
   * takes a token that is already there; `Infinity` never gives up). Returns `true` if it took
   * a token, `false` if the time ran out; it never gives up early (checked against a monotonic
   * clock). Throws a RangeError for a negative `ms`, a TypeError for a non-number (NaN included).
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * console.log(parker.parkTimeout(10)); // false, after at least 10 ms
   * parker.unparker().unpark();
   * console.log(parker.parkTimeout(10)); // true, at once
   * ```
   */
  parkTimeout(ms: number): boolean {
    return this.#park('Parker.parkTimeout', checkDuration('Parker.parkTimeout()', 'ms', ms, true));
  }

  /**
   * The unparker that wakes this parker (always the same object).
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * console.log(parker.unparker() === parker.unparker()); // true
   * ```
   */
  unparker(): Unparker {
    if (this.#unparker === undefined) {
      adoptNext(this.#cells);
      this.#unparker = new Unparker();
    }
    return this.#unparker;
  }

  /**
   * The structured-cloneable form of this parker, for `postMessage`/`workerData`; rebuild it
   * with `Parker.from()`. The receiving thread becomes a possible owner: only one thread may
   * be parked at a time.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const { kind, sab } = new Parker().toCloneable();
   * console.log(kind, sab instanceof SharedArrayBuffer); // wakeloop.Parker true
   * ```
   */
  toCloneable(): ParkerForm {
    return { kind: PARKER_KIND, sab: this.#cells.buffer as SharedArrayBuffer };
  }

  /**
   * Whether this parker was closed, from any thread.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * parker.close();
   * console.log(parker.isClosed); // true
   * ```
   */
  get isClosed(): boolean {
    return Atomics.load(this.#cells, STATE) === CLOSED;
  }

  /**
   * Closes the parker (the `drop` of the Rust original), in every thread that shares it: a
   * pending token is discarded, later `park()`/`unpark()` throw {@link ParkerClosedError}, and
   * a thread parked right now wakes up and throws it. Closing twice is a no-op.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * const unparker = parker.unparker();
   * parker.close();
   * console.log(unparker.isClosed); // true; unparker.unpark() would throw ParkerClosedError
   * ```
   */
  close(): void {
    const was = Atomics.exchange(this.#cells, STATE, CLOSED);
    if (was === PARKED || was === PARKED_NOTIFIED) Atomics.notify(this.#cells, STATE);
  }

  /**
   * Same as {@link Parker.close}, for `using parker = new Parker()`.
   *
   * @example
   * ```ts
   * import { Parker } from 'wakeloop';
   *
   * const parker = new Parker();
   * parker[Symbol.dispose]();
   * console.log(parker.isClosed); // true
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Takes the token, waiting up to `ms` (Infinity: forever); true if a token was taken. */
  #park(what: string, ms: number): boolean {
    const cells = this.#cells;
    if (ms === 0) return this.#tryTake(what);
    const deadline = ms === Infinity ? Infinity : performance.now() + ms;
    // Announce the wait (EMPTY -> PARKED), or take a token that is already there.
    for (;;) {
      const seen = Atomics.compareExchange(cells, STATE, EMPTY, PARKED);
      if (seen === EMPTY) break;
      if (seen === NOTIFIED) {
        if (Atomics.compareExchange(cells, STATE, NOTIFIED, EMPTY) === NOTIFIED) return true;
        continue; // closed in between: the next round reports it
      }
      if (seen === CLOSED) throw new ParkerClosedError(`${what}: the parker is closed`);
      throw new ParkerBusyError(`${what}: another thread is already parked on this parker (or was terminated while parked)`);
    }
    // While parked the cell holds PARKED, PARKED_NOTIFIED or CLOSED (see _parker_cells.ts), so
    // each round either sleeps in Atomics.wait or ends the call: it never spins.
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining > 0) {
        // Returns at once unless the cell still says PARKED: a racing unpark is never lost.
        Atomics.wait(cells, STATE, PARKED, remaining);
      }
      const state = Atomics.load(cells, STATE);
      if (state === PARKED_NOTIFIED) {
        if (Atomics.compareExchange(cells, STATE, PARKED_NOTIFIED, EMPTY) === PARKED_NOTIFIED) return true;
        continue; // closed in between: the next round reports it
      }
      if (state === CLOSED) throw new ParkerClosedError(`${what}: the parker was closed while parked`);
      if (state !== PARKED) {
        throw new Error(`${what}: the parker's state cell holds ${state} under a parked thread; something else wrote its buffer`);
      }
      // Still PARKED: a timeout. Give up only once the deadline has passed on our own clock; a
      // racing unpark turns the cell to PARKED_NOTIFIED first, and the next round takes it.
      if (remaining <= 0 && Atomics.compareExchange(cells, STATE, PARKED, EMPTY) === PARKED) {
        return false;
      }
    }
  }

  /** Takes a waiting token without ever announcing a wait (so it cannot disturb an owner, nor take its token). */
  #tryTake(what: string): boolean {
    for (;;) {
      const state = Atomics.load(this.#cells, STATE);
      if (state === EMPTY) return false;
      if (state === NOTIFIED) {
        if (Atomics.compareExchange(this.#cells, STATE, NOTIFIED, EMPTY) === NOTIFIED) return true;
        continue; // closed in between
      }
      if (state === CLOSED) throw new ParkerClosedError(`${what}: the parker is closed`);
      throw new ParkerBusyError(`${what}: another thread is already parked on this parker (or was terminated while parked)`);
    }
  }
}
