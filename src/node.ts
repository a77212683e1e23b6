// Running inside Node's event loop, and the bridges between Promises and futures. libuv watches
// the executor's epoll fd with one uv_poll_t (the addon's attach()); when it is readable Node
// calls in and the executor runs one non-blocking turn. Timers become one libuv timer, and a
// wake that happens outside a turn (a Promise callback) schedules a turn with setImmediate, as
// does work that ends outside a turn (a cancel from plain code), to re-check the keep-alive.
import { ClosedError, StateError } from './errors.js';
import { Executor } from './executor.js';
import { defaultExecutorForThread } from './default_executor.js';
import { Future, PENDING, type Context, type Poll, type Waker } from './future.js';
import { JoinHandle } from './join_handle.js';
import { describe, toFuture, type Awaitable } from './task.js';

/**
 * Thrown by `fromPromise()` awaited in an executor that Node's loop does not drive (inside
 * `blockOn`): Promise continuations run only between Node's callbacks, so it could never settle.
 *
 * @example
 * ```ts
 * try { yield* fromPromise(p); } catch (e) { if (e instanceof NotAttachedError) console.error(e.message); }
 * ```
 */
export class NotAttachedError extends Error {
  override name = 'NotAttachedError';
  readonly code = 'ERR_NOT_ATTACHED';
}

/** The longest delay setTimeout takes (a signed 32-bit number of ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The link between an executor and Node's event loop, made by {@link attach}. `detach()` returns
 * the executor to the plain state (blockOn/turn work again; its tasks stay where they are).
 *
 * While attached:
 * - the epoll fd is a libuv `uv_poll_t`: when it is readable Node calls in and one non-blocking
 *   turn runs (events and due timers first, then the tasks they woke);
 * - the earliest timer deadline is one Node timer, re-armed only when that deadline changes;
 * - a task woken outside a turn (by a Promise callback, a Node event handler, `spawn()` from
 *   plain code) gets a turn through `setImmediate`, and so does a turn that ended with tasks
 *   still ready (a turn runs the tasks ready at its start, then those they wake while the work
 *   stays under about one task budget, then lets Node's loop go on): the epoll fd will not
 *   become readable for them;
 * - a wake from another thread (`notifyBlocker`) makes the epoll fd readable;
 * - the uv handle keeps the process alive only while the executor has tasks, registered
 *   sources (sockets, listeners), timers or cross-thread waiters, so a program ends by itself
 *   once its work is done, also when plain Node code ends it (`JoinHandle.cancel()`, closing a
 *   listener): such a change gets a `setImmediate` that re-checks. A task that waits for
 *   something that never comes keeps it alive;
 * - while failures of unjoined tasks remain to be reported (one per turn with the default
 *   'throw' policy, each through Node's uncaught-exception path), another turn is scheduled.
 *
 * @example
 * ```ts
 * const attachment = attach();
 * const value = await toPromise(main());
 * attachment.detach();
 * ```
 */
export class Attachment {
  /** The attached executor. */
  readonly executor: Executor;
  #detached = false;
  /** The Node timer for the earliest deadline, and that deadline (Infinity: none armed). */
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerDeadline = Infinity;
  #immediate: ReturnType<typeof setImmediate> | null = null;
  /** The uv handle's ref state as last set (null: not set yet). */
  #keepAlive: boolean | null = null;

