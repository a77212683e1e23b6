// Generator tasks: the `async fn` of wakeloop. A generator that awaits futures with `yield*`
// compiles to a state machine, as a Rust async fn does; GenFuture polls it like any future.
import { Future, PENDING, type Context, type Poll } from './future.js';
import { EAGER_DEPTH, coop } from './_coop.js';
import { SharedFuture } from './_shared_future.js';

/**
 * A task body: a generator that awaits futures with `yield*` and returns a `T`.
 *
 * @example
 * ```ts
 * function* add(a: Future<number>, b: Future<number>): Task<number> {
 *   return (yield* a) + (yield* b);
 * }
 * ```
 */
export type Task<T> = Generator<Future<unknown>, T, unknown>;

/**
 * Anything wakeloop can await: a future or a generator task.
 *
 * @example
 * ```ts
 * function* twice<T>(work: () => Awaitable<T>): Task<[T, T]> { return [yield* work(), yield* work()]; }
 * ```
 */
export type Awaitable<T> = Future<T> | Task<T>;

/**
 * Turns a generator task into a future (a future is returned as it is), so combinators such as
 * `select` and `timeout` accept either. Anything else is a TypeError whose message starts with
 * `where` (the calling function, default 'toFuture()'). A generator runs once: give each
 * generator object to one spawn, select or await (a second one is not detected, and the two
 * would resume it in turn; keeping a WeakSet of them cost memory per spawned task).
 *
 * @example
 * ```ts
 * const fut = toFuture(handler(stream)); // now usable with select(), timeout(), spawn()
 * ```
 */
export function toFuture<T>(awaitable: Awaitable<T>, where = 'toFuture()'): Future<T> {
  if (awaitable instanceof SharedFuture) return awaitable.newAwait();
  if (awaitable instanceof Future) {
    const problem = awaitable._awaitedProblem();
    if (problem !== null) throw new TypeError(`${where}: ${problem}`);
    return awaitable;
  }
  if (isGenerator(awaitable)) return new GenFuture(awaitable);
  throw new TypeError(
    `${where}: expected a Future or a generator task (call the generator function), got ${describeNonTask(awaitable)}`,
  );
}

/**
 * @internal toFuture() for what will poll the future itself (spawn, a combinator, `timeout`):
 * the future is claimed, so a `yield*` of it elsewhere is refused until it completes or is
 * dropped (and released: see Future._release).
 */
export function takeFuture<T>(awaitable: Awaitable<T>, where: string): Future<T> {
  const future = toFuture(awaitable, where);
  future._claim();
  return future;
}

/** The methods a task has besides next(), as error messages name them: `throw` drives it, `return` cancels it. */
const TASK_METHODS = [['throw', 'throw()'], ['return', 'return()'], [Symbol.iterator, '[Symbol.iterator]()']] as const;

/** An object with a next() method: an iterator, which may or may not be a task. */
function isIterator(value: unknown): value is Record<PropertyKey, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Task<unknown>).next === 'function';
}

/** True for a generator object (a called generator function), the shape of a task. */
export function isGenerator(value: unknown): value is Task<unknown> {
  if (!isIterator(value)) return false;
  // An indexed loop: every() with a destructuring callback allocated on each spawn.
  for (let i = 0; i < TASK_METHODS.length; i++) {
    if (typeof value[TASK_METHODS[i][0]] !== 'function') return false;
  }
  return true;
}

/** describe() of a value that is not a task; for an iterator, also the task methods it lacks. */
export function describeNonTask(value: unknown): string {
  const text = describe(value);
  if (!isIterator(value)) return text;
  const missing = TASK_METHODS.filter(([key]) => typeof value[key] !== 'function');
  return `${text}, an iterator lacking ${missing.map(([, name]) => name).join(', ')}`;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `${typeof value} ${String(value)}`;
}

const SELF_AWAIT = 'a generator task awaited itself: it cannot wait for its own end';

/** What a task that yields something other than a future gets at that `yield`. */
class NotAFutureError extends TypeError {}

/**
 * What to throw when the generator threw `error` in answer to `notFuture`. A `yield*` of an
 * array, a string or a Uint8Array (a read's result, say) yields its elements; thrown into it,
 * `notFuture` meets an iterator with no `throw` method, and V8's TypeError says only that.
 */
function explainIterable(notFuture: TypeError, error: unknown): unknown {
  if (!(error instanceof TypeError) || error === notFuture || !error.message.includes("'throw' method")) return error;
  return new TypeError(`${notFuture.message} (a \`yield*\` of an array, a string or a Uint8Array yields its elements)`, { cause: error });
}

/**
 * Polls a generator task. Each poll resumes the generator with the value of the future it
 * awaits and polls the next one, until a future is pending or the generator returns.
 *
 * Cancellation (`drop`, or `beginCancel` by the executor) drops the awaited future and calls
 * the generator's `return()`, so its `finally` blocks run. A `finally` that itself awaits is run
 * to completion, never left half-run: `beginCancel` reports it so the owner keeps polling, and
 * cancelling again meanwhile changes nothing. If dropping the awaited future throws, the
 * `finally` blocks still run, then that error is thrown (where a `finally` throws, its own error
 * replaces it, as in JS). Limit: a `finally` the generator entered by itself (its `try` ended)
 * and awaits in when the cancel comes is cut at that await, since `return()` leaves a `finally`
 * at the current `yield` and a generator cannot be resumed there.
 */
