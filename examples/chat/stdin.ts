/**
 * Standard input as a wakeloop byte source, so the chat client reads its commands on the same
 * executor that reads the server. A pipe or a TTY is registered with the reactor like a socket
 * and read non-blocking; a regular file cannot be registered (epoll says EPERM), and the
 * reactor then treats it as always ready, which is right: reading a file never waits.
 *
 * @module
 */
import { constants } from 'node:os';
import { IoError, PENDING, pollFn, sys, type AsyncFd, type ByteSource, type Future } from '../../src/index.js';
import { unwatch, watchNonBlocking } from './nonblocking_fd.js';

const EAGAIN = constants.errno.EAGAIN;

/**
 * Reads fd 0 through the running executor's reactor. It switches the fd to non-blocking mode,
 * which is shared with every process using the same terminal or pipe: `close()` switches it
 * back (to blocking, the way programs normally find it) and must run before the program exits.
 *
 * @example
 * ```ts
 * const stdin = new Stdin();
 * try {
 *   const reader = new BufReader(stdin);
 *   const line = yield* reader.readLine();
 * } finally {
 *   stdin.close();
 * }
 * ```
 */
export class Stdin implements ByteSource {
  readonly #fd = 0;
  readonly #afd: AsyncFd;
  /** Where reads land; the returned views are valid until the next read, as the BufReader needs. */
  readonly #buf = new Uint8Array(16 * 1024);
  #closed = false;

  constructor() {
    this.#afd = watchNonBlocking(this.#fd, 'stdin');
  }

  /**
   * The bytes available now, waiting until some are; empty at end of input.
   *
   * @example
   * ```ts
   * const chunk = yield* stdin.read();
   * ```
   */
  read(): Future<Uint8Array> {
    return pollFn((cx) => {
      for (;;) {
        if (!this.#afd.pollReadable(cx)) return PENDING;
        const n = sys.read(this.#fd, this.#buf, 0, this.#buf.length);
        if (n >= 0) return this.#buf.subarray(0, n);
        if (n !== -EAGAIN) throw new IoError('read', n, 'from stdin');
        this.#afd.clearReadable();
      }
    });
  }

  /**
   * Deregisters fd 0 (it stays open) and makes it blocking again. Idempotent.
   *
   * @example
   * ```ts
   * stdin.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unwatch(this.#afd);
  }
}
