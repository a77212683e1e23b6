// select / join: combinators that poll several futures inside one task. Each child gets its own
// small waker, so a poll of the combinator re-polls only the children that were woken.
import { Future, PENDING, type Context, type Poll, type Waker } from './future.js';
import { SharedFuture } from './_shared_future.js';
import { coop } from './_coop.js';
import { describe, describeNonTask, isGenerator, takeFuture, type Awaitable } from './task.js';
import { reportDropFailure } from './_drop_failure.js';

/**
 * The value an awaitable completes with.
 *
 * @example
 * ```ts
 * type N = OutputOf<Future<number>>; // number (a Task<number> gives number too)
 * ```
 */
export type OutputOf<A> = A extends Future<infer T> ? T : A extends Generator<unknown, infer T, unknown> ? T : never;

/** A tuple index as a number literal ('1' -> 1); `number` for an array of unknown length. */
type IndexOf<K> = K extends `${infer N extends number}` ? N : number;

/**
 * What `select` resolves with: which child finished first and its value, as a union over the
 * positions, so checking `index` narrows `value`.
 *
 * @example
 * ```ts
 * type S = Selected<[Future<number>, Task<string>]>; // { index: 0; value: number } | { index: 1; value: string }
 * ```
 */
export type Selected<A extends readonly unknown[]> = {
  [K in keyof A]: { readonly index: IndexOf<K>; readonly value: OutputOf<A[K]> };
}[number];

/**
 * What `join` resolves with: each child's value at its position.
 *
 * @example
 * ```ts
 * type J = Joined<[Future<number>, Task<string>]>; // [number, string]
 * ```
 */
export type Joined<A extends readonly unknown[]> = { -readonly [K in keyof A]: OutputOf<A[K]> };

/** One child's waker: marks the child woken, then wakes the task polling the combinator. */
class ChildWaker implements Waker, Context {
  readonly waker: Waker = this;
  /** Invariant: true while `index` is in the owner's ready list (or once the child finished). */
  woken = true;
  constructor(
    readonly owner: Combinator<unknown>,
    readonly index: number,
  ) {}
  wake(): void {
    if (!this.woken) {
      this.woken = true;
      this.owner.ready.push(this.index);
    }
    this.owner.parent?.wake();
  }

  /** @internal The waker of whoever polls the combinator (a task, or an outer child's waker). */
  get _outer(): Waker | null {
    return this.owner.parent;
  }
}

/** Shared state: the children, their wakers and the list of children woken since the last poll. */
abstract class Combinator<T> extends Future<T> {
  readonly children: Array<Future<unknown> | null>;
  readonly cxs: ChildWaker[];
  /** Indices of woken children, in wake order; every child is woken before the first poll. */
  ready: number[];
  #spare: number[] = [];
  /** The waker of the task polling us; null once finished (late child wakes go nowhere). */
  parent: Waker | null = null;
  #done = false;
  /** Polled once: its children were told who awaits them (see Future._heldBy). */
  #held = false;

  constructor(
    readonly where: string,
    futures: ArrayLike<unknown>,
  ) {
    super();
    const n = futures.length;
    this.children = new Array(n);
    this.cxs = new Array(n);
    this.ready = new Array(n);
    checkDistinct(where, futures);
    for (let i = 0; i < n; i++) {
      try {
        this.children[i] = childFuture(where, futures[i], i);
      } catch (error) {
        for (let j = 0; j < i; j++) this.children[j]!._release(); // a bad argument: the others stay free
        throw error;
      }
      this.cxs[i] = new ChildWaker(this as Combinator<unknown>, i);
      this.ready[i] = i;
    }
  }

  /** Takes the woken list (leaving an empty one for wakes that happen while polling it). */
  protected takeReady(): number[] {
    const batch = this.ready;
    this.ready = this.#spare;
    this.#spare = batch;
    return batch;
  }

  /** Polls child `i` once; the caller checks PENDING. Clears its woken mark first. */
  protected pollChild(i: number): Poll<unknown> {
    this.cxs[i].woken = false;
    const child = this.children[i]!;
    let value: Poll<unknown>;
    try {
      value = child.poll(this.cxs[i]);
    } catch (error) {
      child._gaveValue();
      throw error;
    }
    if (value !== PENDING) child._gaveValue();
    return value;
  }

