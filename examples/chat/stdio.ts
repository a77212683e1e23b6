/**
 * Standard input and output as wakeloop byte streams, so the chat client reads its commands,
 * reads the server and prints its messages on one executor. A pipe or a TTY is registered with
 * the reactor like a socket and used non-blocking: a reader that stops (a full pipe, a paused
 * terminal) makes the printing task wait in the reactor, where a signal still ends the program,
 * instead of blocking the thread in write(2). A regular file cannot be registered (epoll says
 * EPERM), and the reactor then treats it as always ready, which is right: a file never waits.
 *
 * @module
 */
import { constants } from 'node:os';
import { AsyncFd, IoError, PENDING, pollFn, sys, type ByteSource, type Future } from '../../src/index.js';

const EAGAIN = constants.errno.EAGAIN;
const utf8 = new TextEncoder();

/**
 * One of the standard fds, non-blocking and registered with the running executor's reactor.
 * Non-blocking mode belongs to the open file, shared with every process using the same terminal
 * or pipe: `close()` switches it back (to blocking, the way programs normally find it) and must
 * run before the program exits.
 */
class StdioFd {
  protected readonly afd: AsyncFd;
  #closed = false;

  constructor(
    protected readonly fd: number,
    name: string,
  ) {
    const rc = sys.setNonBlocking(fd, true);
    if (rc < 0) throw new IoError('fcntl O_NONBLOCK', rc, `on ${name}`);
    try {
      this.afd = new AsyncFd(fd);
    } catch (error) {
      sys.setNonBlocking(fd, false);
      throw error;
    }
  }

  /**
   * Deregisters the fd (it stays open) and makes it blocking again. Idempotent.
   *
   * @example
   * ```ts
   * stdin.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.afd.deregister();
    sys.setNonBlocking(this.fd, false);
  }
}

/**
 * Reads fd 0 through the running executor's reactor.
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
export class Stdin extends StdioFd implements ByteSource {
  /** Where reads land; the returned views are valid until the next read, as the BufReader needs. */
  readonly #buf = new Uint8Array(16 * 1024);

  constructor() {
    super(0, 'stdin');
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
        if (!this.afd.pollReadable(cx)) return PENDING;
        const n = sys.read(this.fd, this.#buf, 0, this.#buf.length);
        if (n >= 0) return this.#buf.subarray(0, n);
        if (n !== -EAGAIN) throw new IoError('read', n, 'from stdin');
        this.afd.clearReadable();
      }
    });
  }
}

/**
 * Writes fd 1 through the running executor's reactor.
 *
 * @example
 * ```ts
 * const stdout = new Stdout();
 * try {
 *   yield* stdout.write('message posted to dogs: hi\n');
 * } finally {
 *   stdout.close();
 * }
 * ```
 */
export class Stdout extends StdioFd {
  constructor() {
    super(1, 'stdout');
  }

  /**
   * Writes all of `text` (UTF-8), waiting while stdout cannot take more. Dropped before it
   * completes, it may have written part of the text.
   *
   * @example
   * ```ts
   * yield* stdout.write('message posted to dogs: hi\n');
   * ```
   */
  write(text: string): Future<void> {
    const bytes = utf8.encode(text);
    let at = 0;
    return pollFn((cx) => {
      while (at < bytes.length) {
        if (!this.afd.pollWritable(cx)) return PENDING;
        const n = sys.write(this.fd, bytes, at, bytes.length - at);
        if (n >= 0) at += n;
        else if (n === -EAGAIN) this.afd.clearWritable();
        else throw new IoError('write', n, 'to stdout');
      }
      return undefined;
    });
  }
}
