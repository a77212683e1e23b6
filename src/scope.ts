// Structured concurrency: scope() runs a body that spawns children and completes only once every
// child is done, so the body's locals outlive every child that uses them (the "borrowing" corner
// of the scoped-task trilemma, as std::thread::scope and moro give it).
import { coop } from './_coop.js';
import { CancelledError, ClosedError } from './errors.js';
import { Executor } from './executor.js';
import type { JoinHandle } from './join_handle.js';
import { Future, PENDING, type Context, type Poll, type Waker } from './future.js';
import { GenFuture, describe, toFuture, type Awaitable, type Task } from './task.js';

/**
 * How a tracked task ended: its value, its error, or cancelled (no value, no error).
 *
 * @example
 * ```ts
 * const onSettle = (o: TaskOutcome<number>) => { if (o.kind === 'error') console.error(o.error); };
 * ```
 */
export type TaskOutcome<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'cancelled' };

const CANCELLED: TaskOutcome<never> = { kind: 'cancelled' };

/**
 * Spawns `task` on `executor` and calls `onSettle` exactly once when it ends, however it ends:
 * returned, threw, or was cancelled (even before it first ran). The owner takes charge of its
 * errors, so a failure is not reported as an unhandled task error. Used by scope() and JoinSet;
 * `where` names the caller in the error for a `task` that is not a future or generator.
 *
 * @example
 * ```ts
 * const handle = spawnTracked(Executor.current(), work(), (o) => console.log(o.kind));
 * ```
 */
export function spawnTracked<T>(
  executor: Executor,
  task: Awaitable<T>,
  onSettle: (outcome: TaskOutcome<T>) => void,
  where = 'spawnTracked()',
): JoinHandle<T> {
  const handle = executor.spawn(toFuture(task, where));
  // The outcome is read from the task's end as the executor records it, not from inside the
  // task: a cancelled task whose cleanup awaits resumes after its await as if that had
  // returned (a JS limit, see README), and an error from dropping the future it awaited
  // surfaces only after its finally blocks ran.
  handle._onComplete((failed, result) => {
    if (!failed) onSettle({ kind: 'value', value: result as T });
    else if (handle._cancelRequested && result instanceof CancelledError) onSettle(CANCELLED);
    else onSettle({ kind: 'error', error: result });
  });
  return handle;
}

/**
 * What a scope body gets: spawns children that the scope waits for.
 *
 * @example
 * ```ts
 * yield* scope(function* (s) { s.spawn(sleep(10)); });
 * ```
 */
export class Scope {
  /** @internal */
  constructor(
    private readonly owner: ScopeFuture<unknown>,
    private readonly executor: Executor,
  ) {}

  /**
   * Starts a child on the scope's executor; the scope does not complete before it. A child's
   * error fails the scope. Spawning while the scope is being cancelled cancels the new child at
   * once; spawning after the scope completed throws ClosedError.
   *
   * @example
   * ```ts
   * const h = s.spawn(fetchPart(1)); const part = yield* h;
   * ```
   */
  spawn<U>(task: Awaitable<U>): JoinHandle<U> {
    return this.owner._spawnChild(this.executor, task);
  }

  /**
   * Children started and not yet finished.
   *
   * @example
   * ```ts
   * s.spawn(sleep(10)); console.log(s.active); // 1
   * ```
   */
  get active(): number {
    return this.owner._activeChildren;
  }
}

/**
 * The future `scope()` returns. Awaited with `yield*` from a generator task, its cancellation
 * (the parent's JoinHandle.cancel) waits until every child finished its `finally` blocks, even
 * ones that await. Used as a plain Future (`timeout`, `spawn`), dropping it cancels every child
 * at once; `finally` blocks that await are then finished by the task that dropped it, which
 * settles after them.
 *
 * @example
 * ```ts
 * const fut: ScopeFuture<number> = scope(function* (s) { s.spawn(sleep(5)); return 1; });
 * ```
 */
