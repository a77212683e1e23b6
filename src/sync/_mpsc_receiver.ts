// The receiving half of an mpsc channel (mpsc.ts re-exports it). Its recv() future is recycled:
// once one completes, the next recv() hands out the same object again, so receiving from a busy
// channel allocates nothing.
import { ClosedError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { coop } from '../_coop.js';
import { ChannelState, grantSlots } from './_channel_state.js';
import { RecvClosedError } from './errors.js';
import { CLOSED, EMPTY, type TryRecvResult } from './_results.js';
import { Waiter } from './_waiter_queue.js';

/**
 * Makes the receiver of a new channel; set by Receiver's static block, as its constructor is
 * private.
 *
 * @example
 * ```ts
 * const receiver = newReceiver(new ChannelState<string>(8));
 * ```
 */
export let newReceiver: <T>(state: ChannelState<T>) => Receiver<T>;

/**
 * The receiving half of an mpsc channel (bounded or not). Values come out in the order they were
 * queued. Once every sender is closed and the queue is drained, `recv()` throws
 * {@link RecvClosedError} (the same end-of-stream signal as a broadcast receiver).
 *
 * `close()` drops the receiver: queued values are discarded, waiting and later sends fail with
 * `ClosedError`, and later calls on the receiver throw `ClosedError`.
 *
 * Cancel safety: `recv()` is cancel-safe. A value leaves the queue only in the poll that returns
 * it, so dropping a pending recv (timeout, select, cancelled task) loses nothing; the next
 * `recv()` gets the value.
 *
 * @example
 * ```ts
 * const { sender, receiver } = channel<string>(8);
 * for (;;) {
 *   let line: string;
 *   try { line = yield* receiver.recv(); }
 *   catch (e) { if (e instanceof RecvClosedError) break; throw e; }
 *   console.log(line);
 * }
 * ```
 */
export class Receiver<T> {
  readonly #state: ChannelState<T>;
  /** The recv future handed out last; reused by the next recv() once it is idle. */
  #recycled: Recv<T> | null = null;

  static {
    newReceiver = (state) => new Receiver(state);
  }

  /** Made by `channel()` and `unboundedChannel()` only. */
  private constructor(state: ChannelState<T>) {
    this.#state = state;
  }

  /** True once this receiver was closed. */
  get closed(): boolean {
    return this.#state.receiverClosed;
  }

  /** How many values are queued. */
  get len(): number {
    return this.#state.queue.length;
  }

  /**
   * Waits for the next value. Throws `RecvClosedError` once every sender is closed and nothing is
   * queued. Await the future once and do not keep it: after it completes, the next `recv()`
   * reuses it.
   *
   * @example
   * ```ts
   * const job = yield* receiver.recv();
   * ```
   */
  recv(): Future<T> {
    if (this.#state.receiverClosed) throw new ClosedError('this mpsc Receiver');
    let fut = this.#recycled;
    if (fut === null) fut = this.#recycled = new Recv(this.#state);
    else if (fut.busy) fut = new Recv(this.#state); // two recvs at once: the second is its own
    fut.issue();
    return fut;
  }

  /**
   * Takes the next value if one is queued, without waiting.
   *
   * @example
   * ```ts
   * const r = receiver.tryRecv();
   * if (r.ok) handle(r.value);
   * ```
   */
  tryRecv(): TryRecvResult<T> {
    const state = this.#state;
    if (state.receiverClosed) throw new ClosedError('this mpsc Receiver');
    if (state.queue.length > 0) {
      const value = state.queue.shift();
      grantSlots(state);
      return { ok: true, value };
    }
    return state.senders === 0 ? CLOSED : EMPTY;
  }

  /**
   * Closes the receiver (idempotent): discards what is queued and makes every send fail.
   *
   * @example
   * ```ts
   * receiver.close();
   * ```
   */
  close(): void {
    const state = this.#state;
    if (state.receiverClosed) return;
    state.receiverClosed = true;
    state.queue.clear();
    state.sendWaiters.wakeAll();
    state.recvWaiters.wakeAll();
  }
}

/** The future of `Receiver.recv()`; recycled by its receiver. */
class Recv<T> extends Future<T> {
  readonly #state: ChannelState<T>;
  /** Our entry among the waiting receive futures; made on the first pending poll. */
  #waiter: Waiter | null = null;
  /** Invariant: true from issue() until the future completes or is dropped. */
  #busy = false;

  constructor(state: ChannelState<T>) {
    super();
    this.#state = state;
  }

  /** True while handed out and not yet completed or dropped. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Hands the future out (again): it may be awaited once more. */
  issue(): void {
    this.rearm();
    this.#busy = true;
  }

  poll(cx: Context): Poll<T> {
    if (!this.#busy) throw new TypeError('Receiver.recv(): this future already completed or was cancelled; call recv() again');
    const state = this.#state;
    if (state.receiverClosed) {
      this.#finish();
      throw new ClosedError('this mpsc Receiver');
    }
    if (state.queue.length > 0) {
      if (!coop.proceed()) {
        cx.waker.wake(); // a busy channel must not starve the other tasks
        return PENDING;
      }
      this.#finish();
      const value = state.queue.shift();
      grantSlots(state);
      return value;
    }
    if (state.senders === 0) {
      this.#finish();
      throw new RecvClosedError('the mpsc channel is closed: every sender is closed and the queue is drained');
    }
    this.#waiter ??= new Waiter();
    state.recvWaiters.push(this.#waiter, cx.waker);
    return PENDING;
  }

  override drop(): void {
    if (this.#busy) this.#finish();
  }

  #finish(): void {
    this.#busy = false;
    if (this.#waiter !== null) this.#state.recvWaiters.remove(this.#waiter);
  }
}
