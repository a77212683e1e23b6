// AsyncFd: the reactor's readiness tracking for an fd the program manages itself, the building
// block of hand-written I/O futures (as in the SocketRead example).
import { ClosedError } from '../errors.js';
import { Executor } from '../executor.js';
import type { Context } from '../future.js';
import { READ_READY, READABLE, WRITABLE, WRITE_READY, type IoSource, type Reactor } from '../reactor.js';
import { describe } from '../task.js';
import { checkOwnReactor } from '../_own_reactor.js';
import { checkInteger } from '../_validate.js';

/**
 * Registers a non-blocking fd with the running executor's reactor. A future tries its syscall;
 * on EAGAIN it calls `clearReadable()` and `pollReadable(cx)`, which stores the task's waker and
 * returns false; the reactor wakes the task when the kernel reports the fd readable again.
 * The fd stays the caller's: `deregister()` before closing it.
 *
 * Each direction keeps one waker: a `pollReadable` stores `cx.waker` in place of the one before
 * it (which it wakes, so that task re-checks), so two tasks waiting to read one AsyncFd would
 * wake each other without end. Wait in one task per direction, or fan out as `TcpListener`
 * does for its acceptors.
 *
 * @example
 * ```ts
 * const afd = new AsyncFd(fd);
 * // in poll(cx):
 * const n = sys.read(fd, buf, 0, buf.length);
 * if (n === -os.constants.errno.EAGAIN) { afd.clearReadable(); if (!afd.pollReadable(cx)) return PENDING; }
 * ```
 */
export class AsyncFd {
  readonly #source: IoSource;
  readonly #reactor: Reactor;
  #registered = true;

  constructor(readonly fd: number) {
    checkInteger('new AsyncFd()', 'fd', fd, 0, 2 ** 31 - 1);
    this.#reactor = Executor.current().reactor;
    this.#source = this.#reactor.register(fd);
  }

  /** True if a read may make progress; otherwise stores `cx.waker` and returns false. */
  pollReadable(cx: Context): boolean {
    this.#check(cx, 'pollReadable');
    if (this.#source.readiness & READ_READY) return true;
    this.#reactor.waitReadable(this.#source, cx.waker);
    return false;
  }

  /** True if a write may make progress; otherwise stores `cx.waker` and returns false. */
  pollWritable(cx: Context): boolean {
    this.#check(cx, 'pollWritable');
    if (this.#source.readiness & WRITE_READY) return true;
    this.#reactor.waitWritable(this.#source, cx.waker);
    return false;
  }

  /**
   * After a read returned EAGAIN: readable again only once the kernel says so. Also clears
   * ERROR (16): an error the kernel signalled was returned by an earlier call, or this one would
   * have returned it.
   */
  clearReadable(): void {
    this.#source.sawEagain(READABLE);
  }

  /** After a write returned EAGAIN; clears ERROR too, as clearReadable() does. */
  clearWritable(): void {
    this.#source.sawEagain(WRITABLE);
  }

  /** The readiness bits the reactor holds (READABLE 1, WRITABLE 2, READ_CLOSED 4, WRITE_CLOSED 8, ERROR 16, URGENT 32). */
  get readiness(): number {
    return this.#source.readiness;
  }

  /** Deregisters the fd (it is not closed). Pending waiters are woken. Idempotent. */
  deregister(): void {
    if (!this.#registered) return;
    this.#registered = false;
    this.#reactor.deregister(this.#source);
  }

  /** The waker is stored and called at the next event, far from here: check it now. */
  #check(cx: Context, what: string): void {
    if (!this.#registered) throw new ClosedError('AsyncFd');
    checkOwnReactor(this.#reactor, 'AsyncFd');
    if (typeof cx?.waker?.wake !== 'function') {
      throw new TypeError(`AsyncFd.${what}(cx): cx must be the Context the future was polled with, got ${describe(cx)}`);
    }
  }
}
