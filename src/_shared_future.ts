// A future that several awaits may wait on at once (a JoinHandle, a oneshot receiver). It keeps
// one waker per await, so dropping one await (a lost select, a timeout, a cancelled task)
// forgets that await's waker and no other.
import { Future, type Context, type Poll, type Waker } from './future.js';

/**
 * The wakers of the awaits pending on one shared thing (a future several tasks await, the
 * accepts waiting on one listener), one slot per await.
 */
export class AwaitWakers {
  // Usually one await is pending (a task joining another, one accept): it is kept in the two
  // fields, and a Map is made only for a second one at a time. Insertion order is wake order.
  #key: object | null = null;
  #waker: Waker | null = null;
  #more: Map<object, Waker> | null = null;

  /** Records the waker of one await's latest poll, replacing that await's earlier one. */
  set(key: object, waker: Waker): void {
    if (this.#key === key) {
      this.#waker = waker;
    } else if (this.#key === null && (this.#more === null || this.#more.size === 0)) {
      this.#key = key;
      this.#waker = waker;
    } else {
      (this.#more ??= new Map()).set(key, waker);
    }
  }

  /** Forgets one await's waker (the await was dropped, or it completed); true if it had one. */
  delete(key: object): boolean {
    if (this.#key === key) {
      this.#key = this.#waker = null;
      return true;
    }
    return this.#more !== null && this.#more.delete(key);
  }

  get size(): number {
    return (this.#key !== null ? 1 : 0) + (this.#more?.size ?? 0);
  }

  /** Wakes every pending await once; each polls again and registers again if still pending. */
  wakeAll(): void {
    const first = this.#waker;
    this.#key = this.#waker = null;
    let rest: Waker[] | null = null;
    if (this.#more !== null && this.#more.size > 0) {
      rest = [...this.#more.values()];
      this.#more.clear();
    }
    first?.wake();
    if (rest !== null) for (const waker of rest) waker.wake();
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
  override _heldBy(waker: Waker): void {
    this.shared._heldBy(waker);
  }
}
