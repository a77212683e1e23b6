// WaitGroup: a reference count in one shared Int32Array cell; waiting = Atomics.wait until it
// reads zero (crossbeam's WaitGroup, ported: clone to add, drop to finish).
import { performance } from 'node:perf_hooks';
import { WaitGroupDroppedError, checkSharedForm } from './_thread_errors.js';
import { checkDuration } from '../_validate.js';
import { adoptNext, atomicsWaitAsync, newCells, takeAdopted } from './_shared_cells.js';

// Cell layout of the shared buffer: [count, magic].
const COUNT = 0;
const CELLS = 2;
/** Marks a buffer as a wait group's ('WGP1'), so another primitive's buffer is refused. */
const MAGIC = 0x57475031;

const KIND = 'wakeloop.WaitGroup';

/** What this JS object's reference is doing. */
type RefState =
  /** Counted, usable. */
  | 'live'
  /** Released by a wait that has not seen zero yet (a timed-out waitTimeout): may wait again. */
  | 'waiting'
  /** Released for good: every further use throws WaitGroupDroppedError. */
  | 'dropped';

/**
 * The plain, structured-cloneable form of one {@link WaitGroup} reference: made by
 * `wg.toCloneable()`, posted to a worker, adopted there by `WaitGroup.from(form)`. Adopt each
 * form exactly once: it stands for one counted reference.
 *
 * @example
 * ```ts
 * import { WaitGroup, type WaitGroupForm } from 'wakeloop';
 *
 * const wg = new WaitGroup();
 * const form: WaitGroupForm = wg.toCloneable();
 * console.log(form.kind, wg.count); // wakeloop.WaitGroup 2
 * ```
 */
export interface WaitGroupForm {
  readonly kind: typeof KIND;
  readonly sab: SharedArrayBuffer;
}

/**
 * Waits until a group of threads is done. Each `WaitGroup` object is one counted reference:
 * `clone()` adds one, `drop()` finishes one, and `wait()` finishes the caller's own reference
 * and then blocks until every reference is finished. A reference can be dropped only once
 * ({@link WaitGroupDroppedError} otherwise), and so can the count: a finish that would take it
 * below zero throws that error too, and waiters wake up.
 *
 * Crossing threads: `wg.toCloneable()` counts a new reference and returns its plain form;
 * post it (`postMessage`, `workerData`) and adopt it on the other side with
 * `WaitGroup.from(form)`. Posting the `WaitGroup` object itself does not work: `#private`
 * state is not cloned.
 *
 * `wait()` blocks the whole thread (Node's event loop too); `waitAsync()` does not.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { WaitGroup } from 'wakeloop';
 *
 * const wg = new WaitGroup();
 * const url = new URL('./wait_group.js', import.meta.url).href;
 * for (let i = 0; i < 4; i++) {
 *   new Worker(
 *     `(async () => {
 *        const { workerData } = await import('node:worker_threads');
 *        const { WaitGroup } = await import(${JSON.stringify(url)});
 *        WaitGroup.from(workerData).drop();
 *      })();`,
 *     { eval: true, workerData: wg.toCloneable() },
 *   );
 * }
 * wg.wait(); // returns once the 4 workers dropped their references
 * console.log('all done');
 * ```
 */
export class WaitGroup {
  /** The shared [count, magic] cells. */
  readonly #cells: Int32Array;
  /** Whether this object's reference is still counted. */
  #state: RefState = 'live';

