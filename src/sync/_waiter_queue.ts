// An intrusive FIFO of waiting futures, shared by the single-executor sync primitives. A future
// links its Waiter when it goes pending and unlinks it in O(1) when it is dropped, so a cancelled
// wait never leaves a stale entry behind and never costs a scan.
import type { Waker } from '../future.js';

/**
 * One waiting future's entry in a {@link WaiterQueue}. The owning future allocates it once and
 * reuses it across polls (and, for recycled futures, across awaits).
 *
 * @example
 * ```ts
 * const waiter = new Waiter();
 * queue.push(waiter, cx.waker);  // pending: wait in line
 * queue.remove(waiter);          // dropped: leave the line
 * ```
 */
export class Waiter {
  /** @internal The waker to call; null once woken (so a woken task is not pinned). */
  waker: Waker | null = null;
  /** @internal Neighbours in the queue; null at the ends and while unlinked. */
  prev: Waiter | null = null;
  /** @internal */
  next: Waiter | null = null;
  /** @internal The queue this waiter is linked into. Invariant: null exactly when unlinked. */
  queue: WaiterQueue | null = null;
  /**
   * @internal Set by whoever unlinked this waiter to hand it something (the lock, a reserved
   * slot, a notification). Invariant: a granted waiter is unlinked; its future must take the
   * grant when polled or pass it on when dropped, so no wake-up is lost.
   */
  granted = false;

  /** True while the waiter is in a queue. */
  get linked(): boolean {
    return this.queue !== null;
  }
}

/**
 * A doubly linked FIFO of {@link Waiter}s: push, remove and shift are O(1) and allocate nothing.
 *
 * Wakers only schedule a task (they never poll it synchronously), so waking from inside these
 * methods cannot re-enter the queue; spurious wakes are harmless because a woken future always
 * re-checks its condition.
 *
 * @example
 * ```ts
 * const waiters = new WaiterQueue();
 * waiters.push(new Waiter(), cx.waker);
 * waiters.shift()?.waker?.wake();
 * ```
 */
export class WaiterQueue {
  /** Oldest waiter. */
  #head: Waiter | null = null;
  /** Newest waiter. */
  #tail: Waiter | null = null;
  /** Number of linked waiters. */
  #length = 0;

  /** How many waiters are linked. */
  get length(): number {
    return this.#length;
  }

  /** Links `waiter` at the back with `waker`; if it is already linked here, only updates the waker. */
  push(waiter: Waiter, waker: Waker): void {
    waiter.waker = waker;
    if (waiter.queue === this) return;
    if (waiter.queue !== null) throw new Error('internal: a Waiter is linked into another queue');
    waiter.queue = this;
    waiter.prev = this.#tail;
    waiter.next = null;
    if (this.#tail === null) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    this.#length++;
  }

  /** Unlinks `waiter` if it is linked here; returns whether it was. */
  remove(waiter: Waiter): boolean {
    if (waiter.queue !== this) return false;
    const { prev, next } = waiter;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    waiter.queue = null;
    this.#length--;
    return true;
  }

  /** Unlinks and returns the oldest waiter, or null. Its waker is left for the caller to call. */
  shift(): Waiter | null {
    const first = this.#head;
    if (first !== null) this.remove(first);
    return first;
  }

  /**
   * Unlinks and wakes those of `waiters` that are linked here: a closing handle's own entries,
   * which it keeps itself, so that closing one handle never scans the waiters of all of them.
   */
  wakeListed(waiters: Iterable<Waiter>): void {
    for (const waiter of waiters) if (this.remove(waiter)) wake(waiter);
  }

  /** Unlinks every waiter and wakes it, oldest first. O(number of waiters). */
  wakeAll(): void {
    for (let n = this.#length; n > 0; n--) {
      const waiter = this.shift();
      if (waiter === null) return;
      wake(waiter);
    }
  }
}

/**
 * Calls an unlinked waiter's waker once and forgets it.
 *
 * @example
 * ```ts
 * const first = queue.shift();
 * if (first !== null) wake(first);
 * ```
 */
export function wake(waiter: Waiter): void {
  const waker = waiter.waker;
  waiter.waker = null;
  waker?.wake();
}
