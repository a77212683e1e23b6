// Several tasks awaiting one future that keeps a single waker (a JoinHandle, a oneshot
// receiver): the waker slot then holds a FanOutWaker that wakes them all.
import type { Waker } from './future.js';

/** Wakes every task that awaited the same future. */
export class FanOutWaker implements Waker {
  readonly #wakers: Waker[];
  constructor(first: Waker, second: Waker) {
    this.#wakers = [first, second];
  }
  add(waker: Waker): void {
    if (!this.#wakers.includes(waker)) this.#wakers.push(waker);
  }
  wake(): void {
    for (const w of this.#wakers) w.wake();
  }
}

/**
 * The waker to store when `next` polls a future whose slot holds `stored`: `next` alone, or a
 * FanOutWaker for both. A dropped await cannot tell its own waker apart inside a FanOutWaker,
 * so it leaves it there; the task it belongs to may get one spurious wake, which is allowed.
 */
export function addWaker(stored: Waker | null, next: Waker): Waker {
  if (stored === null || stored === next) return next;
  if (stored instanceof FanOutWaker) {
    stored.add(next);
    return stored;
  }
  return new FanOutWaker(stored, next);
}