  protected checkLive(cx: Context): void {
    if (this.#done) throw new TypeError(`${this.where} was awaited again after it completed or was cancelled: make a new one`);
    if (!this.#held) {
      this.#held = true;
      for (const child of this.children) child?._heldBy(cx.waker);
    }
    this.parent = cx.waker;
  }

  /**
   * Marks the combinator finished and drops every child still running (a generator's finally
   * blocks run). All are dropped even if some drops throw; returns their errors (null if none).
   */
  protected finish(): unknown[] | null {
    this.#done = true;
    this.parent = null;
    this.#spare.length = 0;
    this.ready.length = 0;
    let failures: unknown[] | null = null;
    for (let i = 0; i < this.children.length; i++) {
      const child = this.children[i];
      if (child === null) continue;
      this.children[i] = null;
      try {
        child._dropClaimed();
      } catch (error) {
        (failures ??= []).push(error);
      }
    }
    return failures;
  }

  /** Finishes with a child's value: drops the others, whose drop errors are reported. */
  protected succeed<V>(value: V): V {
    this.#report(this.finish());
    return value;
  }

  /** Finishes with a child's error: drops the others; their drop errors are reported. */
  protected fail(error: unknown): never {
    this.#report(this.finish());
    throw error;
  }

  /** Dropped before it completed: throws the first drop error, reports the others. */
  override drop(): void {
    if (this.#done) return;
    const failures = this.finish();
    if (failures === null) return;
    this.#report(failures.slice(1));
    throw failures[0];
  }

  #report(failures: unknown[] | null): void {
    if (failures !== null) for (const error of failures) reportDropFailure(error, this.where);
  }
}

function childFuture(where: string, value: unknown, i: number): Future<unknown> {
  const at = `${where}: the argument at index ${i}`;
  if (!(value instanceof Future) && !isGenerator(value)) {
    throw new TypeError(`${at} must be a Future or a generator task (call the generator function), got ${describeNonTask(value)}`);
  }
  return takeFuture(value as Awaitable<unknown>, at); // refuses a future that already gave its value, naming `at`
}

/**
 * Throws if one future or generator is given twice: both children would poll it, and one would
 * never see its value (a JoinHandle may repeat, as each use awaits it separately).
 */
function checkDistinct(where: string, values: ArrayLike<unknown>): void {
  const n = values.length;
  // A Set for a long joinAll() list; a select's few children are compared pairwise, allocating nothing.
  if (n > 16) {
    const seen = new Set<unknown>();
    for (let i = 0; i < n; i++) {
      if (seen.has(values[i]) && mistakenRepeat(values[i])) twice(where, i);
      seen.add(values[i]);
    }
    return;
  }
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) if (values[j] === values[i] && mistakenRepeat(values[i])) twice(where, i);
  }
}

/** A value given twice by mistake: not a JoinHandle (each use awaits it afresh), nor a primitive (refused later). */
function mistakenRepeat(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !(value instanceof SharedFuture);
}

function twice(where: string, i: number): never {
  throw new TypeError(`${where}: the argument at index ${i} was given twice (a future or generator is awaited once)`);
}

class Select<A extends readonly unknown[]> extends Combinator<Selected<A>> {
  /** Rotates the first child polled (fair mode); -1 when polling in argument order. */
  #start: number;

  constructor(futures: A, fair: boolean) {
    const where = fair ? 'selectFair()' : 'select()';
    if (futures.length === 0) throw new TypeError(`${where}: needs at least one future (an empty select never completes)`);
    super(where, futures);
    this.#start = fair ? Math.floor(Math.random() * futures.length) : -1;
  }

