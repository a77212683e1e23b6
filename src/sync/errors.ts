// The typed errors of the single-executor sync primitives (Mutex, broadcast, mpsc, oneshot).
// Misusing a handle after its own close() throws the shared ClosedError from ../errors.ts; the
// classes here are the outcomes that are not misuse.

/**
 * Thrown by a broadcast `Receiver.recv()` that fell more than `capacity` messages behind: the
 * oldest messages it had not read were overwritten. `missed` says how many. The receiver has
 * already moved on to the oldest message still held, so the next `recv()` returns it; the
 * error is reported once per gap.
 *
 * @example
 * ```ts
 * try {
 *   const msg = yield* rx.recv();
 * } catch (e) {
 *   if (e instanceof LaggedError) console.log(`skipped ${e.missed} messages`);
 *   else throw e;
 * }
 * ```
 */
export class LaggedError extends Error {
  override name = 'LaggedError';
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_LAGGED';

  constructor(
    /** How many messages this receiver will never see. */
    readonly missed: number,
  ) {
    super(`the receiver lagged behind and missed ${missed} message${missed === 1 ? '' : 's'}`);
  }
}

/**
 * The normal end of a stream: every sender is closed (or the oneshot sender closed without
 * sending) and everything sent has been received. Thrown by `recv()` of broadcast and mpsc
 * receivers and by awaiting a oneshot receiver.
 *
 * It is deliberately not a `ClosedError`: `ClosedError` means a handle was used after its own
 * `close()` (a bug), or an mpsc sender sent to a receiver that is gone (nobody would read it);
 * `RecvClosedError` means the senders finished (expected).
 *
 * @example
 * ```ts
 * for (;;) {
 *   let msg: string;
 *   try { msg = yield* rx.recv(); }
 *   catch (e) { if (e instanceof RecvClosedError) break; throw e; }
 *   handle(msg);
 * }
 * ```
 */
export class RecvClosedError extends Error {
  override name = 'RecvClosedError';
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_RECV_CLOSED';

  constructor(message = 'the channel is closed: every sender is gone and nothing is left to receive') {
    super(message);
  }
}

/**
 * Thrown when a `MutexGuard` is used after it was released: a second `release()`, or reading or
 * writing `guard.value` afterwards. By then the lock may belong to another task.
 *
 * @example
 * ```ts
 * const guard = yield* mutex.lock();
 * guard.release();
 * try { guard.release(); } catch (e) { console.log(e instanceof GuardReleasedError); } // true
 * ```
 */
export class GuardReleasedError extends Error {
  override name = 'GuardReleasedError';
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_GUARD_RELEASED';

  constructor(what: string) {
    super(`${what}: this MutexGuard was already released (the lock may belong to another task now)`);
  }
}

/**
 * Thrown by a oneshot `Sender.send()` called a second time: a oneshot carries one value.
 *
 * @example
 * ```ts
 * const { sender } = oneshot<number>();
 * sender.send(1);
 * try { sender.send(2); } catch (e) { console.log(e instanceof AlreadySentError); } // true
 * ```
 */
export class AlreadySentError extends Error {
  override name = 'AlreadySentError';
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_ALREADY_SENT';

  constructor() {
    super('oneshot Sender.send(): a value was already sent; a oneshot carries exactly one value');
  }
}
