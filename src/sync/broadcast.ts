// broadcast: every receiver gets every message sent after it subscribed, as in the chat server's
// groups. Memory is bounded by the capacity: a receiver that falls behind loses the oldest
// messages and is told how many (LaggedError), instead of making the sender wait or buffer.
import { ClosedError } from '../errors.js';
import { checkInteger, checkNotPending } from '../_validate.js';
import { BroadcastState, Ring } from './_broadcast_ring.js';
import { BroadcastReceiver, subscribe, type BroadcastTryRecvResult } from './_broadcast_receiver.js';

export { BroadcastReceiver, type BroadcastTryRecvResult };

/** The largest capacity accepted. */
const MAX_CAPACITY = 2 ** 30;

/** Makes a sender; set by BroadcastSender's static block, as its constructor is private. */
let newSender: <T>(state: BroadcastState<T>) => BroadcastSender<T>;

/**
 * Makes a broadcast channel holding the last `capacity` messages (an integer >= 1) and returns
 * its first sender; `subscribe()` makes receivers.
 *
 * @example
 * ```ts
 * const group = broadcast<Uint8Array>(1000);
 * const rx = group.subscribe();
 * group.send(encoded);             // returns 1: one receiver will see it
 * const msg = yield* rx.recv();    // the same Uint8Array, not a copy
 * ```
 */
export function broadcast<T>(capacity: number): BroadcastSender<T> {
  checkInteger('broadcast()', 'capacity', capacity, 1, MAX_CAPACITY);
  return newSender(new BroadcastState(new Ring<T>(capacity)));
}

/**
 * A sending handle of a {@link broadcast} channel. `send` never waits: each message is stored
 * once and shared by every receiver, and the cost is O(number of receivers waiting right now).
 *
 * @example
 * ```ts
 * const tx = broadcast<string>(16);
 * const rx = tx.subscribe();
 * tx.send('hello'); // 1
 * tx.close();       // rx reads 'hello', then RecvClosedError
 * ```
 */
export class BroadcastSender<T> {
  readonly #state: BroadcastState<T>;
  #closed = false;

  static {
    newSender = (state) => new BroadcastSender(state);
  }

  /** Senders are made by `broadcast()` and `clone()` only. */
  private constructor(state: BroadcastState<T>) {
    this.#state = state;
  }

  /** The capacity the channel was made with. */
  get capacity(): number {
    return this.#state.ring.capacity;
  }

  /** Open receivers: how many would see a message sent now. */
  get receiverCount(): number {
    return this.#state.receivers;
  }

  /** Messages held, not yet read by every receiver (never more than `capacity`). */
  get len(): number {
    return this.#state.ring.held;
  }

  /** True once this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `value` to every open receiver and returns how many that is. With no receiver the
   * value is not stored (nobody could ever read it) and 0 is returned. Never waits.
   *
   * @example
   * ```ts
   * if (tx.send(line) === 0) console.log('nobody is listening');
   * ```
   */
  send(value: T): number {
    if (this.#closed) throw new ClosedError('this broadcast Sender');
    checkNotPending('BroadcastSender.send()', value);
    const state = this.#state;
    const readers = state.receivers;
    if (readers === 0) return 0;
    state.ring.write(value, readers);
    if (state.waiters.length > 0) state.waiters.wakeAll();
    return readers;
  }

  /**
   * A new receiver that sees the messages sent from now on.
   *
   * @example
   * ```ts
   * spawn(handleSubscriber(tx.subscribe(), outbound));
   * ```
   */
  subscribe(): BroadcastReceiver<T> {
    if (this.#closed) throw new ClosedError('this broadcast Sender');
    return subscribe(this.#state);
  }

  /**
   * Another sender for the same channel.
   *
   * @example
   * ```ts
   * const poster = tx.clone();
   * ```
   */
  clone(): BroadcastSender<T> {
    if (this.#closed) throw new ClosedError('this broadcast Sender');
    this.#state.senders++;
    return newSender(this.#state);
  }

  /**
   * Closes this handle (idempotent). When the last sender closes, receivers read what is held
   * and then get `RecvClosedError`.
   *
   * @example
   * ```ts
   * tx.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (--this.#state.senders === 0) this.#state.waiters.wakeAll();
  }
}
