// CrossThreadSignal: wakes an executor that may be blocked in the kernel, from any thread. A flag
// in shared memory says "something happened"; the waiting executor's blocker registry id, stored
// beside it, lets the notifier wake that blocker with notifyBlocker().
import { Executor } from '../executor.js';
import { Future, PENDING, type Context, type Poll, type Waker } from '../future.js';
import { notifyBlocker } from '../io_blocker.js';
import type { Reactor } from '../reactor.js';
import { adoptNext, newCells, takeAdopted } from '../sync/_shared_cells.js';
import { describe } from '../task.js';

// Cell layout: [flag, waiter registry id, magic].
const FLAG = 0;
const WAITER = 1;
const CELLS = 3;
/** Marks a buffer as a signal's ('XTS1'). */
const MAGIC = 0x58545331;
const KIND = 'wakeloop.CrossThreadSignal';

/**
 * The structured-cloneable form of a {@link CrossThreadSignal}: post it to a worker (or put it in
 * `workerData`) and rebuild it there with `CrossThreadSignal.from(form)`.
 *
 * @example
 * ```ts
 * const form: CrossThreadSignalForm = new CrossThreadSignal().toCloneable();
 * ```
 */
export interface CrossThreadSignalForm {
  readonly kind: typeof KIND;
  readonly sab: SharedArrayBuffer;
}

/**
 * A one-token wake-up that crosses threads: any thread calls `notify()`, one executor thread
 * awaits `wait()`. Tokens do not add up (several notifies before a wait make one wake), as with
 * a Parker; use it to say "look again" (at a queue, a flag), not to count.
 *
 * How it reaches an executor blocked in `block(-1)`: the waiter stores its blocker's registry id
 * in shared memory before it blocks, the notifier sets the flag and then reads that id and calls
 * `notifyBlocker(id)`; the blocker returns, and the reactor wakes the futures that asked for
 * `waitNotify`. Both sides use sequentially consistent atomics, so either the waiter sees the
 * flag or the notifier sees the id: no wake is lost. A registry id carries a generation, so a
 * notify after the waiting executor closed is a harmless no-op.
 *
 * One thread waits on a signal at a time (the last one to wait is the one woken).
 *
 * @example
 * ```ts
 * const signal = new CrossThreadSignal();
 * new Worker(script, { workerData: signal.toCloneable() }); // worker: CrossThreadSignal.from(workerData).notify()
 * yield* signal.wait(); // returns once the worker notified, even from block(-1)
 * ```
 */
export class CrossThreadSignal {
  readonly #cells: Int32Array;

  /**
   * Makes a signal with no token.
   *
   * @example
   * ```ts
   * const signal = new CrossThreadSignal();
   * ```
   */
  constructor() {
    this.#cells = takeAdopted() ?? newCells(CELLS, MAGIC);
  }

  /**
   * Rebuilds a signal from its cloneable form, in the thread it was posted to. Throws a
   * TypeError when `form` is not a signal's form (`undefined` included: only the constructor
   * makes new signals).
   *
   * @example
   * ```ts
   * const signal = CrossThreadSignal.from(workerData.signal);
   * ```
   */
  static from(form: CrossThreadSignalForm): CrossThreadSignal {
    return signalFromForm('CrossThreadSignal.from', form);
  }

