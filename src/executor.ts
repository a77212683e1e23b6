// The executor: a run queue of tasks, each polled until it is pending, and a loop that blocks in
// the kernel (through the reactor) only when no task is ready.
import { coop, TASK_BUDGET } from './_coop.js';
import { CancelledError, ClosedError, StateError } from './errors.js';
import { PENDING, type Context, type Future } from './future.js';
import { JoinHandle, TaskCell } from './join_handle.js';
import { Reactor, EVENT_CAPACITY } from './reactor.js';
import { GenFuture, takeFuture, type Awaitable } from './task.js';
import { TimerHeap } from './time/_timer_heap.js';
import { Deque } from './_deque.js';
import { checkBackend, checkDuration, checkOptions } from './_validate.js';
import { UnhandledErrors, type UnhandledErrorPolicy } from './unhandled_errors.js';

/**
 * Options for `new Executor()`.
 *
 * @example
 * ```ts
 * const executor = new Executor({ backend: 'poll', onUnhandledError: 'warn' });
 * ```
 */
export interface ExecutorOptions {
  /** 'epoll' (Linux) or the portable 'poll'; default (also for null): `WAKELOOP_BACKEND` or 'epoll'. */
  backend?: 'epoll' | 'poll';
  /**
   * An error in a spawned task whose JoinHandle was never awaited is, by default, thrown out of
   * `blockOn`/`turn` as an `UnhandledTaskError` (failing the program, like an unhandled
   * rejection). 'warn' prints it with its stack and goes on; a function receives it.
   */
  onUnhandledError?: UnhandledErrorPolicy;
}

/** The executor polling tasks on this thread right now, if any. */
let running: Executor | null = null;

/** How an error of a cancelled task's cleanup is reported when it cannot be the task's own. */
const CLEANUP_FAILED = "a cancelled task's cleanup threw";
/** How an error of a dropped future's cleanup is reported while its task was not cancelled. */
const DROPPED_CLEANUP_FAILED = "a dropped future's cleanup threw";

/**
 * Runs tasks on one thread. `blockOn` drives it until a main task completes; `turn` runs one
 * iteration for hosts that drive the loop themselves.
 *
 * While `blockOn` runs, Node's own loop does not: no Promise continuations, Node timers or
 * callbacks run until it returns. wakeloop provides its own timers, I/O and signals.
 *
 * @example
 * ```ts
 * const executor = new Executor();
 * const answer = executor.blockOn(function* () { yield* sleep(10); return 42; }());
 * ```
 */
