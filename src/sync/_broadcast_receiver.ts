// The receiving half of a broadcast channel (broadcast.ts re-exports it). Its recv() future is
// recycled: once one completes, the next recv() hands out the same object again, so receiving
// from a busy channel allocates nothing.
import { ClosedError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { coop } from '../_coop.js';
import { Cursor, type BroadcastState } from './_broadcast_ring.js';
import { LaggedError, RecvClosedError } from './errors.js';
import { CLOSED, EMPTY, type TryRecvResult } from './_results.js';
import { Waiter } from './_waiter_queue.js';

/**
 * What `BroadcastReceiver.tryRecv()` returns: a message, or why there is none. `'lagged'` means
 * `missed` messages were lost; the receiver moved on, so the next call returns the oldest held.
 *
 * @example
 * ```ts
 * const r = rx.tryRecv();
 * if (r.ok) show(r.value);
 * else if (r.reason === 'lagged') warn(`missed ${r.missed}`);
 * ```
 */
export type BroadcastTryRecvResult<T> =
  | TryRecvResult<T>
  | { readonly ok: false; readonly reason: 'lagged'; readonly missed: number };

/** Makes a receiver; set by BroadcastReceiver's static block, as its constructor is private. */
let newReceiver: <T>(state: BroadcastState<T>) => BroadcastReceiver<T>;

/**
 * Subscribes a new receiver to `state`: it sees the messages sent from now on.
 *
 * @example
 * ```ts
 * const rx = subscribe(state);
 * ```
 */
export function subscribe<T>(state: BroadcastState<T>): BroadcastReceiver<T> {
  return newReceiver(state);
}

/**
 * A receiving handle of a {@link broadcast} channel, made by `subscribe()`. It reads every message
 * sent after it subscribed, in order. If it falls more than `capacity` messages behind, the next
 * `recv()` throws one {@link LaggedError} telling how many it missed, then resumes at the oldest
 * message still held. Once every sender is closed and it has read everything, `recv()` throws
 * {@link RecvClosedError}. `close()` unsubscribes, so the channel stops keeping messages for it.
 *
 * Cancel safety: `recv()` is cancel-safe. The cursor moves only in the poll that returns a
 * message (or throws LaggedError), so dropping a pending recv loses nothing.
 *
 * @example
 * ```ts
 * function* relay(rx: BroadcastReceiver<string>): Task<void> {
 *   for (;;) {
 *     try { console.log(yield* rx.recv()); }
 *     catch (e) {
 *       if (e instanceof LaggedError) { console.log(`dropped ${e.missed}`); continue; }
 *       if (e instanceof RecvClosedError) return;
 *       throw e;
 *     }
 *   }
 * }
 * ```
 */
export class BroadcastReceiver<T> {
  readonly #state: BroadcastState<T>;
  readonly #cursor: Cursor;
  /** The recv future handed out last; reused by the next recv() once it is idle. */
  #recycled: Recv<T> | null = null;

  static {
    newReceiver = (state) => {
      state.receivers++;
      return new BroadcastReceiver(state);
    };
  }

  /** Receivers are made by `BroadcastSender.subscribe()` only. */
  private constructor(state: BroadcastState<T>) {
    this.#state = state;
    this.#cursor = new Cursor(state.ring.next);
  }

  /** True once this receiver was closed. */
  get closed(): boolean {
    return this.#cursor.closed;
  }

  /** Messages sent since this receiver's cursor; above `capacity` the next recv reports a lag. */
  get len(): number {
    return this.#state.ring.next - this.#cursor.seq;
  }

  /**
   * Waits for the next message. Await the future once and do not keep it: after it completes,
   * the next `recv()` reuses it, so receiving allocates nothing.
   *
   * @example
   * ```ts
   * const msg = yield* rx.recv();
   * ```
   */
  recv(): Future<T> {
    if (this.#cursor.closed) throw new ClosedError('this broadcast Receiver');
    let fut = this.#recycled;
    if (fut === null) fut = this.#recycled = new Recv(this.#state, this.#cursor, true);
    else if (fut.busy) fut = new Recv(this.#state, this.#cursor, false); // two recvs at once
    fut.issue();
    return fut;
  }

  /**
   * Takes the next message if there is one, without waiting.
   *
   * @example
   * ```ts
   * for (let r = rx.tryRecv(); r.ok; r = rx.tryRecv()) backlog.push(r.value);
   * ```
   */
  tryRecv(): BroadcastTryRecvResult<T> {
    const cursor = this.#cursor;
    if (cursor.closed) throw new ClosedError('this broadcast Receiver');
    const { ring } = this.#state;
    if (cursor.seq !== ring.next) {
      const missed = ring.catchUp(cursor);
      if (missed > 0) return { ok: false, reason: 'lagged', missed };
      return { ok: true, value: ring.read(cursor) };
    }
    return this.#state.senders === 0 ? CLOSED : EMPTY;
  }

  /**
   * Unsubscribes (idempotent): the messages it had not read are released, and a recv of it still
   * waiting fails with `ClosedError`.
   *
   * @example
   * ```ts
   * rx.close();
   * ```
   */
  close(): void {
    const cursor = this.#cursor;
    if (cursor.closed) return;
    cursor.closed = true;
    const state = this.#state;
    state.receivers--;
    state.ring.leave(cursor);
    state.waiters.wakeListed(cursor.waiters);
  }
}

/** The future of `BroadcastReceiver.recv()`; recycled by its receiver. */
class Recv<T> extends Future<T> {
  readonly #state: BroadcastState<T>;
  readonly #cursor: Cursor;
  /** Our entry among the waiting receive futures; made on the first pending poll. */
  #waiter: Waiter | null = null;
  /** Invariant: true from issue() until the future completes or is dropped. */
  #busy = false;

  /** @param recycled the receiver's reused future: its queue entry stays listed by the cursor. */
  constructor(
    state: BroadcastState<T>,
    cursor: Cursor,
    private readonly recycled: boolean,
  ) {
    super();
    this.#state = state;
    this.#cursor = cursor;
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
    if (!this.#busy) throw new TypeError('BroadcastReceiver.recv(): this future already completed or was cancelled; call recv() again');
    const cursor = this.#cursor;
    if (cursor.closed) {
      this.#finish();
      throw new ClosedError('this broadcast Receiver');
    }
    const { ring } = this.#state;
    if (cursor.seq !== ring.next) {
      if (!coop.proceed()) {
        cx.waker.wake(); // a busy channel must not starve the other tasks
        return PENDING;
      }
      this.#finish();
      const missed = ring.catchUp(cursor);
      if (missed > 0) throw new LaggedError(missed);
      return ring.read(cursor);
    }
    if (this.#state.senders === 0) {
      this.#finish();
      throw new RecvClosedError('the broadcast channel is closed: every sender is closed and all was read');
    }
    if (this.#waiter === null) {
      this.#waiter = new Waiter();
      cursor.waiters.push(this.#waiter);
    }
    this.#state.waiters.push(this.#waiter, cx.waker);
    return PENDING;
  }

  override drop(): void {
    if (this.#busy) this.#finish();
  }

  #finish(): void {
    this.#busy = false;
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#state.waiters.remove(waiter);
    if (!this.recycled) {
      // A second recv at once is used once: forget its entry so the list does not grow.
      const list = this.#cursor.waiters;
      list.splice(list.indexOf(waiter), 1);
      this.#waiter = null;
    }
  }
}