  /** Use {@link attach}; the checks are here so that `new Attachment()` makes the same ones. */
  constructor(executor: Executor) {
    if (!(executor instanceof Executor)) throw new TypeError(`attach(executor): executor must be an Executor, got ${describe(executor)}`);
    if (executor.closed) throw new ClosedError('attach(): the executor');
    if (executor.attached) {
      throw new StateError('attach(): this executor is already attached to Node\'s loop; call detach() on the Attachment first');
    }
    this.executor = executor;
    const blocker = executor.reactor.blocker;
    if (blocker.backend !== 'epoll' || blocker.attach === undefined) {
      throw new StateError(
        `attach() needs the epoll backend (this executor uses '${blocker.backend}'): create it with new Executor({ backend: 'epoll' })`,
      );
    }
    executor._setAttached(true);
    try {
      blocker.attach(this.#turn);
    } catch (error) {
      executor._setAttached(false);
      throw error;
    }
    executor._setOutsideTurnHook(this.#changedOutsideTurn);
    // Tasks spawned before attach() are queued already: give them their first turn.
    if (executor.hasReadyTasks) this.#scheduleImmediate();
    this.#afterTurn();
  }

  /** True once `detach()` ran (or the executor was closed). */
  get detached(): boolean {
    return this.#detached;
  }

  /**
   * Stops running the executor from Node's loop: the uv handle, timer and pending immediate go
   * away. Idempotent; may be called from inside one of its tasks (tasks it wakes afterwards are
   * left queued, not run by the current turn).
   *
   * @example
   * ```ts
   * attachment.detach();
   * executor.blockOn(finish()); // the plain state again
   * ```
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const executor = this.executor;
    executor._setOutsideTurnHook(null);
    executor._setAttached(false);
    executor.reactor.blocker.detach?.();
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = this.#immediate = null;
    this.#timerDeadline = Infinity;
  }

  /** One non-blocking turn, from uv_poll (the epoll fd is readable), the timer or an immediate. */
  readonly #turn = (): void => {
    if (this.#detached) return;
    if (this.executor.closed) return this.detach();
    try {
      this.executor._turnAttached(); // an UnhandledTaskError goes on to Node's uncaught path
    } finally {
      this.#afterTurn();
    }
  };

  readonly #onTimer = (): void => {
    this.#timer = null; // spent: #afterTurn arms the next one (again if it fired early)
    this.#turn();
  };

  readonly #onImmediate = (): void => {
    this.#immediate = null;
    // A uv_poll turn may have run the woken tasks already; then only the keep-alive is re-checked.
    if (this.#hasTurnWork()) this.#turn();
    else this.#afterTurn();
  };

  /** A wake, or work that may have ended, outside a turn (or the executor closed). */
  readonly #changedOutsideTurn = (): void => {
    if (this.#detached) return;
    if (this.executor.closed) return this.detach();
    this.#scheduleImmediate(); // the immediate keeps Node's loop alive until it re-checks
  };

  /** Tasks are ready, or failures wait to be reported (one per turn under the 'throw' policy). */
  #hasTurnWork(): boolean {
    return this.executor.hasReadyTasks || this.executor._hasUnreportedErrors;
  }

  #scheduleImmediate(): void {
    if (this.#immediate === null) this.#immediate = setImmediate(this.#onImmediate);
  }

