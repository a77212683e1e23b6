// A growable ring buffer, the FIFO of the executor's run queue and of mpsc channels: push and shift are O(1) and
// allocate nothing once the ring is big enough; it grows by doubling, never past what is queued.

/**
 * A FIFO queue of values in a power-of-two ring that doubles when full. Shifted slots are cleared
 * so the queue never keeps a received value alive.
 *
 * @example
 * ```ts
 * const q = new Deque<string>();
 * q.push('a'); q.push('b');
 * q.shift(); // 'a'
 * ```
 */
export class Deque<T> {
  /** The ring; its length is a power of two. */
  #ring: Array<T | undefined> = new Array(4);
  /** Index of the oldest value. */
  #head = 0;
  /** Number of values queued. */
  #length = 0;

  /** Number of values queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends `value` at the back. */
  push(value: T): void {
    if (this.#length === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#length) & (this.#ring.length - 1)] = value;
    this.#length++;
  }

  /** Removes and returns the oldest value; the caller checks `length` first. */
  shift(): T {
    if (this.#length === 0) throw new Error('internal: Deque.shift() on an empty queue');
    const value = this.#ring[this.#head] as T;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#ring.length - 1);
    this.#length--;
    return value;
  }

  /** Drops every value and shrinks back to the initial ring. */
  clear(): void {
    this.#ring = new Array(4);
    this.#head = 0;
    this.#length = 0;
  }

  #grow(): void {
    const old = this.#ring;
    const ring: Array<T | undefined> = new Array(old.length * 2);
    for (let i = 0; i < this.#length; i++) ring[i] = old[(this.#head + i) & (old.length - 1)];
    this.#ring = ring;
    this.#head = 0;
  }
}
