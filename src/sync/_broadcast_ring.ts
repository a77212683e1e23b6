// The ring of a broadcast channel (tokio's design, single-threaded): `capacity` slots, a global
// sequence number per message, one cursor per receiver. A message is written once and shared by
// every receiver; a slot forgets its value as soon as every receiver has read it or left.
import { WaiterQueue, type Waiter } from './_waiter_queue.js';

/**
 * One receiver's position: the sequence number of the next message it will read.
 *
 * @example
 * ```ts
 * const sub = new Cursor(ring.next); // sees only messages sent from now on
 * ```
 */
export class Cursor {
  /** Set by the receiver's close(); a closed cursor no longer counts in the ring. */
  closed = false;
  /**
   * The queue entries of this receiver's recv futures (usually one, reused), so that close()
   * wakes them without scanning the waiters of every receiver of the channel.
   */
  waiters: Waiter[] = [];
  constructor(
    /** Sequence number of the next message to read. Invariant: cursor <= ring.next. */
    public seq: number,
  ) {}
}

/**
 * The shared ring. Slot `seq % capacity` holds message `seq` for the last `capacity` sequence
 * numbers; `pending[slot]` counts the receivers that have not read it yet. Invariant: every
 * open receiver's cursor is <= `next`, so a message sent now is read (or skipped by a lag) by
 * exactly the receivers open now.
 *
 * @example
 * ```ts
 * const ring = new Ring<string>(1000);
 * ring.write('hi', 3); // 3 receivers will see it
 * ```
 */
export class Ring<T> {
  /** Message values by slot; grows to `capacity` on the first lap, then is reused. */
  readonly #values: Array<T | undefined> = [];
  /** Receivers that still have to read each slot; 0 means the slot holds nothing. */
  readonly #pending: number[] = [];
  /** Slots still holding a value. Invariant: held <= capacity. */
  #held = 0;
  /** Sequence number of the next message; also the number of messages written. */
  next = 0;

  constructor(readonly capacity: number) {}

  /** Slots still holding a value (never more than `capacity`). */
  get held(): number {
    return this.#held;
  }

  /** Writes the next message for `readers` receivers, overwriting the oldest when full. */
  write(value: T, readers: number): void {
    const slot = this.next % this.capacity;
    if (slot === this.#values.length) {
      this.#values.push(value);
      this.#pending.push(readers);
      this.#held++;
    } else {
      if (this.#pending[slot] === 0) this.#held++;
      this.#values[slot] = value;
      this.#pending[slot] = readers;
    }
    this.next++;
  }

  /**
   * Moves a cursor that fell more than `capacity` behind to the oldest message still held and
   * returns how many messages it skipped (0 if it had not lagged).
   */
  catchUp(cursor: Cursor): number {
    const missed = this.next - this.capacity - cursor.seq;
    if (missed <= 0) return 0;
    cursor.seq += missed;
    return missed;
  }

  /** Reads the message at a (caught-up) cursor, which must be < next, and advances it. */
  read(cursor: Cursor): T {
    const slot = cursor.seq % this.capacity;
    const value = this.#values[slot] as T;
    this.#release(slot);
    cursor.seq++;
    return value;
  }

  /** A receiver leaves: it will never read the messages from its cursor on. */
  leave(cursor: Cursor): void {
    for (let seq = Math.max(cursor.seq, this.next - this.capacity); seq < this.next; seq++) {
      this.#release(seq % this.capacity);
    }
  }

  /** One fewer receiver to read `slot`; the last one frees the value. */
  #release(slot: number): void {
    if (--this.#pending[slot] === 0) {
      this.#values[slot] = undefined;
      this.#held--;
    }
  }
}

/**
 * What a broadcast channel's handles share: the ring, the handle counts and the waiting futures.
 *
 * @example
 * ```ts
 * const state = new BroadcastState(new Ring<string>(16));
 * ```
 */
export class BroadcastState<T> {
  /** Open sender handles; 0 ends every receiver once it has read what is held. */
  senders = 1;
  /** Open receivers: how many will see a message sent now. */
  receivers = 0;
  /** Receive futures waiting for the next message, of every receiver. */
  readonly waiters = new WaiterQueue();
  constructor(readonly ring: Ring<T>) {}
}