  poll(cx: Context): Poll<Selected<A>> {
    this.checkLive(cx);
    const batch = this.takeReady();
    if (batch.length === 0) return PENDING;
    if (batch.length > 1) this.#order(batch);
    for (let k = 0; k < batch.length; k++) {
      if (this.#deferIfSpent(batch, k, cx)) return PENDING;
      const i = batch[k];
      let value: unknown;
      try {
        value = this.pollChild(i);
      } catch (error) {
        this.children[i] = null; // it completed, with an error: nothing to drop
        this.fail(error);
      }
      if (value === PENDING) continue;
      this.children[i] = null; // the winner is complete: nothing to drop
      return this.succeed({ index: i, value } as unknown as Selected<A>);
    }
    batch.length = 0;
    return PENDING;
  }

  /**
   * Before polling the child at `batch[k]`: true once the task's budget is spent. The children
   * not polled yet go back on the ready list (still marked woken) and the task is woken to come
   * back next turn, when they are sorted again with any woken meanwhile, so the bias holds. (A
   * select ends at its first ready child, so unlike a join it never goes through many of them.)
   */
  #deferIfSpent(batch: number[], k: number, cx: Context): boolean {
    if (coop.budget > 0) return false;
    for (let j = k; j < batch.length; j++) this.ready.push(batch[j]);
    batch.length = 0;
    cx.waker.wake();
    return true;
  }

  /** Sorts the woken children into polling order: by index, from the rotating start if fair. */
  #order(batch: number[]): void {
    const n = this.children.length;
    const start = this.#start;
    if (start < 0) {
      batch.sort((a, b) => a - b);
      return;
    }
    batch.sort((a, b) => ((a - start + n) % n) - ((b - start + n) % n));
    this.#start = (start + 1) % n;
  }
}

class Join<T> extends Combinator<T[]> {
  readonly #values: unknown[];
  #remaining: number;
  /**
   * A batch of woken children cut short when the task's budget ran out, and where to go on in
   * it: the next poll resumes there, so a wide join of ready children costs one poll per child,
   * not one per child per turn.
   */
  #cut: number[] | null = null;
  #cutAt = 0;

  constructor(where: string, futures: ArrayLike<unknown>) {
    super(where, futures);
    this.#values = new Array(futures.length);
    this.#remaining = futures.length;
  }

