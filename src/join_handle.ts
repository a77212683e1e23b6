// A spawned task's state (TaskCell) and the handle its spawner holds (JoinHandle).
import { PENDING, type Context, type Future, type Poll, type Waker } from './future.js';
import type { Executor } from './executor.js';
import { AwaitWakers, SharedFuture } from './_shared_future.js';
import { CancelledError } from './errors.js';

/** The cleanup tasks a task waits for: how many are left, and the error it keeps from them. */
export interface Cleanups {
  left: number;
  failure: { error: unknown } | null;
}

/** A spawned task. It is its own Waker and Context: one object per task, reused for every poll. */
export class TaskCell<T> implements Waker, Context {
  readonly waker: Waker = this;
  /**
   * The root future; null once it ended (its outcome then waits in `result` and `failed` until
   * `cleanups` are done) and once the task completed.
   */
  future: Future<T> | null;
  /** Cleanup tasks finishing futures this task dropped: it settles after the last (Executor #adopt). */
  cleanups: Cleanups | null = null;
  /** For a cleanup task, the task it finishes a dropped future for; null for any other task. */
  owner: TaskCell<unknown> | null = null;
  queued = false;
  done = false;
  /** Cancellation was requested; the result will be a CancelledError unless cleanup throws. */
  cancelled = false;
  failed = false;
  result: unknown = undefined;
  /** The awaits pending on the JoinHandle (made by the first one). */
  joiners: AwaitWakers | null = null;
  /** Someone polled the JoinHandle: a failure is theirs to handle, not "unhandled". */
  observed = false;
  /** Told how the task ended, by the executor as it records the end (scope, JoinSet). */
  onComplete: ((failed: boolean, result: unknown) => void) | null = null;

  constructor(
    readonly executor: Executor,
    future: Future<T>,
  ) {
    this.future = future;
  }

  wake(): void {
    if (!this.queued && !this.done) {
      this.queued = true;
      this.executor._schedule(this);
    }
  }
}

/**
 * How the task that polls with `waker` relates to `task`: it is `task` ('self'), a cleanup task
 * `task` waits for, at any depth ('cleanup'), or neither (null). A select's or join's child
 * waker names the waker of whoever polls the combinator (`_outer`), so awaits through them count.
 */
function relation(waker: Waker, task: TaskCell<unknown>): 'self' | 'cleanup' | null {
  let w: unknown = waker;
  while (!(w instanceof TaskCell)) {
    const outer = (w as { _outer?: Waker | null })._outer;
    if (outer === undefined || outer === null) return null;
    w = outer;
  }
  if (w === task) return 'self';
  for (let cell = w.owner; cell !== null; cell = cell.owner) if (cell === task) return 'cleanup';
  return null;
}

/**
 * A handle to a spawned task: a future of its result, and the way to cancel it. Dropping the
 * handle detaches the task (it keeps running). It may be awaited more than once, and by several
 * tasks at a time (`toPromise(handle)` twice, say): each await gets the same value or error.
 *
 * @example
 * ```ts
 * const handle = spawn(worker());
 * const value = yield* handle;   // the task's value, or its error thrown here
 * ```
 */
export class JoinHandle<T> extends SharedFuture<T> {
  readonly #task: TaskCell<T>;

  /** @internal */
  constructor(task: TaskCell<T>) {
    super();
    this.#task = task;
  }

  /** True once the task completed (returned, threw, or finished cancelling). */
  get finished(): boolean {
    return this.#task.done;
  }

  /**
   * @internal Calls `onComplete` when the task ends, at once if it has (its value, or its error:
   * a CancelledError if it was cancelled); added while the task runs, in the order added. The
   * caller takes charge of a failure, so it is not reported as unhandled.
   */
  _onComplete(onComplete: (failed: boolean, result: unknown) => void): void {
    const task = this.#task;
    task.observed = true;
    // A task spawned while its executor closes is cancelled, and so ended, before spawn returns.
    if (task.done) return onComplete(task.failed, task.result);
    const before = task.onComplete;
    task.onComplete = before === null ? onComplete : (failed, result) => (before(failed, result), onComplete(failed, result));
  }

  /** @internal The executor the task runs on. */
  get _executor(): Executor {
    return this.#task.executor;
  }

  /** @internal True once `cancel()` (or a scope or JoinSet closing) asked the task to stop. */
  get _cancelRequested(): boolean {
    return this.#task.cancelled;
  }

  /** @internal */
  _pollFor(key: object, cx: Context): Poll<T> {
    const task = this.#task;
    // The task awaiting its own end (directly, or through `timeout`, `select` or `join`), or the
    // cleanup of a future it dropped, which it waits for, awaiting its end: either would wait
    // for good. Checked before the handle counts as observed, so the error is reported if
    // nobody joins the task. A task that cancelled itself stops at this await, as at any await
    // that waits; one whose cleanup runs (a `finally` after a cancel) learns how it ends.
    if (!task.done) {
      const how = relation(cx.waker, task);
      if (how !== null) {
        if (task.cancelled) throw new CancelledError();
        if (how === 'cleanup') {
          throw new TypeError("the cleanup of a future a task dropped awaited that task's JoinHandle: the task ends only after that cleanup");
        }
        if (!task.executor._cancelPending(task)) {
          throw new TypeError('a task awaited its own JoinHandle: it cannot wait for its own end');
        }
      }
    }
    task.observed = true;
    if (!task.done) {
      (task.joiners ??= new AwaitWakers()).set(key, cx.waker);
      return PENDING;
    }
    if (task.failed) throw task.result;
    return task.result as T;
  }

  /** @internal */
  _dropFor(key: object): void {
    this.#task.joiners?.delete(key);
  }

  /**
   * @internal A select or join holding an await of this handle was awaited by `waker`'s task:
   * that counts as awaiting the handle even if it drops it unpolled (a child ready first), so a
   * later await gets the error, not the unhandled-error policy. Not for the task itself or its
   * cleanup: the await would fail there, and the task's own failure must still be reported.
   */
  override _heldBy(waker: Waker): void {
    if (this.#task.done || relation(waker, this.#task) === null) this.#task.observed = true;
  }

  /**
   * Cancels the task: drops the future it awaits and runs its `finally` blocks. A `finally` that
   * the cancel started and that awaits runs to completion first; one the task was already
   * awaiting in on its own is cut at that await (README, "Cancellation"). Awaiting the handle
   * afterwards throws `CancelledError`. Cancelling a finished task does nothing, nor one whose own
   * code already returned or threw while the cleanup of futures it dropped runs (its handle
   * then gives that outcome once the cleanup ended: README, "Cancellation"). A task that
   * cancels itself stops at its next await that waits (awaits of futures already ready go on);
   * if it returns before that, its value stands.
   */
  cancel(): void {
    this.#task.executor._cancel(this.#task);
  }
}
