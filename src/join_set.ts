// JoinSet: a dynamic set of tasks joined in completion order (tokio's JoinSet). Closing or
// disposing the set cancels every task still in it, so a set cannot outlive its owner's intent.
import { Deque } from './_deque.js';
import { ClosedError } from './errors.js';
import { Executor } from './executor.js';
import { defaultExecutorForThread } from './default_executor.js';
import type { JoinHandle } from './join_handle.js';
import { Future, PENDING, type Context, type Poll, type Waker } from './future.js';
import type { Awaitable } from './task.js';
import { spawnTracked, type TaskOutcome } from './scope.js';

/**
 * A set of spawned tasks whose results are taken in the order they finish.
 *
 * - `joinNext()` gives the next finished task's value, throws its error, and gives `undefined`
 *   once the set is empty: loop on `size` (a task's value may be `undefined` too). Tasks that
 *   were cancelled (`abortAll`, or their own handle's `cancel()`) leave the set without a
 *   result: they are skipped.
 * - `close()` / `[Symbol.dispose]` (a `using` declaration) cancels every task still running
 *   and discards results nobody joined, errors included; `shutdown()` does the same and
 *   completes once every cancelled task has finished its `finally` blocks.
 * - Several tasks may await `joinNext()` at once: each finished task goes to one of them.
 *
 * @example
 * ```ts
 * using set = new JoinSet<number>();
 * for (const ms of [30, 10, 20]) set.spawn(function* () { yield* sleep(ms); return ms; }());
 * while (set.size > 0) console.log(yield* set.joinNext()); // 10, 20, 30
 * ```
 */
export class JoinSet<T> {
  /** Tasks still running. */
  readonly #running = new Set<JoinHandle<T>>();
  /** Finished tasks not yet joined, oldest first. */
  readonly #finished = new Deque<TaskOutcome<T>>();
  /** Tasks waiting in joinNext() or shutdown(): all are woken when a task finishes. */
  readonly #wakers = new Set<Waker>();
  #closed = false;
  readonly #executor: Executor | null;

  /**
   * Makes an empty set. Tasks go to `executor`, or by default to the executor running the
   * caller (this thread's default executor outside a task).
   *
   * @example
   * ```ts
   * const set = new JoinSet<string>();
   * ```
   */
  constructor(executor?: Executor) {
    if (executor !== undefined && !(executor instanceof Executor)) {
      throw new TypeError('new JoinSet(executor): executor must be an Executor');
    }
    this.#executor = executor ?? null;
  }

  /**
   * Tasks in the set: running, or finished and not yet joined.
   *
   * @example
   * ```ts
   * set.spawn(work()); console.log(set.size); // 1
   * ```
   */
  get size(): number {
    return this.#running.size + this.#finished.length;
  }

  /**
   * Starts `task` and adds it to the set. Throws ClosedError once the set was closed.
   *
   * @example
   * ```ts
   * const handle = set.spawn(download(url)); // a generator task; handle.cancel() removes it from the set
   * ```
   */
  spawn(task: Awaitable<T>): JoinHandle<T> {
    if (this.#closed) throw new ClosedError('JoinSet');
    const executor = this.#executor ?? Executor.tryCurrent() ?? defaultExecutorForThread();
    const cell: { handle?: JoinHandle<T> } = {};
    const handle = spawnTracked(executor, task, (outcome) => {
      this.#running.delete(cell.handle!);
      if (outcome.kind !== 'cancelled' && !this.#closed) this.#finished.push(outcome);
      const wakers = [...this.#wakers];
      this.#wakers.clear();
      for (const waker of wakers) waker.wake();
    }, 'JoinSet.spawn()');
    cell.handle = handle;
    if (!handle.finished) this.#running.add(handle); // else it ended in spawn (its executor closes)
    return handle;
  }

  /**
   * The next task to finish: its value, or its error thrown here; `undefined` when the set is
   * empty (and at once if it already is). A task's own value can be `undefined` as well (a task
   * that returns nothing), so a loop that joins them all tests `size`, not the value.
   *
   * @example
   * ```ts
   * while (set.size > 0) total += (yield* set.joinNext()) ?? 0;
   * ```
   */
  joinNext(): Future<T | undefined> {
    return new JoinNext(this);
  }

  /**
   * Cancels every running task (their `finally` blocks run). Results of tasks that already
   * finished stay joinable, as do those of tasks whose own code ended and that only wait for
   * the cleanup of futures they dropped (`cancel()` does not change their outcome).
   *
   * @example
   * ```ts
   * set.abortAll(); while (set.size > 0) yield* set.joinNext(); // drain
   * ```
   */
  abortAll(): void {
    for (const handle of [...this.#running]) handle.cancel();
  }

  /**
   * Closes the set: cancels every running task and discards unjoined results. Idempotent;
   * later `spawn` calls throw ClosedError. Tasks whose `finally` awaits finish afterwards.
   *
   * @example
   * ```ts
   * const set = new JoinSet(); try { ... } finally { set.close(); }
   * ```
   */
  close(): void {
    this.#closed = true;
    this.#finished.clear();
    this.abortAll();
  }

  /**
   * Same as `close()`, for `using set = new JoinSet()`.
   *
   * @example
   * ```ts
   * { using set = new JoinSet(); set.spawn(work()); } // work() is cancelled here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Closes the set and completes once every task in it has finished (cancelled tasks included,
   * with their awaiting `finally` blocks).
   *
   * @example
   * ```ts
   * yield* set.shutdown(); // nothing of the set is still running
   * ```
   */
  shutdown(): Future<void> {
    this.close();
    return new Drained(this);
  }

  /** @internal Takes the next finished outcome, or registers `waker` for the next one. */
  _next(waker: Waker | null): TaskOutcome<T> | null | typeof PENDING {
    if (this.#finished.length > 0) return this.#finished.shift();
    if (this.#running.size === 0) return null;
    if (waker !== null) this.#wakers.add(waker);
    return PENDING;
  }

  /** @internal */
  _forget(waker: Waker): void {
    this.#wakers.delete(waker);
  }
}

/** The future of `joinNext()`. */
class JoinNext<T> extends Future<T | undefined> {
  #waker: Waker | null = null;
  constructor(private readonly set: JoinSet<T>) {
    super();
  }
  poll(cx: Context): Poll<T | undefined> {
    const outcome = this.set._next(cx.waker);
    if (outcome === PENDING) {
      this.#waker = cx.waker;
      return PENDING;
    }
    this.#waker = null;
    if (outcome === null) return undefined;
    if (outcome.kind === 'error') throw outcome.error;
    return (outcome as { value: T }).value;
  }
  override drop(): void {
    if (this.#waker !== null) this.set._forget(this.#waker);
  }
}

/** The future of `shutdown()`: ready once the (closed) set has no running task. */
class Drained<T> extends Future<void> {
  #waker: Waker | null = null;
  constructor(private readonly set: JoinSet<T>) {
    super();
  }
  poll(cx: Context): Poll<void> {
    // A closed set keeps no results, so _next only ever reports "empty" or "pending".
    if (this.set._next(cx.waker) === PENDING) {
      this.#waker = cx.waker;
      return PENDING;
    }
    return undefined;
  }
  override drop(): void {
    if (this.#waker !== null) this.set._forget(this.#waker);
  }
}
