// The error types wakeloop throws. Each says what went wrong and carries a stable `code`.
import { getSystemErrorName } from 'node:util';
import { binding } from './_binding.js';

export { StateError } from './state_error.js';

/**
 * A failed system call: `code` is the errno name (`'ECONNRESET'`), `errno` its positive number.
 *
 * @example
 * ```ts
 * try { yield* stream.writeAll(data); }
 * catch (e) { if (e instanceof IoError && e.code === 'EPIPE') return; throw e; }
 * ```
 */
export class IoError extends Error {
  override name = 'IoError';
  /** The errno name, e.g. 'ECONNREFUSED'. */
  readonly code: string;
  /** The positive errno number. */
  readonly errno: number;
  /** The call that failed, e.g. 'connect'. */
  readonly syscall: string;

  constructor(syscall: string, errno: number, detail?: string) {
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    super(`${syscall}${detail ? ` ${detail}` : ''}: ${binding.strerror(positive)} (${code})`);
    this.code = code;
    this.errno = positive;
    this.syscall = syscall;
  }
}

/** The errno name for a positive errno number ('E' + number when unknown). */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

/**
 * Thrown when an object is used after `close()` (a stream, listener, executor or channel), and
 * by an mpsc `send()` once the receiver is closed (`ClosedError: the mpsc Receiver is closed`).
 *
 * @example
 * ```ts
 * stream.close();
 * stream.read(); // throws ClosedError: TcpStream is closed
 * ```
 */
export class ClosedError extends Error {
  override name = 'ClosedError';
  readonly code = 'ERR_CLOSED';
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/**
 * What awaiting a cancelled task's JoinHandle throws.
 *
 * @example
 * ```ts
 * handle.cancel();
 * try { yield* handle; } catch (e) { console.log(e instanceof CancelledError); } // true
 * ```
 */
export class CancelledError extends Error {
  override name = 'CancelledError';
  readonly code = 'ERR_CANCELLED';
  constructor(message = 'the task was cancelled') {
    super(message);
  }
}

/**
 * Thrown by `timeout(ms, future)` when the time runs out first.
 *
 * @example
 * ```ts
 * try { yield* timeout(100, stream.read()); } catch (e) { if (e instanceof TimeoutError) ... }
 * ```
 */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}
