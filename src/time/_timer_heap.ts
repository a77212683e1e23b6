// A binary min-heap of timer entries by (deadline, insertion order), with O(log n) removal so a
// dropped sleep leaves nothing behind.
import type { Waker } from '../future.js';

/** A pending deadline and the waker to wake at it. Invariant: index is -1 when not in a heap. */
export class TimerEntry {
  index = -1;
  seq = 0;
  constructor(
    public deadline: number,
    public waker: Waker,
  ) {}
}

/** Timers of one executor. Time is `performance.now()` milliseconds. */
export class TimerHeap {
  #heap: TimerEntry[] = [];
  #seq = 0;

  /** `onRemoved` runs after `remove()` took an entry out (a dropped sleep), not after fire(). */
  constructor(private readonly onRemoved: () => void = () => {}) {}

  get size(): number {
    return this.#heap.length;
  }

  /** The earliest deadline, or Infinity. */
  get nextDeadline(): number {
    return this.#heap.length > 0 ? this.#heap[0].deadline : Infinity;
  }

  insert(entry: TimerEntry): void {
    if (entry.index !== -1) return;
    entry.seq = this.#seq++;
    entry.index = this.#heap.length;
    this.#heap.push(entry);
    this.#up(entry.index);
  }

  /** Removes a pending entry (a no-op if it is not in the heap). */
  remove(entry: TimerEntry): void {
    if (entry.index === -1) return;
    this.#take(entry);
    this.onRemoved();
  }

  /** Removes every entry due at `now` and wakes it, in deadline order. Returns how many fired. */
  fire(now: number): number {
    let fired = 0;
    while (this.#heap.length > 0 && this.#heap[0].deadline <= now) {
      const entry = this.#heap[0];
      this.#take(entry);
      entry.waker.wake();
      fired++;
    }
    return fired;
  }

  #take(entry: TimerEntry): void {
    const i = entry.index;
    const last = this.#heap.pop()!;
    entry.index = -1;
    if (last === entry) return;
    this.#heap[i] = last;
    last.index = i;
    this.#down(i);
    this.#up(last.index);
  }

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const h = this.#heap;
    const a = h[i]; // not a destructuring swap: that allocates an array each time
    h[i] = h[j];
    h[j] = a;
    h[i].index = i;
    h[j].index = j;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#heap[i], this.#heap[parent])) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#less(this.#heap[l], this.#heap[m])) m = l;
      if (r < n && this.#less(this.#heap[r], this.#heap[m])) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
