/**
 * Standard input, output and error as wakeloop byte streams, so the chat client reads its
 * commands, reads the server and prints its messages on one executor. A pipe or a TTY is registered with
 * the reactor like a socket and used non-blocking: a reader that stops (a full pipe, a paused
 * terminal) makes the printing task wait in the reactor, where a signal still ends the program,
 * instead of blocking the thread in write(2). A regular file cannot be registered (epoll says
 * EPERM), and the reactor then treats it as always ready, which is right: a file never waits.
 *
 * @module
 */
import { constants } from 'node:os';
import { AsyncFd, IoError, PENDING, pollFn, sys, type ByteSource, type Context, type Future } from '../../src/index.js';

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
 * Writes fd 1 or 2 through the running executor's reactor, one line at a time.
 *
 * @example
 * ```ts
 * const stdout = new Output(1);
 * try {
 *   yield* stdout.write('message posted to dogs: hi\n');
 * } finally {
 *   stdout.close();
 * }
 * ```
 */
export class Output extends StdioFd {
  /** The line of the latest write(), until it is all out: finish() completes one left part-way. */
  #current: { bytes: Uint8Array; at: number } | null = null;

  constructor(fd: 1 | 2) {
    super(fd, fd === 1 ? 'stdout' : 'stderr');
  }

  /**
   * Writes all of `text` (UTF-8), waiting while the fd cannot take more. Dropped part-way, it
   * leaves the rest to finish().
   *
   * @example
   * ```ts
   * yield* stdout.write('message posted to dogs: hi\n');
   * ```
   */
  write(text: string): Future<void> {
    const line = { bytes: utf8.encode(text), at: 0 };
    this.#current = line;
    return pollFn((cx) => this.#pump(cx, line));
  }

  /**
   * Writes the rest of a line whose write() was dropped after it began, so the output never
   * ends mid-line; done at once if there is none.
   *
   * @example
   * ```ts
   * yield* stdout.finish();
   * ```
   */
  finish(): Future<void> {
    const line = this.#current;
    return pollFn((cx) => (line === null || line.at === 0 ? undefined : this.#pump(cx, line)));
  }

  #pump(cx: Context, line: { bytes: Uint8Array; at: number }): typeof PENDING | undefined {
    while (line.at < line.bytes.length) {
      if (!this.afd.pollWritable(cx)) return PENDING;
      const n = sys.write(this.fd, line.bytes, line.at, line.bytes.length - line.at);
      if (n >= 0) line.at += n;
      else if (n === -EAGAIN) this.afd.clearWritable();
      else throw new IoError('write', n, `to ${this.fd === 1 ? 'stdout' : 'stderr'}`);
    }
    if (this.#current === line) this.#current = null;
    return undefined;
  }
}
