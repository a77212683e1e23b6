// mpsc: many senders, one receiver, values in FIFO order. `channel(n)` is bounded: `send` waits
// while n values are queued, which is how a slow consumer pushes back on its producers.
// `unboundedChannel()` never waits (and so never pushes back).
import { ClosedError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { coop } from '../_coop.js';
import { checkInteger, checkNotPending } from '../_validate.js';
import { ChannelState, enqueue, grantSlots } from './_channel_state.js';
import { SENT, type TrySendResult } from './_results.js';
import { Waiter } from './_waiter_queue.js';
import { Receiver, newReceiver } from './_mpsc_receiver.js';

export { Receiver };

/** The largest capacity accepted. */
const MAX_CAPACITY = 2 ** 30;

/** Handle factories, set by the classes' static blocks: the constructors are private. */
let newSender: <T>(state: ChannelState<T>) => Sender<T>;
let newUnboundedSender: <T>(state: ChannelState<T>) => UnboundedSender<T>;

/**
 * Makes a bounded channel holding at most `capacity` values (an integer >= 1).
 *
 * @example
 * ```ts
 * const { sender, receiver } = channel<string>(64);
 * spawn(function* () { yield* sender.send('job'); sender.close(); }());
 * const job = yield* receiver.recv();
 * ```
 */
export function channel<T>(capacity: number): { readonly sender: Sender<T>; readonly receiver: Receiver<T> } {
  checkInteger('channel()', 'capacity', capacity, 1, MAX_CAPACITY);
  const state = new ChannelState<T>(capacity);
  return { sender: newSender(state), receiver: newReceiver(state) };
}

/**
 * Makes a channel with no bound: `send` never waits. Memory grows with what the receiver has not
 * taken yet, so prefer `channel(n)` when producers can outrun the consumer.
 *
 * @example
 * ```ts
 * const { sender, receiver } = unboundedChannel<number>();
 * sender.send(1);
 * console.log(receiver.tryRecv()); // { ok: true, value: 1 }
 * ```
 */
export function unboundedChannel<T>(): { readonly sender: UnboundedSender<T>; readonly receiver: Receiver<T> } {
  const state = new ChannelState<T>(Infinity);
  return { sender: newUnboundedSender(state), receiver: newReceiver(state) };
}

/**
 * The sending half of a bounded {@link channel}. Clone it for more producers; `close()` each
 * handle when done: once every sender is closed, the receiver gets the values still queued and
 * then `RecvClosedError`.
 *
 * Cancel safety: dropping a pending `send()` never enqueues its value (send it again if you
 * still want it delivered) and never loses another sender's wake-up: if a free slot had already
 * been reserved for it, the drop hands that slot to the next waiting sender. What a dropped send
 * loses is its place in the line of waiting senders.
 *
 * @example
 * ```ts
 * const { sender, receiver } = channel<Uint8Array>(16);
 * const worker = sender.clone();
 * yield* worker.send(chunk); // waits while 16 chunks are queued
 * ```
 */
export class Sender<T> {
  readonly #state: ChannelState<T>;
  #closed = false;
  /**
   * @internal The queue entries of this handle's sends waiting in line, so that close() wakes
   * them without scanning every sender's.
   */
  _waiting: Set<Waiter> | null = null;

  static {
    newSender = (state) => new Sender(state);
  }

  /** Made by `channel()` and `clone()` only. */
  private constructor(state: ChannelState<T>) {
    this.#state = state;
  }

  /** True once this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `value`, waiting while the channel is full. Senders are served in FIFO order. Throws
   * `ClosedError` (at the await) if the receiver is closed; the value is then not delivered.
   *
   * @example
   * ```ts
   * yield* sender.send({ kind: 'line', text });
   * ```
   */
  send(value: T): Future<void> {
    if (this.#closed) throw new ClosedError('this mpsc Sender');
    checkNotPending('Sender.send()', value);
    return new Send(this.#state, this, value);
  }

  /**
   * Sends at once if there is room and no sender waits; otherwise hands the value back with the
   * reason ('full' or 'closed').
   *
   * @example
   * ```ts
   * const r = sender.trySend(event);
   * if (!r.ok) dropped++;
   * ```
   */
  trySend(value: T): TrySendResult<T> {
    if (this.#closed) throw new ClosedError('this mpsc Sender');
    checkNotPending('Sender.trySend()', value);
    const state = this.#state;
    if (state.receiverClosed) return { ok: false, reason: 'closed', value };
    if (!state.hasRoom) return { ok: false, reason: 'full', value };
    enqueue(state, value);
    return SENT;
  }

  /**
   * Another sender for the same channel.
   *
   * @example
   * ```ts
   * spawn(producer(sender.clone()));
   * ```
   */
  clone(): Sender<T> {
    if (this.#closed) throw new ClosedError('this mpsc Sender');
    this.#state.senders++;
    return new Sender(this.#state);
  }

  /**
   * Closes this handle (idempotent). A send of this handle still waiting fails with ClosedError.
   *
   * @example
   * ```ts
   * sender.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const state = this.#state;
    if (this._waiting !== null) state.sendWaiters.wakeListed(this._waiting);
    if (--state.senders === 0) state.recvWaiters.wakeAll();
  }
}

/**
 * The sending half of an {@link unboundedChannel}: `send` queues at once and never waits.
 *
 * @example
 * ```ts
 * const { sender } = unboundedChannel<string>();
 * sender.send('log line');
 * ```
 */
export class UnboundedSender<T> {
  readonly #state: ChannelState<T>;
  #closed = false;

  static {
    newUnboundedSender = (state) => new UnboundedSender(state);
  }

  /** Made by `unboundedChannel()` and `clone()` only. */
  private constructor(state: ChannelState<T>) {
    this.#state = state;
  }

  /** True once this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues `value`. Throws `ClosedError` if this handle or the receiver is closed.
   *
   * @example
   * ```ts
   * sender.send(42);
   * ```
   */
  send(value: T): void {
    if (this.#closed) throw new ClosedError('this mpsc UnboundedSender');
    checkNotPending('UnboundedSender.send()', value);
    if (this.#state.receiverClosed) throw new ClosedError('the mpsc Receiver');
    enqueue(this.#state, value);
  }

  /**
   * Another sender for the same channel.
   *
   * @example
   * ```ts
   * const logger = sender.clone();
   * ```
   */
  clone(): UnboundedSender<T> {
    if (this.#closed) throw new ClosedError('this mpsc UnboundedSender');
    this.#state.senders++;
    return new UnboundedSender(this.#state);
  }

  /**
   * Closes this handle (idempotent); the receiver ends once every sender is closed.
   *
   * @example
   * ```ts
   * sender.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (--this.#state.senders === 0) this.#state.recvWaiters.wakeAll();
  }
}

/** The future of `Sender.send()`: holds the value until a slot takes it. */
class Send<T> extends Future<void> {
  readonly #state: ChannelState<T>;
  readonly #sender: Sender<T>;
  /** The value to send; cleared once sent or dropped. */
  #value: T | undefined;
  /** Our place among the waiting senders; made on the first pending poll. */
  #waiter: Waiter | null = null;
  #done = false;

  constructor(state: ChannelState<T>, sender: Sender<T>, value: T) {
    super();
    this.#state = state;
    this.#sender = sender;
    this.#value = value;
  }

  poll(cx: Context): Poll<void> {
    if (this.#done) throw new TypeError('Sender.send(): this send future already completed or was cancelled; call send() again');
    const state = this.#state;
    const waiter = this.#waiter;
    if (this.#sender.closed) this.#fail(new ClosedError('this mpsc Sender'));
    if (state.receiverClosed) this.#fail(new ClosedError('the mpsc Receiver'));
    if (waiter !== null && waiter.granted) {
      waiter.granted = false;
      state.reserved--;
      return this.#push();
    }
    if (waiter !== null && waiter.linked) {
      state.sendWaiters.push(waiter, cx.waker);
      return PENDING;
    }
    if (state.hasRoom) {
      if (!coop.proceed()) {
        cx.waker.wake();
        return PENDING;
      }
      return this.#push();
    }
    if (this.#waiter === null) {
      this.#waiter = new Waiter();
      (this.#sender._waiting ??= new Set()).add(this.#waiter);
    }
    state.sendWaiters.push(this.#waiter, cx.waker);
    return PENDING;
  }

  override drop(): void {
    if (this.#done) return;
    this.#release();
  }

  #push(): void {
    const value = this.#value as T;
    this.#done = true;
    this.#value = undefined;
    if (this.#waiter !== null) this.#sender._waiting!.delete(this.#waiter);
    enqueue(this.#state, value);
  }

  /** Leaves the line and gives back a reserved slot, so the next sender gets it. */
  #release(): void {
    this.#done = true;
    this.#value = undefined;
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#sender._waiting!.delete(waiter);
    this.#state.sendWaiters.remove(waiter);
    if (waiter.granted) {
      waiter.granted = false;
      this.#state.reserved--;
      grantSlots(this.#state);
    }
  }

  #fail(error: Error): never {
    this.#release();
    throw error;
  }
}