  poll(cx: Context): Poll<T[]> {
    this.checkLive(cx);
    const cut = this.#cut;
    if (cut !== null) {
      this.#cut = null;
      if (this.#pollBatch(cut, this.#cutAt, cx)) return PENDING;
      // Children woken while the cut batch waited for this poll woke a task that was already
      // queued, so nothing else polls for them: they are taken now. (Children woken during a
      // poll wake the task again, so this is needed only here.)
      if (this.#remaining > 0 && this.ready.length > 0 && this.#pollBatch(this.takeReady(), 0, cx)) return PENDING;
    } else if (this.#pollBatch(this.takeReady(), 0, cx)) {
      return PENDING;
    }
    if (this.#remaining > 0) return PENDING;
    return this.succeed(this.#values as T[]);
  }

  /** Polls the woken children `batch[from..]`; true if the budget ran out and the rest was put off. */
  #pollBatch(batch: number[], from: number, cx: Context): boolean {
    for (let k = from; k < batch.length; k++) {
      if (coop.budget <= 0) {
        // Polled now, each child would only find the budget spent and yield: come back next turn.
        this.#cut = batch;
        this.#cutAt = k;
        cx.waker.wake();
        return true;
      }
      const i = batch[k];
      if (this.children[i] === null) continue; // a stale wake of a child that already finished
      let value: unknown;
      try {
        value = this.pollChild(i);
      } catch (error) {
        this.children[i] = null; // it completed, with an error: nothing to drop
        this.fail(error);
      }
      if (value === PENDING) continue;
      this.#values[i] = value;
      this.children[i] = null;
      this.#remaining--;
    }
    batch.length = 0;
    return false;
  }

  /**
   * Ending without all the values (a child failed, or the join was dropped): the values already
   * finished reach nobody, so each one that has `[Symbol.dispose]` is disposed, as `using`
   * would: a connected stream is closed, a mutex guard released. Their errors join the drops'.
   */
  protected override finish(): unknown[] | null {
    let failures = super.finish();
    if (this.#remaining === 0) return failures; // succeeding: the values are the caller's
    const values = this.#values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      values[i] = undefined;
      try {
        const dispose = (value as Partial<Disposable> | null | undefined)?.[Symbol.dispose];
        if (typeof dispose === 'function') dispose.call(value);
      } catch (error) {
        (failures ??= []).push(error);
      }
    }
    return failures;
  }
}

/**
 * Waits for the first of several futures (or generator tasks) to finish and resolves with its
 * position and value; all the others are dropped (a generator's `finally` blocks run; one that
 * awaits is finished by the awaiting task, which settles after it). If a child throws first,
 * the others are dropped and the error propagates.
 *
 * Biased: when several children are ready in the same poll, the one passed first wins (as
 * tokio's `biased;`); `selectFair` rotates instead. After the first poll only the children that
 * were woken are polled again (each child has its own small waker).
 *
 * Cancel safety: a losing child that is not cancel-safe loses what it held when it is dropped
 * (`TcpStream.readExact()` its partial bytes): see the table in the README. A select that is
 * itself dropped is as cancel-safe as its children.
 *
 * Drop errors: if dropping a loser throws (a generator's `finally` throws), the winner's value
 * is still returned (a `recv()` that won keeps its value) and so is a child's error; the drop
 * error goes to the running executor's unhandled-error policy as an `UnhandledTaskError`
 * ("select(): dropping an unfinished future threw: ..."), thrown out of `blockOn`/`turn` at the
 * end of the turn by default. A select dropped before it completed throws the first drop error
 * (and reports the others).
 *
 * Throws a TypeError for a child that is not a future or task, a future that already gave its
 * value to a `yield*`, or one future or generator given twice (a `JoinHandle` may repeat).
 *
 * @example
 * ```ts
 * const r = yield* select(reader.readFrame(), rx.recv(), sleep(1000));
 * if (r.index === 0) handleFrame(r.value); // r.value is typed by r.index
 * ```
 */
export function select<A extends readonly Awaitable<unknown>[]>(...futures: A): Future<Selected<A>> {
  return new Select(futures, false);
}

/**
 * `select` without the bias: the child polled first starts at a random position and rotates
 * with every poll, so a child that is always ready cannot starve the others.
 *
 * @example
 * ```ts
 * const r = yield* selectFair(a.recv(), b.recv()); // neither channel starves the other
 * ```
 */
export function selectFair<A extends readonly Awaitable<unknown>[]>(...futures: A): Future<Selected<A>> {
  return new Select(futures, true);
}

/**
 * Waits for all the futures (or generator tasks), polled concurrently in this task, and resolves
 * with their values as a tuple. On the first error the others are dropped and it is thrown.
 * With no arguments it resolves at once with `[]`. Do not join two `TcpStream.read()` calls: their
 * views share one scratch buffer, so the second read overwrites the first value.
 *
 * Cancel safety: a join dropped before it completes (or failing) drops the values of the
 * children that had already finished, so it is not cancel-safe when finishing consumed something
 * (a `recv()`); a value with `[Symbol.dispose]` is disposed then (a stream closed, a mutex guard
 * released), not leaked. If dropping the others after an error throws, that drop error is
 * reported as in `select`.
 * Its children are checked as `select` checks them.
 *
 * @example
 * ```ts
 * const [user, posts] = yield* join(fetchUser(id), fetchPosts(id));
 * ```
 */
export function join<A extends readonly Awaitable<unknown>[]>(...futures: A): Future<Joined<A>> {
  return new Join('join()', futures) as unknown as Future<Joined<A>>;
}

/**
 * `join` for an array (or any iterable, such as `map.values()`; not a generator object, which
 * is a task) of futures of one type: resolves with the values in order. On the first error the
 * others are dropped and it is thrown.
 *
 * @example
 * ```ts
 * const sizes = yield* joinAll(paths.map((p) => fileSize(p)));
 * ```
 */
export function joinAll<T>(futures: Iterable<Awaitable<T>>): Future<T[]> {
  // A future or a generator is iterable too: catch `joinAll(task())` meant as `join(task())`.
  // Other iterators (`map.values()`) are iterables of futures like any other.
  const awaitable = futures instanceof Future || isGenerator(futures);
  if (futures === null || typeof futures !== 'object' || typeof (futures as Iterable<unknown>)[Symbol.iterator] !== 'function' || awaitable) {
    const hint = awaitable ? ' (a future or generator task is one awaitable: pass [it], or use join())' : '';
    throw new TypeError(`joinAll(): expected an array of futures, got ${describe(futures)}${hint}`);
  }
  return new Join<T>('joinAll()', Array.isArray(futures) ? futures : [...futures]);
}
