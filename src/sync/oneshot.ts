// oneshot: one value, sent once, from one task to another (a reply slot). The receiver is itself
// the future of that value.
import { ClosedError } from '../errors.js';
import { checkNotPending } from '../_validate.js';
import { PENDING, type Context, type Poll } from '../future.js';
import { AlreadySentError, RecvClosedError } from './errors.js';
import { CLOSED, EMPTY, type TryRecvResult } from './_results.js';
import { AwaitWakers, SharedFuture } from '../_shared_future.js';

/** What the two halves share. */
class OneshotState<T> {
  /** The value sent and not yet received. */
  value: T | undefined = undefined;
  /** Invariant: true from send() until the value is received or the receiver closes. */
  hasValue = false;
  /** The sender sent or closed: nothing more will come. */
  senderDone = false;
  /** The sender closed without sending. */
  senderClosed = false;
  /** The value was taken by the receiver. */
  received = false;
  /** The receiver was closed. */
  receiverClosed = false;
  /** The awaits pending on the receiver. */
  readonly awaits = new AwaitWakers();
}

/** Handle factories, set by the classes' static blocks: the constructors are private. */
let newSender: <T>(state: OneshotState<T>) => OneshotSender<T>;
let newReceiver: <T>(state: OneshotState<T>) => OneshotReceiver<T>;

/**
 * Makes a oneshot channel: `sender.send(v)` once, and await `receiver` for `v`.
 *
 * @example
 * ```ts
 * const { sender, receiver } = oneshot<number>();
 * spawn(function* () { sender.send(42); }());
 * const answer = yield* receiver; // 42
 * ```
 */
export function oneshot<T>(): { readonly sender: OneshotSender<T>; readonly receiver: OneshotReceiver<T> } {
  const state = new OneshotState<T>();
  return { sender: newSender(state), receiver: newReceiver(state) };
}

/**
 * The sending half of a {@link oneshot}: send one value, or close without sending (the receiver
 * then gets `RecvClosedError`).
 *
 * @example
 * ```ts
 * if (!sender.send(result)) console.log('nobody wanted the result');
 * ```
 */
export class OneshotSender<T> {
  readonly #state: OneshotState<T>;

  static {
    newSender = (state) => new OneshotSender(state);
  }

  /** Made by `oneshot()` only. */
  private constructor(state: OneshotState<T>) {
    this.#state = state;
  }

  /**
   * Sends the value. Returns true if the receiver can get it, false if the receiver was already
   * closed (the value is then dropped). A second call throws {@link AlreadySentError}; a call
   * after `close()` throws `ClosedError`.
   *
   * @example
   * ```ts
   * sender.send('done');
   * ```
   */
  send(value: T): boolean {
    const state = this.#state;
    if (state.senderClosed) throw new ClosedError('this oneshot Sender');
    if (state.senderDone) throw new AlreadySentError();
    checkNotPending('OneshotSender.send()', value);
    state.senderDone = true;
    if (state.receiverClosed) return false;
    state.value = value;
    state.hasValue = true;
    wakeReceiver(state);
    return true;
  }

  /**
   * Closes without sending (idempotent; a no-op after a send). The receiver gets `RecvClosedError`.
   *
   * @example
   * ```ts
   * try { work(); } finally { sender.close(); } // the waiter is never left hanging
   * ```
   */
  close(): void {
    const state = this.#state;
    if (state.senderDone) return;
    state.senderDone = true;
    state.senderClosed = true;
    wakeReceiver(state);
  }
}

/**
 * The receiving half of a {@link oneshot}, and the future of its value: `yield* receiver`. It
 * throws {@link RecvClosedError} if the sender closed without sending (or the value was already
 * received), and `ClosedError` once the receiver itself was closed.
 *
 * Cancel safety: awaiting it is cancel-safe. The value stays in the channel until a poll returns
 * it; a dropped await (timeout, select, cancelled task) forgets only its waker, and the receiver
 * may be awaited again.
 *
 * @example
 * ```ts
 * const { sender, receiver } = oneshot<string>();
 * spawn(worker(sender));
 * const reply = yield* timeout(1_000, receiver);
 * ```
 */
export class OneshotReceiver<T> extends SharedFuture<T> {
  readonly #state: OneshotState<T>;

  static {
    newReceiver = (state) => new OneshotReceiver(state);
  }

  /** Made by `oneshot()` only. */
  private constructor(state: OneshotState<T>) {
    super();
    this.#state = state;
  }

  /** @internal */
  _pollFor(key: object, cx: Context): Poll<T> {
    const state = this.#state;
    if (state.receiverClosed) throw new ClosedError('this oneshot Receiver');
    if (state.hasValue) return take(state);
    if (state.received) throw new RecvClosedError('the oneshot value was already received');
    if (state.senderDone) throw new RecvClosedError('the oneshot Sender was closed without sending a value');
    state.awaits.set(key, cx.waker);
    return PENDING;
  }

  /** @internal */
  _dropFor(key: object): void {
    this.#state.awaits.delete(key);
  }

  /**
   * Takes the value if it was sent, without waiting.
   *
   * @example
   * ```ts
   * const r = receiver.tryRecv();
   * if (r.ok) console.log(r.value);
   * ```
   */
  tryRecv(): TryRecvResult<T> {
    const state = this.#state;
    if (state.receiverClosed) throw new ClosedError('this oneshot Receiver');
    if (state.hasValue) return { ok: true, value: take(state) };
    return state.senderDone ? CLOSED : EMPTY;
  }

  /**
   * Closes the receiver (idempotent): a later `send` returns false, a value already sent is
   * dropped.
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
    state.value = undefined;
    state.hasValue = false;
    wakeReceiver(state); // a task awaiting the receiver sees ClosedError
  }
}

/** Moves the value out to the receiver. */
function take<T>(state: OneshotState<T>): T {
  const value = state.value as T;
  state.value = undefined;
  state.hasValue = false;
  state.received = true;
  state.awaits.wakeAll(); // any other awaits learn that the value is gone
  return value;
}

/** Wakes the awaits pending on the receiver. */
function wakeReceiver(state: OneshotState<unknown>): void {
  state.awaits.wakeAll();
}