export class GenFuture<T> extends Future<T> {
  /** The future the generator is waiting on; null before the first step and after the end. */
  #current: Future<unknown> | null = null;
  #started = false;
  #finished = false;
  /** True while a cancelled generator runs a `finally` block that awaits. */
  #cancelling = false;
  /** True while the generator runs (a poll then is the task awaiting itself). */
  #stepping = false;
  /** What dropping the awaited future threw on cancel: thrown once the `finally` blocks ran. */
  #dropError: { error: unknown } | null = null;

  constructor(private readonly gen: Task<T>) {
    super();
  }

  /** True once the generator returned or threw. */
  get finished(): boolean {
    return this.#finished;
  }

  /** A `yield*` of itself from inside its own step is named as such (it is claimed, too). */
  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    if (this.#stepping) throw new TypeError(SELF_AWAIT);
    return super[Symbol.iterator]();
  }

  poll(cx: Context): Poll<T> {
    if (this.#stepping) throw new TypeError(SELF_AWAIT);
    if (this.#finished) throw new TypeError('a generator task was awaited again after it completed or was cancelled: call the generator function again');
    let fut = this.#current;
    let input: unknown = undefined;
    let failed = false;
    if (fut === null && this.#started) return this.#fail(new Error('generator task is not awaiting anything'));
    this.#started = true;
    for (;;) {
      if (fut !== null) {
        try {
          const v = fut.poll(cx);
          if (v === PENDING) return PENDING;
          input = v;
          failed = false;
        } catch (error) {
          input = error;
          failed = true;
        }
        this.#current = null;
      }
      let step: IteratorResult<Future<unknown>, T>;
      // The generator's `yield*`s poll their futures with cx (see Future.next), except this deep
      // in nested generator futures: each eager level costs several stack frames, and awaits
      // nested thousands deep would overflow the stack where they used to fit.
      const outerCx = coop.cx;
      coop.cx = coop.depth < EAGER_DEPTH ? cx : null;
      coop.polledPending = null;
      coop.depth++;
      this.#stepping = true;
      try {
        step = failed ? this.gen.throw(input) : this.gen.next(input);
      } catch (error) {
        this.#endStep(outerCx);
        this.#finished = true;
        throw failed && input instanceof NotAFutureError ? explainIterable(input, error) : error;
      }
      const polled = this.#endStep(outerCx);
      if (step.done) return this.#end(step.value);
      fut = step.value;
      if (fut !== null && fut === polled) {
        // Its `yield*` already polled it in this step and it is pending (its waker is stored).
        this.#current = fut;
        return PENDING;
      }
      if (!(fut instanceof Future)) {
        // `yield x` of a non-future: throw it back into the generator at that point.
        input = new NotAFutureError(`a task yielded ${describe(fut)}; await futures with \`yield* future\``);
        failed = true;
        fut = null;
        continue;
      }
      // A future yielded without `yield*` (or from a generator stepped outside coop.cx): polled
      // at once, never deferred, as Future.next does, so a read's view of the shared scratch
      // buffer stays valid until the task next suspends. The budget is spent by I/O futures.
      this.#current = fut;
    }
  }

  /** Ends a step: puts back the outer context and returns (and clears) the polled-pending mark. */
  #endStep(outerCx: Context | null): Future<unknown> | null {
    const polled = coop.polledPending;
    coop.polledPending = null; // kept no longer than the step, nor the future it names
    coop.cx = outerCx;
    coop.depth--;
    this.#stepping = false;
    return polled;
  }

  #fail(error: Error): never {
    this.#finished = true;
    throw error;
  }

  /** The generator returned: its value, or the error dropping the awaited future threw on cancel. */
  #end(value: T): T {
    this.#finished = true;
    if (value === PENDING) throw new TypeError('a generator task returned PENDING: it is not a value, but what poll() returns for "not ready yet"');
    if (this.#dropError !== null) throw this.#dropError.error;
    return value;
  }

  /**
   * Starts cancelling: drops the awaited future and runs the generator's `finally` blocks.
   * Returns true if a `finally` awaits, in which case the caller must keep polling this future
   * until it completes (its value is then meaningless); true again, with nothing done, while it
   * does. Throws what a `finally` throws, else what dropping the awaited future threw (once the
   * `finally` blocks ran, from this call or from the poll that completes them).
   */
  beginCancel(): boolean {
    if (this.#finished || this.#cancelling) return this.#cancelling && !this.#finished;
    this.#cancelling = true;
    const current = this.#current;
    this.#current = null;
    // Not polled on behalf of any task: what the drop and a `finally` that awaits run is handed
    // over unpolled, even when the cancel comes from inside another task's step.
    const outerCx = coop.cx;
    coop.cx = null;
    let step: IteratorResult<Future<unknown>, T>;
    try {
      try {
        current?.drop();
      } catch (error) {
        this.#dropError = { error }; // the finally blocks run first, as for an error at the await
      }
      step = this.gen.return(undefined as T);
      // `yield x` of a non-future in a finally: thrown back in at that point, as outside a
      // cancel, so the finally blocks around it still run.
      while (!step.done && !(step.value instanceof Future)) {
        step = this.gen.throw(new TypeError(`a cancelled task yielded ${describe(step.value)} in a finally block; await futures with \`yield* future\``));
      }
    } catch (error) {
      this.#finished = true;
      throw error;
    } finally {
      coop.cx = outerCx;
    }
    if (step.done) {
      this.#end(step.value);
      return false;
    }
    this.#started = true;
    this.#current = step.value;
    return true;
  }

  /**
   * Dropping a task future cancels it for good; an awaiting `finally` is finished by the task
   * that dropped it (see Executor), so awaiting this future again is refused.
   */
  override drop(): void {
    if (this.#finished) return;
    this._retire();
    if (this.beginCancel()) coop.finishDropped(this);
  }
}