  /** Makes a group with one reference: this object. */
  constructor() {
    const cells = takeAdopted();
    if (cells !== undefined) {
      this.#cells = cells;
    } else {
      this.#cells = newCells(CELLS, MAGIC);
      Atomics.store(this.#cells, COUNT, 1);
    }
  }

  /**
   * Adopts the reference a `toCloneable()` form stands for, usually in the worker it was posted
   * to. Throws a TypeError for anything but a wait group's form, and
   * {@link WaitGroupDroppedError} if the group already reached zero (a form adopted twice; one
   * adopted twice before that is caught by the finish that would take the count below zero).
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const there = WaitGroup.from(structuredClone(wg.toCloneable()));
   * there.drop();
   * wg.wait(); // returns at once: both references are finished
   * ```
   */
  static from(form: WaitGroupForm): WaitGroup {
    const cells = checkSharedForm('WaitGroup.from', form, KIND, CELLS, MAGIC);
    if (Atomics.load(cells, COUNT) <= 0) {
      throw new WaitGroupDroppedError('WaitGroup.from: the group already reached zero (was this form adopted twice?)');
    }
    adoptNext(cells);
    return new WaitGroup();
  }

  /**
   * How many references are not finished yet, across all threads. A snapshot for diagnostics:
   * it may change the moment it is read.
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const other = wg.clone();
   * console.log(wg.count); // 2
   * other.drop();
   * console.log(wg.count); // 1
   * ```
   */
  get count(): number {
    return Atomics.load(this.#cells, COUNT);
  }

  /**
   * Adds a reference and returns it as a new `WaitGroup` object (same thread).
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const worker = wg.clone();
   * worker.drop();
   * wg.wait();
   * ```
   */
  clone(): WaitGroup {
    this.#assertLive('WaitGroup.clone');
    Atomics.add(this.#cells, COUNT, 1);
    adoptNext(this.#cells);
    return new WaitGroup();
  }

  /**
   * Adds a reference and returns its structured-cloneable form, to post to another thread
   * and adopt there with `WaitGroup.from()`. A form that is never adopted and dropped keeps
   * the group from reaching zero.
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const form = wg.toCloneable();
   * console.log(wg.count); // 2: the form is a reference of its own
   * WaitGroup.from(form).drop();
   * wg.wait();
   * ```
   */
  toCloneable(): WaitGroupForm {
    this.#assertLive('WaitGroup.toCloneable');
    Atomics.add(this.#cells, COUNT, 1);
    return { kind: KIND, sab: this.#cells.buffer as SharedArrayBuffer };
  }

  /**
   * Finishes this reference; the last one to finish wakes every waiter. Throws
   * {@link WaitGroupDroppedError} if this reference was already finished, or if the group's
   * count already read zero (another reference was finished twice: a form adopted twice).
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * wg.clone().drop();
   * console.log(wg.count); // 1
   * ```
   */
  drop(): void {
    this.#assertLive('WaitGroup.drop');
    this.#release('WaitGroup.drop');
  }

  /**
   * Finishes this reference, then blocks until every reference of the group is finished.
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const helper = wg.clone(); // usually posted to a worker with toCloneable() instead
   * helper.drop();
   * wg.wait(); // returns at once: both references are finished
   * ```
   */
  wait(): void {
    this.#wait('WaitGroup.wait', Infinity);
  }

  /**
   * Like {@link WaitGroup.wait}, but gives up after `ms` milliseconds: `true` if the group
   * reached zero, `false` if the time ran out (never early). The reference stays finished
   * after a `false`; calling `wait()`/`waitTimeout()` again keeps waiting. A RangeError for a
   * negative `ms`, a TypeError for a non-number (NaN included).
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const helper = wg.clone();
   * console.log(wg.waitTimeout(10)); // false: helper is still counted
   * helper.drop();
   * console.log(wg.waitTimeout(10)); // true
   * ```
   */
  waitTimeout(ms: number): boolean {
    return this.#wait('WaitGroup.waitTimeout', checkDuration('WaitGroup.waitTimeout()', 'ms', ms, true));
  }

  /**
   * Finishes this reference (at once, synchronously) and resolves when every reference is
   * finished, without blocking the thread (Atomics.waitAsync); rejects with
   * {@link WaitGroupDroppedError} if this reference was already dropped. Note that a pending
   * `Atomics.waitAsync` does not keep Node's event loop alive: something else (a running
   * worker, a timer) must.
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * const helper = wg.clone();
   * const done = wg.waitAsync();
   * setTimeout(() => helper.drop(), 10);
   * await done;
   * ```
   */
  async waitAsync(): Promise<void> {
    this.#startWait('WaitGroup.waitAsync');
    const cells = this.#cells;
    for (;;) {
      const count = Atomics.load(cells, COUNT);
      if (count === 0) break;
      const result = atomicsWaitAsync(cells, COUNT, count);
      if (result.async) await result.value;
    }
    this.#state = 'dropped';
  }

  /**
   * Finishes this reference if it is still counted; a no-op otherwise. For
   * `using wg = group.clone()`.
   *
   * @example
   * ```ts
   * import { WaitGroup } from 'wakeloop';
   *
   * const wg = new WaitGroup();
   * {
   *   using helper = wg.clone();
   *   console.log(wg.count); // 2
   * }
   * console.log(wg.count); // 1
   * ```
   */
  [Symbol.dispose](): void {
    if (this.#state === 'live') this.#release('WaitGroup[Symbol.dispose]');
  }

  /** Throws unless this reference is still counted. */
  #assertLive(what: string): void {
    if (this.#state !== 'live') {
      throw new WaitGroupDroppedError(`${what}: this WaitGroup reference was already dropped`);
    }
  }

  /**
   * Uncounts this reference; wakes the waiters if it was the last. A count already at zero
   * means a reference was finished twice (a form adopted twice): the count is put back and
   * that is thrown, waking the waiters, who would otherwise wait for a zero below zero.
   */
  #release(what: string): void {
    this.#state = 'dropped';
    const before = Atomics.sub(this.#cells, COUNT, 1);
    if (before === 1) Atomics.notify(this.#cells, COUNT);
    if (before > 0) return;
    Atomics.add(this.#cells, COUNT, 1);
    Atomics.notify(this.#cells, COUNT);
    throw new WaitGroupDroppedError(
      `${what}: the group's count was already ${before}, so some reference was finished twice (was a toCloneable() form adopted twice?)`,
    );
  }

  /** Releases this reference unless a timed-out wait already did; then the wait may go on. */
  #startWait(what: string): void {
    if (this.#state === 'dropped') {
      throw new WaitGroupDroppedError(`${what}: this WaitGroup reference was already dropped`);
    }
    if (this.#state === 'live') {
      this.#release(what);
      this.#state = 'waiting';
    }
  }

  /** Waits up to `ms` (Infinity: forever) for the count to read zero. */
  #wait(what: string, ms: number): boolean {
    this.#startWait(what);
    const cells = this.#cells;
    const deadline = ms === Infinity ? Infinity : performance.now() + ms;
    for (;;) {
      const count = Atomics.load(cells, COUNT);
      if (count === 0) {
        this.#state = 'dropped';
        return true;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      // Returns at once if the count moved since we read it: no drop is missed.
      Atomics.wait(cells, COUNT, count, remaining);
    }
  }
}
