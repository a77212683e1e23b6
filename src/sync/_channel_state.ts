// The state an mpsc channel's senders, receiver and futures share, and the two moves that keep
// it consistent: enqueueing a value (wakes the receiver) and freeing a slot (hands it to the
// oldest waiting sender, so a fast trySend cannot overtake a send that waits).
import { Deque } from '../_deque.js';
import { WaiterQueue, wake } from './_waiter_queue.js';

/**
 * What one mpsc channel's handles share. Single-threaded, so plain fields suffice.
 *
 * @example
 * ```ts
 * const state = new ChannelState<string>(8);
 * enqueue(state, 'hello');
 * ```
 */
export class ChannelState<T> {
  /** Values sent and not yet received. */
  readonly queue = new Deque<T>();
  /** Slots handed to woken senders that have not pushed yet. Invariant: queue + reserved <= capacity. */
  reserved = 0;
  /** Open sender handles; 0 means the receiver ends once the queue is drained. */
  senders = 1;
  /** The receiver was closed: sends fail, the queue was cleared. */
  receiverClosed = false;
  /** Bounded sends waiting for a slot, oldest first. */
  readonly sendWaiters = new WaiterQueue();
  /** Receive futures waiting for a value (normally one). */
  readonly recvWaiters = new WaiterQueue();

  constructor(
    /** Maximum queued values; Infinity for an unbounded channel. */
    readonly capacity: number,
  ) {}

  /** True if a sender that does not wait in line may push now. */
  get hasRoom(): boolean {
    return this.sendWaiters.length === 0 && this.queue.length + this.reserved < this.capacity;
  }
}

/**
 * Queues a sent value and wakes the waiting receive futures.
 *
 * @example
 * ```ts
 * if (state.hasRoom) enqueue(state, value);
 * ```
 */
export function enqueue<T>(state: ChannelState<T>, value: T): void {
  state.queue.push(value);
  if (state.recvWaiters.length > 0) state.recvWaiters.wakeAll();
}

/**
 * Hands free slots to the oldest waiting senders (each gets one reserved slot and a wake-up).
 * Called whenever a slot frees: a value was received, or a woken sender gave its slot back.
 *
 * @example
 * ```ts
 * const value = state.queue.shift();
 * grantSlots(state);
 * ```
 */
export function grantSlots(state: ChannelState<unknown>): void {
  while (state.sendWaiters.length > 0 && state.queue.length + state.reserved < state.capacity) {
    const next = state.sendWaiters.shift()!;
    next.granted = true;
    state.reserved++;
    wake(next);
  }
}