  /**
   * The cloneable form (the shared buffer is shared, not copied).
   *
   * @example
   * ```ts
   * worker.postMessage(signal.toCloneable());
   * ```
   */
  toCloneable(): CrossThreadSignalForm {
    return { kind: KIND, sab: this.#cells.buffer as SharedArrayBuffer };
  }

  /**
   * Sets the token and wakes the executor waiting on it, from any thread. Never blocks.
   *
   * @example
   * ```ts
   * queue.push(job); signal.notify();
   * ```
   */
  notify(): void {
    Atomics.store(this.#cells, FLAG, 1);
    const id = Atomics.load(this.#cells, WAITER);
    if (id > 0) notifyBlocker(id);
  }

  /**
   * Takes the token if it is there, without waiting.
   *
   * @example
   * ```ts
   * if (signal.tryTake()) drainQueue();
   * ```
   */
  tryTake(): boolean {
    return Atomics.exchange(this.#cells, FLAG, 0) === 1;
  }

  /**
   * The registry id of the blocker of the executor that last waited on this signal (0 if none
   * has yet): what another thread passes to `notifyBlocker()` to wake that executor.
   *
   * @example
   * ```ts
   * notifyBlocker(signal.waiterRegistryId);
   * ```
   */
  get waiterRegistryId(): number {
    return Atomics.load(this.#cells, WAITER);
  }

  /**
   * A future that completes once the token is there (at once if it already is) and takes it.
   * Await it on an executor thread.
   *
   * @example
   * ```ts
   * for (;;) { yield* signal.wait(); drainQueue(); }
   * ```
   */
  wait(): Future<void> {
    return new SignalWait(this);
  }

  /**
   * @internal Takes the token, or arms the wake-up: publishes this executor's registry id and
   * asks its reactor to wake `waker` after the next block(). True if the token was taken.
   */
  _takeOrArm(reactor: Reactor, waker: Waker): boolean {
    // Published even when the token is already there: other threads read this slot to wake
    // (or terminate) this executor later, whatever it awaits then.
    this._publish(reactor.blocker.registryId);
    if (this.tryTake()) return true;
    reactor.waitNotify(waker);
    return false;
  }

  /** @internal Stores the registry id of the executor that waits on this signal. */
  _publish(registryId: number): void {
    Atomics.store(this.#cells, WAITER, registryId);
  }
}

/** @internal Rebuilds a signal from `form`, naming `what` in the TypeError if it is not one. */
export function signalFromForm(what: string, form: unknown): CrossThreadSignal {
  adoptNext(checkForm(what, form, KIND, CELLS, MAGIC));
  return new CrossThreadSignal();
}

/** The future of `CrossThreadSignal.wait()`. */
class SignalWait extends Future<void> {
  #armed: { reactor: Reactor; waker: Waker } | null = null;
  constructor(private readonly signal: CrossThreadSignal) {
    super();
  }
  poll(cx: Context): Poll<void> {
    const reactor = Executor.current().reactor;
    if (this.signal._takeOrArm(reactor, cx.waker)) {
      this.drop();
      return undefined;
    }
    this.#armed = { reactor, waker: cx.waker };
    return PENDING;
  }
  override drop(): void {
    if (this.#armed !== null) this.#armed.reactor.forgetNotify(this.#armed.waker);
    this.#armed = null;
  }
}

/**
 * Checks a cloneable `{ kind, sab }` form and returns its cells: the right kind, a
 * SharedArrayBuffer of at least `cells` cells, and `magic` in cell `cells - 1`.
 *
 * @example
 * ```ts
 * const cells = checkForm('X.from', form, 'wakeloop.X', 3, 0x1234);
 * ```
 */
export function checkForm(what: string, form: unknown, kind: string, cells: number, magic: number): Int32Array {
  if (typeof form !== 'object' || form === null) {
    throw new TypeError(`${what}: expected the object made by toCloneable() (kind '${kind}'), got ${describe(form)}`);
  }
  const f = form as { kind?: unknown; sab?: unknown };
  if (f.kind !== kind) throw new TypeError(`${what}: expected a form of kind '${kind}', got kind ${describe(f.kind)}`);
  if (!(f.sab instanceof SharedArrayBuffer) || f.sab.byteLength < cells * 4) {
    const got = f.sab instanceof SharedArrayBuffer ? `${f.sab.byteLength} bytes` : describe(f.sab);
    throw new TypeError(`${what}: the form's sab must be a SharedArrayBuffer of at least ${cells * 4} bytes, got ${got}`);
  }
  const view = new Int32Array(f.sab, 0, cells);
  if (Atomics.load(view, cells - 1) !== magic) throw new TypeError(`${what}: the form's sab was not made by ${kind}`);
  return view;
}
