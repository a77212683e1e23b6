// What a micro-benchmark is, and the small reusable futures the benchmarks await. Everything here
// is synchronous: inside blockOn no Promise or Node timer runs, so one timed iteration is one (or a
// few) blockOn calls doing `ops` operations, and the harness divides by `ops`.
import { Future, PENDING, type Context, type Executor, type Poll, type Waker } from '../../src/index.js';

/** Runs `ops` operations synchronously (one or more blockOn calls on the executor it was made for). */
export type MicroRun = (ops: number) => void;

/**
 * One row of the table.
 *
 * @example
 * ```ts
 * const b: MicroBench = { name: 'yield*: ready', op: 'one await', ops: 10_000, setup: (ex) => (n) => ex.blockOn(loop(n)) };
 * ```
 */
export interface MicroBench {
  /** The row's name, "topic: what". */
  readonly name: string;
  /** What one operation is (ns/op and bytes/op are per this). */
  readonly op: string;
  /** Operations per timed iteration: enough for an iteration to take tens of microseconds. */
  readonly ops: number;
  /** Every future and waker involved is documented as allocation-free; the table marks the row. */
  readonly zeroAlloc?: boolean;
  /** Builds the state (tasks, channels, pending timers) on `executor`; the executor is closed after. */
  setup(executor: Executor): MicroRun;
}

/**
 * A ready future that can be awaited again after `again()`, so the await itself is all that is
 * measured (a Future is a one-shot iterator; `again()` re-arms it).
 *
 * @example
 * ```ts
 * const f = new Again(1);
 * for (;;) sum += yield* f.again();
 * ```
 */
export class Again<T> extends Future<T> {
  constructor(private readonly value: T) {
    super();
  }
  poll(): Poll<T> {
    return this.value;
  }
  /** Re-arms the future for one more `yield*`. */
  again(): this {
    this.rearm();
    return this;
  }
}

/**
 * A reusable `yieldNow()`: pending once (waking its task at once), then ready. One per task.
 *
 * @example
 * ```ts
 * const pass = new Pass();
 * yield* pass.again(); // gives the other tasks a turn
 * ```
 */
export class Pass extends Future<void> {
  #yielded = false;
  poll(cx: Context): Poll<void> {
    if (this.#yielded) {
      this.#yielded = false;
      return undefined;
    }
    this.#yielded = true;
    cx.waker.wake();
    return PENDING;
  }
  /** Re-arms the future for one more `yield*`. */
  again(): this {
    this.rearm();
    this.#yielded = false;
    return this;
  }
}

/**
 * A resettable event one task waits on and another sets: `notify()` wakes the waiter (or makes the
 * next `wait()` ready at once). No allocation per wait.
 *
 * @example
 * ```ts
 * yield* signal.wait();   // in one task
 * signal.notify();        // in another
 * ```
 */
export class Signal extends Future<void> {
  #set = false;
  #waker: Waker | null = null;
  poll(cx: Context): Poll<void> {
    if (this.#set) {
      this.#set = false;
      return undefined;
    }
    this.#waker = cx.waker;
    return PENDING;
  }
  /** Re-arms the future for one more `yield*`. */
  wait(): this {
    this.rearm();
    return this;
  }
  /** Sets the event and wakes the waiting task, if any. */
  notify(): void {
    this.#set = true;
    const waker = this.#waker;
    this.#waker = null;
    waker?.wake();
  }
}

/** A future that hands back the polling task's waker (to poll futures by hand inside a task). */
export class CurrentWaker extends Future<Waker> {
  poll(cx: Context): Poll<Waker> {
    return cx.waker;
  }
}