export class ScopeFuture<T> extends Future<T> {
  #makeBody: (s: Scope) => Awaitable<T>;
  #body: Future<T> | null = null;
  #started = false;
  #bodyDone = false;
  #value: T | undefined = undefined;
  /** The first error of the body or a child; later ones are dropped. */
  #error: { error: unknown } | null = null;
  /** Invariant: once true, children and body were told to stop and no new child runs. */
  #cancelling = false;
  #dropped = false;
  #settled = false;
  /** Awaited through its generator iterator: the awaiting task's `finally` drives the cleanup. */
  #viaGenerator = false;
  #children = new Set<JoinHandle<unknown>>();
  #waker: Waker | null = null;

  /** @internal */
  constructor(body: (s: Scope) => Awaitable<T>) {
    super();
    this.#makeBody = body;
  }

  /**
   * True once the scope completed, or finished cancelling.
   *
   * @example
   * ```ts
   * const fut = scope(body); yield* fut; console.log(fut.finished); // true
   * ```
   */
  get finished(): boolean {
    return this.#settled;
  }

  /** @internal */
  get _activeChildren(): number {
    return this.#children.size;
  }

  /** @internal */
  _spawnChild<U>(executor: Executor, task: Awaitable<U>): JoinHandle<U> {
    if (this.#settled) throw new ClosedError('Scope (it has completed)');
    const cell: { handle?: JoinHandle<U> } = {};
    const handle = spawnTracked(executor, task, (outcome) => {
      this.#children.delete(cell.handle!);
      if (outcome.kind === 'error') this.#record(outcome.error);
      this.#waker?.wake();
    }, 'Scope.spawn()');
    cell.handle = handle;
    if (!handle.finished) this.#children.add(handle); // else it ended in spawn (its executor closes)
    if (this.#cancelling) handle.cancel();
    return handle;
  }

  poll(cx: Context): Poll<T> {
    if (this.#settled) throw new TypeError('a scope was awaited again after it completed or was cancelled: call scope() again');
    this.#waker = cx.waker;
    if (!this.#started) this.#start();
    for (;;) {
      // Cancel here, never from a child's completion: the body may be running at that moment.
      if (this.#error !== null && !this.#cancelling) this.#cancelAll();
      if (!this.#bodyDone) this.#pollBody(cx);
      if (this.#error === null || this.#cancelling) break;
    }
    if (!this.#bodyDone || this.#children.size > 0) return PENDING;
    this.#settled = true;
    this.#waker = null;
    this._gaveValue(); // also when awaited through awaitScope, which polls it directly
    if (this.#error !== null) throw this.#error.error;
    return (this.#dropped ? undefined : this.#value) as T;
  }

  override drop(): void {
    if (this.#settled || this.#dropped) return;
    this.#dropped = true;
    this._retire(); // cancelled for good: awaiting it again or handing it on is refused
    if (!this.#started) {
      this.#settled = true; // never polled: the body never ran, no child exists
      return;
    }
    if (!this.#cancelling) this.#cancelAll();
    if (this.#bodyDone && this.#children.size === 0 && this.#error === null) {
      this.#settled = true;
      return;
    }
    // Cleanup still awaits, or an error must surface: the generator path polls on in its
    // finally (the error replaces the parent's cancellation); otherwise the task that dropped
    // it finishes it, as any dropped future whose cleanup awaits (see Executor #adopt).
    if (!this.#viaGenerator) coop.finishDropped(this);
  }

  /** `yield* scope(...)` iterates through here, so cancelling the parent awaits the cleanup. */
  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    // Its body and children were cancelled: awaiting it again gave `undefined` as its value.
    if (this.#dropped) {
      throw new TypeError('this scope was cancelled (dropped by a select, join or timeout, or with its task): it cannot be awaited again; make a new scope');
    }
    // Two tasks awaiting one scope would each replace the other's waker: the first would hang.
    if (this.#viaGenerator && !this.#settled) {
      throw new TypeError('this scope is already being awaited: a scope is awaited by one task');
    }
    // Held by spawn or a combinator (claimed), or already awaited to its end.
    const problem = this._awaitedProblem();
    if (problem !== null) throw new TypeError(problem);
    this._claim(); // a combinator or spawn refuses it meanwhile
    this.#viaGenerator = true;
    return awaitScope(this);
  }

  #start(): void {
    this.#started = true;
    const scope = new Scope(this as ScopeFuture<unknown>, Executor.current());
    try {
      this.#body = toFuture(this.#makeBody(scope), 'scope() body');
    } catch (error) {
      this.#bodyDone = true; // e.g. body is not a generator function
      this.#record(error);
    }
  }

  #pollBody(cx: Context): void {
    let value: Poll<T>;
    try {
      value = this.#body!.poll(cx);
    } catch (error) {
      this.#bodyDone = true;
      this.#record(error);
      return;
    }
    if (value === PENDING) return;
    this.#bodyDone = true;
    if (!this.#cancelling) this.#value = value;
  }

  #record(error: unknown): void {
    if (this.#error === null) this.#error = { error };
  }

  /** Cancels every child (their sync `finally` blocks run now) and starts cancelling the body. */
  #cancelAll(): void {
    this.#cancelling = true;
    for (const child of [...this.#children]) child.cancel();
    if (this.#bodyDone) return;
    const body = this.#body!;
    try {
      if (body instanceof GenFuture) {
        if (!body.beginCancel()) this.#bodyDone = true; // else: its finally awaits, keep polling
      } else {
        body.drop();
        this.#bodyDone = true;
      }
    } catch (error) {
      this.#bodyDone = true;
      this.#record(error);
    }
  }
}

/** The iterator behind `yield* scope(...)`: on cancellation its finally awaits the cleanup. */
function* awaitScope<T>(scope: ScopeFuture<T>): Task<T> {
  try {
    return (yield scope) as T;
  } finally {
    if (!scope.finished) {
      yield scope; // cancelled: drop() ran, now wait for the children to end
      // The executor resumed this generator with next() to run that wait, and the generator
      // awaiting this one with `yield*` would then go on after it as if the scope had returned:
      // the cancellation goes on as an error instead (its finally blocks run, a catch sees it).
      throw new CancelledError();
    }
  }
}

/**
 * Runs `body` with a Scope and completes only when the body and every child it (or a child)
 * spawned are done, with the body's return value.
 *
 * - **Errors**: the first error (of the body or any child) cancels every other child and the
 *   body, then is thrown by the scope once they all finished. Errors that happen after it
 *   (a sibling's `finally` throwing while cancelled) are dropped. A child's error fails the
 *   scope even if the body awaited that child's handle and caught the error.
 * - **Cancellation**: cancelling the task awaiting the scope, or dropping the scope (a
 *   `timeout`), cancels every child and the body, running their `finally` blocks; see
 *   {@link ScopeFuture} for finally blocks that await. An error the scope recorded (a `finally`
 *   that threw) is not lost: the cancelled parent fails with it instead of CancelledError.
 * - **Borrowing**: JS has no borrow checker; closures capture by reference and nothing stops a
 *   child from keeping a reference past the scope. What the scope guarantees is the ordering
 *   the borrow checker would prove: the body does not resume past `yield* scope(...)` before
 *   every child finished (or finished cancelling), so children may read and mutate the
 *   parent's locals, and the parent sees every write when the scope returns. All children run
 *   on the parent's thread, so no write is ever concurrent with another.
 *
 * @example
 * ```ts
 * const totals: number[] = [];
 * yield* scope(function* (s) {
 *   for (const part of parts) s.spawn(function* () { totals.push(yield* sum(part)); }());
 * });
 * console.log(totals.length === parts.length); // true: every child is done
 * ```
 */
export function scope<T>(body: (s: Scope) => Awaitable<T>): ScopeFuture<T> {
  if (typeof body !== 'function') throw new TypeError(`scope(body): body must be a generator function (s) => Task, got ${describe(body)}`);
  return new ScopeFuture(body);
}
