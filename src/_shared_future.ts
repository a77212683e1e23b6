// A future that several awaits may wait on at once (a JoinHandle, a oneshot receiver). It keeps
// one waker per await, so dropping one await (a lost select, a timeout, a cancelled task)
// forgets that await's waker and no other.
import { Future, type Context, type Poll, type Waker } from './future.js';

/**
 * The wakers of the awaits pending on one shared thing (a future several tasks await, the
 * accepts waiting on one listener), one slot per await.
 */
export class AwaitWakers {
  readonly #wakers = new Map<object, Waker>();

  /** Records the waker of one await's latest poll, replacing that await's earlier one. */
  set(key: object, waker: Waker): void {
    this.#wakers.set(key, waker);
  }

  /** Forgets one await's waker (the await was dropped, or it completed); true if it had one. */
  delete(key: object): boolean {
    return this.#wakers.delete(key);
  }

  get size(): number {
    return this.#wakers.size;
  }

  /** Wakes every pending await once; each polls again and registers again if still pending. */
  wakeAll(): void {
    if (this.#wakers.size === 0) return;
    const wakers = [...this.#wakers.values()];
    this.#wakers.clear();
    for (const waker of wakers) waker.wake();
  }
}

/**
 * A future meant to be awaited repeatedly and by several tasks at once. Each `yield*`, and each
 * use through `toFuture()` (select, join, timeout, spawn, toPromise), polls a future of its own
 * that stands for that one await; a hand-written future polling this one directly is one more
 * await, this future's own.
 */
export abstract class SharedFuture<T> extends Future<T> {
  /** @internal Polls on behalf of the await `key`; when pending, records cx.waker for it. */
  abstract _pollFor(key: object, cx: Context): Poll<T>;

  /** @internal The await `key` was dropped: forget its waker. */
  abstract _dropFor(key: object): void;

  poll(cx: Context): Poll<T> {
    return this._pollFor(this, cx);
  }

  override drop(): void {
    this._dropFor(this);
  }

  /** Each `yield*` is an await of its own. */
  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    return this.newAwait();
  }

  /** @internal What toFuture() hands to a combinator: an await of its own. */
  newAwait(): Future<T> {
    return new OneAwait(this);
  }
}

/** One await of a SharedFuture. */
class OneAwait<T> extends Future<T> {
  constructor(private readonly shared: SharedFuture<T>) {
    super();
  }
  poll(cx: Context): Poll<T> {
    return this.shared._pollFor(this, cx);
  }
  override drop(): void {
    this.shared._dropFor(this);
  }
}