export class Executor {
  /** @internal */
  readonly reactor: Reactor;
  /** @internal */
  readonly timers = new TimerHeap(() => this.#changed());
  readonly #unhandled: UnhandledErrors;
  /** Tasks woken and waiting to be polled (a ring: queueing allocates nothing once it is big enough). */
  readonly #queue = new Deque<TaskCell<unknown>>();
  #live = new Set<TaskCell<unknown>>();
  #current: TaskCell<unknown> | null = null;
  #pendingCancel: TaskCell<unknown> | null = null;
  #inTurn = false;
  #closed = false;
  /** A full events array means more may be waiting: poll again without blocking. */
  #moreEvents = false;
  /** Task polls plus budget spent since the kernel was last asked for events (see #poll). */
  #workSinceIo = 0;
  /**
   * Called when, while no turn runs, a task is woken or work may have ended (a task completed,
   * a timer or a registration was removed), or the executor closed: the attached mode schedules
   * a turn or re-checks whether to keep the process alive.
   */
  #onOutsideTurn: (() => void) | null = null;
  /** What #enter replaced, put back by #leave (close() may run inside another executor's turn). */
  #outerRunning: Executor | null = null;
  #outerFinishDropped: (future: Future<unknown>) => void = coop.finishDropped;
  #outerCx: Context | null = null;
  #outerHoldsThread = false;
  /** Set while node.ts attach() drives this executor from Node's loop: blockOn/turn refuse then. */
  #attached = false;
  /** Set by close() while it cancels: a task spawned meanwhile (by a `finally`) is cancelled at once. */
  #closing = false;

  constructor(options: ExecutorOptions = {}) {
    checkOptions('new Executor()', options, ['backend', 'onUnhandledError']);
    const { onUnhandledError = 'throw' } = options;
    const backend = options.backend ?? undefined; // null too means the default
    if (backend !== undefined) checkBackend('new Executor()', backend);
    this.#unhandled = new UnhandledErrors(onUnhandledError);
    this.reactor = new Reactor(backend, () => this.#changed());
  }

  /** The executor polling a task on this thread; throws outside one. */
  static current(): Executor {
    if (running === null) {
      throw new StateError('no wakeloop executor is running on this thread: call this from a task (blockOn or spawn)');
    }
    return running;
  }

  /** The executor polling a task on this thread, or null. */
  static tryCurrent(): Executor | null {
    return running;
  }

  /** 'epoll' or 'poll'. */
  get backend(): string {
    return this.reactor.blocker.backend;
  }

  /** Tasks spawned and not yet completed, with the cleanup tasks of futures they dropped. */
  get taskCount(): number {
    return this.#live.size;
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts a task; it runs when the executor next turns. A future that already gave its value
   * to a `yield*` is refused with a TypeError.
   *
   * @example
   * ```ts
   * const handle = executor.spawn(serve(stream));
   * ```
   */
  spawn<T>(task: Awaitable<T>): JoinHandle<T> {
    if (this.#closed) throw new ClosedError('Executor');
    const cell = this.#start(takeFuture(task, 'spawn()'));
    if (this.#closing) this._cancel(cell); // as tokio drops a task spawned during shutdown
    return new JoinHandle(cell);
  }

  #start<T>(future: Future<T>): TaskCell<T> {
    const cell = new TaskCell<T>(this, future);
    this.#live.add(cell);
    cell.wake();
    return cell;
  }

  /**
   * Runs `main` to completion, with every task it spawns, and returns its value (or throws its
   * error). Owns the thread meanwhile. Throws ClosedError once the executor was closed. If it
   * throws before `main` completed (an `UnhandledTaskError`), `main` is cancelled.
   *
   * @example
   * ```ts
   * executor.blockOn(main());
   * ```
   */
  blockOn<T>(main: Awaitable<T>): T {
    if (this.#closed) throw new ClosedError('Executor');
    this.#refuseAttached('blockOn');
    if (this.#inTurn || running !== null) {
      throw new StateError('blockOn() cannot be called from inside a running task: use yield* or spawn()');
    }
    const root = this.#start(takeFuture(main, 'blockOn()'));
    root.observed = true;
    try {
      for (;;) {
        this.#enter();
        try {
          this.#runReady();
          if (root.done) break;
          this.#unhandled.report();
          const timeout = this.#nextTimeout(-1);
          if (timeout === -1 && !this.reactor.hasWaiters) {
            throw new Error(`blockOn(): the main task is pending, but nothing can wake it (no ready task, ${this.#timersText}, I/O or signal)`);
          }
          this.#poll(timeout);
        } finally {
          this.#leave();
        }
      }
    } finally {
      // Thrown out before main completed (an unhandled task error): main is cancelled, so it
      // does not run on, unobserved, in a later blockOn() or turn(). Nobody will await it: an
      // error from its cleanup is reported like any unjoined task's.
      if (!root.done) {
        root.observed = false;
        this._cancel(root);
      }
    }
    this.#unhandled.report();
    if (root.failed) throw root.result;
    return root.result as T;
  }

  /**
   * One iteration of the loop: runs the tasks ready now, waits for I/O up to `timeoutMs` (0 = do
   * not block, -1 = until something happens; shortened by timers and by tasks left ready), then
   * wakes what the events and timers concern. Returns true if tasks remain. With no task left it
   * does not block; with tasks that nothing can wake (no timer, I/O or signal) `-1` throws, as
   * `blockOn` does, rather than hang. Throws a RangeError for any other negative or an infinite
   * `timeoutMs`. While tasks are left ready after little
   * work, it skips the I/O poll and only fires due timers (at most about one task budget of work
   * passes between two polls).
   *
   * @example
   * ```ts
   * while (executor.turn(-1)) {} // run until every task is done, sleeping while they wait
   * ```
   */
  turn(timeoutMs = 0): boolean {
    checkTurnTimeout(timeoutMs);
    this.#refuseAttached('turn');
    if (this.#inTurn || running !== null) throw new StateError('Executor.turn() cannot be called from inside a task');
    if (this.#closed) throw new ClosedError('Executor');
    this.#enter();
    try {
      this.#runReady();
      this.#unhandled.report();
      const timeout = this.#nextTimeout(timeoutMs);
      if (timeout === -1 && this.#live.size > 0 && !this.reactor.hasWaiters) {
        throw new Error(`Executor.turn(-1): tasks are pending, but nothing can wake them (no ready task, ${this.#timersText}, I/O or signal)`);
      }
      this.#poll(timeout === -1 && this.#live.size === 0 ? 0 : timeout); // nothing left to wait for
    } finally {
      this.#leave();
    }
    return this.#live.size > 0;
  }

  /** True if a task is queued to run. */
  get hasReadyTasks(): boolean {
    return this.#queue.length > 0;
  }

  /** The next timer deadline (performance.now() ms), or Infinity. */
  get nextDeadline(): number {
    return this.timers.nextDeadline;
  }

  /**
   * Cancels every task (running their `finally` blocks), then closes the blocker. A task spawned
   * meanwhile (by a `finally`) is cancelled before it runs. Tasks whose cleanup still awaits
   * after the ready ones ran are abandoned, their handles settled with `CancelledError` (a task
   * whose own code had ended and that waited only for the cleanup of futures it dropped keeps
   * its value or error). An attachment is detached. Last, the errors nobody joined (a `finally`
   * that threw, failures still queued from the last turn) go to the `onUnhandledError` policy,
   * since no turn follows: with 'throw', close() throws one `UnhandledTaskError` for all of
   * them once the executor is closed.
   */
  close(): void {
    if (this.#closed) return;
    if (this.#inTurn) throw new StateError('Executor.close() cannot be called from inside a task');
    this.#closing = true;
    for (const task of [...this.#live]) this._cancel(task);
    this.#enter();
    try {
      for (let i = 0; i < 100 && this.hasReadyTasks; i++) {
        this.#runReady();
        this.#wait(0);
      }
      // Tasks whose cleanup still waits (a `finally` that sleeps) are given up: their handles
      // settle, so a joiner or a toPromise() is not left waiting for good. One whose own code
      // ended keeps its outcome; the others end cancelled, and #settle reports an error a
      // cleanup task already handed them, since nobody will settle with it.
      for (const task of [...this.#live]) {
        if (task.done) continue;
        if (task.future !== null) this.#rootEnded(task, new CancelledError(), true);
        this.#settle(task);
      }
    } finally {
      this.#leave();
    }
    this.#closed = true;
    this.#live.clear();
    this.reactor.close(); // also stops an attached uv_poll_t
    this.#attached = false;
    const hook = this.#onOutsideTurn;
    this.#onOutsideTurn = null;
    hook?.(); // an attachment detaches now (its timer and immediate go away)
    this.#unhandled.reportAll();
  }

  /** @internal The attached mode learns of wakes and of work that ends outside a turn. */
  _setOutsideTurnHook(hook: (() => void) | null): void {
    this.#onOutsideTurn = hook;
  }

  /** @internal True while failures of unjoined tasks wait to be reported by a turn. */
  get _hasUnreportedErrors(): boolean {
    return this.#unhandled.pending;
  }

  /**
   * @internal Reports an error nobody can handle (a dropped future's cleanup threw) through the
   * unhandled-error policy, at the end of the turn; `context` starts its message.
   */
  _reportUnhandled(error: unknown, context: string): void {
    this.#unhandled.addError(error, context);
    this.#changed();
  }

  /** True while `attach()` (node.ts) runs this executor inside Node's event loop. */
  get attached(): boolean {
    return this.#attached;
  }

  /** @internal node.ts marks the executor attached (Node's loop drives it) or plain again. */
  _setAttached(attached: boolean): void {
    if (attached && this.#inTurn) throw new StateError('attach(): the executor cannot attach itself from inside one of its tasks');
    this.#attached = attached;
  }

  /**
   * @internal The attached mode's turn, called from a Node callback (uv_poll, timer, immediate):
   * collects events and due timers first (the epoll fd was readable, or a timer fired), then
   * runs what they woke, so one wake-up from libuv serves a whole batch, and what those tasks
   * wake while the work stays under one task budget. Never blocks.
   */
  _turnAttached(): void {
    if (this.#inTurn || running !== null) throw new StateError('the attached executor was turned from inside a task');
    if (this.#closed) throw new ClosedError('Executor');
    this.#enter();
    try {
      this.#poll(0); // if skipped while the epoll fd is readable, libuv calls again (level-triggered)
      this.#runReady();
      // Tasks woken by that run go on in this turn while the work stays under one budget, as in
      // #poll: each further round would cost a setImmediate and a whole libuv iteration. A task
      // that detached the executor ends the loop: Node's loop no longer drives it.
      while (this.#attached && this.#ioCanWait) this.#runReady();
      this.#unhandled.report();
    } finally {
      this.#leave();
    }
  }

  #refuseAttached(what: string): void {
    if (this.#attached) {
      throw new StateError(
        `Executor.${what}(): this executor is attached to Node's event loop, which drives it; ` +
          'await toPromise(task) instead, or detach() first',
      );
    }
  }

  /** @internal Queues a woken task. */
  _schedule(task: TaskCell<unknown>): void {
    this.#queue.push(task);
    this.#changed();
  }

  /** Something that may start or end work happened: tells the attachment if no turn runs. */
  #changed(): void {
    if (!this.#inTurn) this.#onOutsideTurn?.();
  }

  /** @internal True while `task` cancelled itself and its poll has not returned yet. */
  _cancelPending(task: TaskCell<unknown>): boolean {
    return this.#pendingCancel === task;
  }

  /** @internal */
  _cancel(task: TaskCell<unknown>): void {
    // Once the root ended, only cleanup of dropped futures is left, itself a cancellation; so
    // is a cleanup task's root (retired): either runs on until close() gives up on it.
    if (task.done || task.cancelled || task.future === null || task.future._isRetired()) return;
    if (task === this.#current) {
      this.#pendingCancel = task; // a task cancelling itself: done once its poll returns
      return;
    }
    task.cancelled = true;
    // From plain code, the task's `finally` blocks run now, as they would inside a turn: a
    // blockOn() or turn() there would poll the task halfway through its cancel. From another
    // executor's task (this one's turn further down the stack, or none), this one runs meanwhile.
    const outside = !this.#inTurn;
    const other = running;
    if (outside) this.#enter();
    else running = this;
    try {
      if (!this.#beginCancel(task)) this.#settle(task);
      else if (task.future !== null) task.wake(); // its finally awaits: keep polling it to the end
    } finally {
      if (outside) {
        this.#leave();
        this.#changed(); // what the cancel woke or ended, the attached mode hears of now
      } else {
        running = other;
      }
    }
  }

  /**
   * Starts cancelling a task's root future; true if cleanup awaits, and the task is then polled
   * until that is done. A generator root runs its own `finally` blocks; any other root (a
   * scope, a select) is dropped. Either way, futures dropped on the way whose cleanup awaits
   * become the task's to finish (see #adopt), whichever task or executor runs now. Once the root
   * ended (here, or in a later poll of its `finally`), its outcome waits in the task.
   */
  #beginCancel(task: TaskCell<unknown>): boolean {
    const root = task.future!;
    const outer = coop.finishDropped;
    const outerCx = coop.cx;
    coop.finishDropped = (cleanup) => this.#adopt(task, cleanup);
    coop.cx = null; // a cancel from inside a task's step: the cleanup is not that task's
    try {
      if (root instanceof GenFuture) {
        root._retire(); // a generator runs once: its future cannot be awaited after the cancel
        if (root.beginCancel()) return true;
      } else {
        root._dropClaimed();
      }
      this.#rootEnded(task, undefined, false);
    } catch (error) {
      this.#rootEnded(task, error, true);
    } finally {
      coop.finishDropped = outer;
      coop.cx = outerCx;
    }
    return task.future !== null || this.#cleanupsLeft(task);
  }

  #cleanupsLeft(task: TaskCell<unknown>): boolean {
    return task.cleanups !== null && task.cleanups.left > 0;
  }

  /**
   * A dropped future's cleanup awaits (a generator's `finally`, a scope's children): it becomes
   * a cleanup task of the task running now (#adopt). Every drop inside a turn happens in a
   * task's poll or in a cancel, which sets its own hook; a cleanup task of its own is the
   * fallback.
   */
  readonly #finishDropped = (future: Future<unknown>): void => {
    const task = this.#current;
    if (task !== null) return this.#adopt(task, future);
    this.#startCleanup(future).onComplete = (failed, error) => {
      if (failed && !(error instanceof CancelledError)) this._reportUnhandled(error, DROPPED_CLEANUP_FAILED);
    };
  };

  /**
   * Starts a task finishing a dropped future's `cleanup` (retired: only this task polls it),
   * whose failure is reported as a cleanup's, not as that of a task nobody joined.
   */
  #startCleanup(cleanup: Future<unknown>): TaskCell<unknown> {
    cleanup._retire(); // cancelled, and finished by the cleanup task alone
    const cell = this.#start(cleanup);
    cell.observed = true;
    return cell;
  }

  /**
   * Runs `cleanup` as a task of its own (its own budget and waker, so it is polled when it is
   * woken, as any task), which `task` waits for: `task` settles only after its last cleanup
   * task, so whatever waits for `task` (a joiner, a scope, a JoinSet) waits for the cleanup
   * too. A cleanup's error is the task's if the task was cancelled (as a `finally`'s would be),
   * else reported as unhandled: the task went on without the dropped future.
   */
  #adopt(task: TaskCell<unknown>, cleanup: Future<unknown>): void {
    this.#startCleanup(cleanup).owner = task; // its end is reported to its owner (#cleanupEnded)
    (task.cleanups ??= { left: 0, failure: null }).left++;
  }

  /** A cleanup task ended: its error goes to its owner or to the policy; the owner may settle. */
  #cleanupEnded(owner: TaskCell<unknown>, failed: boolean, error: unknown): void {
    const cleanups = owner.cleanups!;
    if (failed && !(error instanceof CancelledError)) {
      if (owner.cancelled && cleanups.failure === null) cleanups.failure = { error };
      else this._reportUnhandled(error, owner.cancelled ? CLEANUP_FAILED : DROPPED_CLEANUP_FAILED);
    }
    cleanups.left--;
    if (cleanups.left === 0 && owner.future === null && !owner.done) this.#settle(owner);
  }

  #enter(): void {
    this.#inTurn = true;
    this.#outerRunning = running;
    this.#outerFinishDropped = coop.finishDropped;
    // Entered from inside another executor's task (a close() or a cancel there), this
    // executor's tasks must not poll with that task's context (see Future.next).
    this.#outerCx = coop.cx;
    running = this;
    coop.finishDropped = this.#finishDropped;
    coop.cx = null;
    this.#outerHoldsThread = coop.holdsThread;
    coop.holdsThread = !this.#attached;
  }

  #leave(): void {
    this.#inTurn = false;
    running = this.#outerRunning;
    coop.finishDropped = this.#outerFinishDropped;
    coop.cx = this.#outerCx;
    coop.holdsThread = this.#outerHoldsThread;
    this.#outerRunning = null;
    this.#outerCx = null;
  }

  /** Runs the tasks queued when it starts; tasks woken meanwhile wait for the next turn. */
  #runReady(): void {
    for (let n = this.#queue.length; n > 0; n--) {
      const task = this.#queue.shift();
      task.queued = false;
      if (task.done) continue;
      this.#runTask(task);
      this.#workSinceIo += 1 + TASK_BUDGET - Math.max(coop.budget, 0);
    }
  }

  #runTask(task: TaskCell<unknown>): void {
    coop.budget = TASK_BUDGET;
    const future = task.future;
    if (future === null) return; // only its cleanup tasks are left
    this.#current = task;
    let value: unknown;
    try {
      value = future.poll(task);
    } catch (error) {
      this.#current = null;
      future._gaveValue();
      this.#endRoot(task, error, true);
      return;
    }
    this.#current = null;
    if (value !== PENDING) {
      future._gaveValue();
      this.#endRoot(task, value, false);
    } else if (this.#pendingCancel === task) {
      this.#pendingCancel = null;
      this._cancel(task);
    }
  }

  /** The root ended in a poll: the task settles, unless cleanup tasks are left (#cleanupEnded). */
  #endRoot(task: TaskCell<unknown>, value: unknown, failed: boolean): void {
    this.#rootEnded(task, value, failed);
    if (!this.#cleanupsLeft(task)) this.#settle(task);
  }

  /** Keeps the root's outcome in the task until it settles. */
  #rootEnded(task: TaskCell<unknown>, value: unknown, failed: boolean): void {
    if (this.#pendingCancel === task) this.#pendingCancel = null; // it ended first
    task.future = null;
    task.result = value;
    task.failed = failed;
  }

  /**
   * The root ended and no cleanup task is left: the task completes with the root's outcome, or,
   * if it was cancelled and ended without an error of its own, with the first error its cleanup
   * threw.
   */
  #settle(task: TaskCell<unknown>): void {
    const kept = task.cleanups?.failure ?? null;
    if (kept !== null) {
      if (task.failed) {
        this._reportUnhandled(kept.error, CLEANUP_FAILED);
      } else {
        this.#complete(task, kept.error, true);
        return;
      }
    }
    this.#complete(task, task.result, task.failed);
  }

  #complete(task: TaskCell<unknown>, value: unknown, failed: boolean): void {
    if (this.#pendingCancel === task) this.#pendingCancel = null;
    if (task.cancelled && !failed) {
      value = new CancelledError();
      failed = true;
    }
    task.done = true;
    task.future = null;
    task.cleanups = null;
    task.failed = failed;
    task.result = value;
    this.#live.delete(task);
    const owner = task.owner;
    if (owner !== null) {
      task.owner = null;
      if (!owner.done) this.#cleanupEnded(owner, failed, value);
    }
    task.onComplete?.(failed, value);
    const joiners = task.joiners;
    if (joiners !== null && joiners.size > 0) {
      joiners.wakeAll();
    } else if (failed && !task.observed && !(value instanceof CancelledError)) {
      this.#unhandled.add(task);
    }
    this.#changed(); // outside a turn (a cancel from plain code) this may end the work
  }

  /** For "nothing can wake it": timers there may be, if every one is a sleepUntil(Infinity). */
  get #timersText(): string {
    return this.timers.size > 0 ? 'timer but those at Infinity' : 'timer';
  }

  /** The block() timeout: 0 if tasks are ready, else up to the next timer, capped by `limit`. */
  #nextTimeout(limit: number): number {
    if (this.hasReadyTasks || this.#moreEvents) return 0;
    const deadline = this.timers.nextDeadline;
    if (deadline === Infinity) return limit;
    const untilTimer = Math.max(0, deadline - performance.now());
    return limit === -1 ? untilTimer : Math.min(limit, untilTimer);
  }

  /**
   * The loop's step between two runs of the ready tasks: usually #wait. But while tasks are
   * ready and the work done since the last look at the kernel is under one task budget, they
   * run again first and only due timers fire: tasks that wake each other (channels, a mutex)
   * then cost no epoll_wait per turn, and I/O waits for at most one budget of work (tokio's
   * event_interval does the same, counted in polls). yieldNow() spends the whole budget, so it
   * always lets the kernel be asked.
   */
  #poll(timeoutMs: number): void {
    if (this.#ioCanWait) {
      if (this.timers.size > 0) this.timers.fire(performance.now());
      return;
    }
    this.#wait(timeoutMs);
  }

  /**
   * Tasks are ready, less than one task budget of work was done since the kernel was last asked,
   * and that ask left no events waiting: the tasks may run again first (see #poll).
   */
  get #ioCanWait(): boolean {
    return this.hasReadyTasks && this.#workSinceIo < TASK_BUDGET && !this.#moreEvents;
  }

  #wait(timeoutMs: number): void {
    this.#workSinceIo = 0;
    const n = this.reactor.block(timeoutMs);
    this.#moreEvents = n === EVENT_CAPACITY;
    if (this.timers.size > 0) this.timers.fire(performance.now());
  }
}

/** turn()'s timeout: -1 (until something happens) or a finite number of ms >= 0. */
function checkTurnTimeout(timeoutMs: unknown): void {
  if (timeoutMs === -1) return;
  if (typeof timeoutMs === 'number' && (timeoutMs < 0 || timeoutMs === Infinity)) {
    throw new RangeError(
      `Executor.turn(): timeoutMs must be -1 (wait until something happens) or a finite number >= 0, got ${timeoutMs}`,
    );
  }
  checkDuration('Executor.turn()', 'timeoutMs', timeoutMs);
}
