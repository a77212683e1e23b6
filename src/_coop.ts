// Per-thread state shared by futures and the executor that polls them, kept apart from
// executor.ts so low-level modules do not import it (and no import cycle forms).
import { StateError } from './state_error.js';
import type { Context, Future } from './future.js';

/**
 * A task's budget for one poll, in units: one per I/O operation, plus one per KiB a socket read
 * or write moved. A future that finds it spent yields, so the other tasks run.
 */
export const TASK_BUDGET = 128;

/** How deep generator futures may nest (one awaiting the next) and still poll eagerly. */
export const EAGER_DEPTH = 32;

/** The running executor's hooks, filled in while it polls a task. */
export const coop = {
  /** Units left for the task being polled (see TASK_BUDGET); futures that are always ready spend it. */
  budget: TASK_BUDGET,
  /**
   * Spends one unit of the polling task's budget. I/O futures that would produce a value call it
   * first; when it is spent they wake their task and return PENDING, so a connection that is
   * always ready cannot starve the others (epoll(7), "possible pitfalls").
   */
  proceed(): boolean {
    return --coop.budget >= 0;
  },
  /**
   * Charges the polling task for `bytes` moved by a socket read or write: one unit per KiB. A
   * call's own unit counts calls; this makes a task that moves large buffers yield after about
   * TASK_BUDGET KiB rather than TASK_BUDGET buffers (counting calls alone, an echo of 64 KiB
   * reads moved up to 8 MiB in one poll while every other task waited).
   */
  spendBytes(bytes: number): void {
    coop.budget -= bytes >> 10;
  },
  /**
   * The context of the generator task being resumed (set by GenFuture around `next()` and
   * `throw()`), or null. With it, a future's `yield*` polls the future at once and, if it is
   * ready, returns its value without suspending the generator (see Future.next).
   */
  cx: null as Context | null,
  /** The future a `yield*` polled under `cx` and found pending: the task must not poll it again. */
  polledPending: null as Future<unknown> | null,
  /** How many generator task steps are running, one inside another's poll. */
  depth: 0,
  /**
   * True while an executor turns outside Node's loop (`blockOn`, or `turn()`, which may be
   * called in a loop of its own), so Node's streams cannot flush until it returns; false in an
   * attached executor's turn, which Node's loop runs.
   */
  holdsThread: false,
  /**
   * Runs a dropped future's awaiting cleanup (a cancelled generator's `finally`) to completion:
   * the running executor runs it as a cleanup task that the task polling now waits for (see
   * Executor #adopt).
   */
  finishDropped(future: Future<unknown>): void {
    throw new StateError(`a cancelled task awaits in a finally block outside an executor (${future.constructor.name})`);
  },
};