  #afterTurn(): void {
    if (this.#detached) return;
    const executor = this.executor;
    if (executor.closed) return this.detach();
    if (this.#hasTurnWork()) this.#scheduleImmediate();
    const deadline = executor.nextDeadline;
    if (deadline !== this.#timerDeadline || (this.#timer === null && deadline !== Infinity)) this.#armTimer(deadline);
    const reactor = executor.reactor;
    this.#setKeepAlive(executor.taskCount > 0 || executor.timers.size > 0 || reactor.hasWaiters);
  }

  #armTimer(deadline: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerDeadline = deadline;
    if (deadline === Infinity) return;
    // Node timers have 1 ms steps and may fire a little early; a sleep never ends early, so an
    // early firing just re-arms for the rest. That also covers deadlines past setTimeout's limit
    // of 2^31-1 ms (~24.8 days), which Node would otherwise turn into 1 ms, with a warning.
    const delay = Math.min(Math.max(1, Math.ceil(deadline - performance.now())), MAX_TIMER_MS);
    this.#timer = setTimeout(this.#onTimer, delay);
    this.#timer.unref(); // the uv_poll handle's ref state decides whether the process stays
  }

  #setKeepAlive(keepAlive: boolean): void {
    if (keepAlive === this.#keepAlive || this.executor.closed) return; // one N-API call per change
    this.#keepAlive = keepAlive;
    this.executor.reactor.blocker.ref!(keepAlive);
  }
}

/**
 * Runs `executor` (default: this thread's default executor, the one `spawn()` and `blockOn()`
 * use) inside Node's event loop, next to Node's own timers, sockets, Promises and `node:http`.
 * Needs the epoll backend. Throws if the executor is already attached, closed, or if it is the
 * one whose task is calling. `blockOn()` and `turn()` on an attached executor throw.
 *
 * @example
 * ```ts
 * const attachment = attach();
 * spawn(echoServer('127.0.0.1', 7000));        // runs while Node runs
 * http.createServer(handler).listen(8080);     // in the same process
 * ```
 */
export function attach(executor: Executor = defaultExecutorForThread()): Attachment {
  return new Attachment(executor);
}

/**
 * Runs `task` on an executor (the running one, else this thread's default) and returns a Promise
 * of its value; it rejects with the task's own error (same object, same stack), or with
 * `CancelledError` if the task is cancelled (also when its executor closes before it ran).
 * Given a `JoinHandle`, it follows that task where it runs (`executor` is then not used): it
 * counts as joining it at once, and settles when the task ends, at once if it has ended. The
 * Promise settles once the executor runs the task: when it is attached, or inside `blockOn`
 * (then its callbacks run after blockOn returns). Throws, as `spawn` does, for bad arguments and
 * for an executor already closed (`ClosedError`).
 *
 * @example
 * ```ts
 * attach();
 * const reply = await toPromise(fetchOverWakeloop(url)); // in an ordinary async function
 * ```
 */
export function toPromise<T>(task: Awaitable<T>, executor?: Executor): Promise<T> {
  const future = toFuture(task, 'toPromise()');
  if (executor !== undefined && !(executor instanceof Executor)) {
    throw new TypeError('toPromise(task, executor): executor must be an Executor');
  }
  // Settled from the task's end as the executor records it: a task cancelled before its first
  // step never runs its body, so a `finally` inside it could not settle anything. A handle is
  // not awaited by a task of its own: that task could be cancelled first (by a close()), and
  // would leave the handle's task unjoined until it ran.
  const handle = task instanceof JoinHandle ? task : (executor ?? Executor.tryCurrent() ?? defaultExecutorForThread()).spawn(future);
  return new Promise<T>((resolve, reject) => {
    handle._onComplete((failed, result) => (failed ? reject(result) : resolve(result as T)));
  });
}

/**
 * A future of a Promise (or any thenable): `yield*` gives its value, or throws its rejection
 * (the same error object). Only in an attached executor: awaited inside `blockOn` it throws
 * {@link NotAttachedError}, since Promise callbacks cannot run there. It subscribes to the
 * Promise at once, so a rejection that comes before the first poll is kept for it, not reported
 * as unhandled by Node (as `await` in an async function would catch it). Dropping it (cancelling
 * the task) drops the waker: the settlement wakes nothing; awaited again, it gives the outcome.
 * Its callbacks stay on the Promise until it settles, as `Promise.race`'s do: a loop that races
 * a Promise that never settles should make one future of it, not one per round.
 *
 * @example
 * ```ts
 * const text = yield* fromPromise(fs.promises.readFile(path, 'utf8'));
 * ```
 */
export function fromPromise<T>(promise: PromiseLike<T>): Future<T> {
  if (typeof (promise as PromiseLike<T> | null)?.then !== 'function') {
    throw new TypeError('fromPromise(promise): expected a Promise or a thenable');
  }
  return new PromiseFuture(promise);
}

class PromiseFuture<T> extends Future<T> {
  #state: 'waiting' | 'fulfilled' | 'rejected' = 'waiting';
  #result: unknown = undefined;
  #waker: Waker | null = null;

  constructor(promise: PromiseLike<T>) {
    super();
    // Promise.resolve adopts a thenable without calling its `then` synchronously.
    Promise.resolve(promise).then(
      (value) => this.#settle('fulfilled', value),
      (error: unknown) => this.#settle('rejected', error),
    );
  }

  poll(cx: Context): Poll<T> {
    if (this.#state === 'fulfilled') return this.#result as T;
    if (this.#state === 'rejected') throw this.#result;
    if (!Executor.current().attached) {
      throw new NotAttachedError(
        'fromPromise(): the executor is not attached. Promise continuations cannot run inside blockOn (Node runs them only between its own callbacks, ' +
          'and blockOn holds the thread), so this Promise could never settle here. Run the executor inside Node\'s loop ' +
          'with attach(), or await a wakeloop future instead',
      );
    }
    this.#waker = cx.waker;
    return PENDING;
  }

  override drop(): void {
    this.#waker = null;
  }

  /** The Promise settled (in a microtask, outside any turn). */
  #settle(state: 'fulfilled' | 'rejected', result: unknown): void {
    if (result === PENDING && state === 'fulfilled') {
      state = 'rejected';
      result = new TypeError('fromPromise(): the promise resolved to PENDING, which is not a value but what poll() returns for "not ready yet"');
    }
    this.#state = state;
    this.#result = result;
    const waker = this.#waker;
    this.#waker = null;
    waker?.wake(); // outside a turn: the attachment schedules one
  }
}
