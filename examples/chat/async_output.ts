/**
 * Stdout and stderr written through the running executor's reactor, for the chat client. A
 * terminal's stdin and stdout are one open file, so making stdin non-blocking (see `stdin.ts`)
 * makes stdout non-blocking too; a terminal stopped with Ctrl-S, or a pipe nobody drains, then
 * fails writes with EAGAIN. A synchronous retry would spin at full CPU and never get back to the
 * executor, so Ctrl-C would go unanswered; here the write waits for the fd to become writable,
 * and the other tasks and the signal futures keep running meanwhile.
 *
 * @module
 */
import { constants } from 'node:os';
import { IoError, PENDING, pollFn, sys, type AsyncFd, type Context, type Future, type Poll } from '../../src/index.js';
import { unwatch, watchNonBlocking } from './nonblocking_fd.js';

const EAGAIN = constants.errno.EAGAIN;

/**
 * An output fd the executor writes without blocking its thread. It switches the fd to
 * non-blocking mode; `close()` switches it back to blocking, as programs normally find it.
 *
 * @example
 * ```ts
 * const stdout = new AsyncOutput(1, 'stdout');
 * try {
 *   yield* stdout.write('message posted to dogs: hi\n');
 * } finally {
 *   stdout.close();
 * }
 * ```
 */
export class AsyncOutput {
  readonly #fd: number;
  readonly #name: string;
  readonly #afd: AsyncFd;
  /**
   * Bytes taken but not yet written, oldest first. Each write waits for the queue to empty, so
   * it holds at most one text per waiting writer; a write dropped midway leaves its rest here,
   * for `flush()` or the next write to finish first.
   */
  readonly #queue: Uint8Array[] = [];
  #closed = false;

  /** Must run on an executor's thread (inside `blockOn` or a task), like any reactor source. */
  constructor(fd: number, name: string) {
    this.#fd = fd;
    this.#name = name;
    this.#afd = watchNonBlocking(fd, name);
  }

  /**
   * Writes `text` (UTF-8), after anything queued before it; ready once all of it is written. It
   * takes the text when first polled. An IoError if the fd fails (EPIPE when the reader is gone).
   *
   * @example
   * ```ts
   * yield* stderr.write('Ignoring unrecognized command: "hello"\n');
   * ```
   */
  write(text: string): Future<void> {
    let taken = false;
    return pollFn((cx) => {
      if (!taken) {
        this.#check();
        this.#queue.push(Buffer.from(text, 'utf8'));
        taken = true;
      }
      return this.#drain(cx);
    });
  }

  /**
   * Ready once everything queued is written: the rest of a write that was dropped midway.
   *
   * @example
   * ```ts
   * yield* stdout.flush();
   * ```
   */
  flush(): Future<void> {
    return pollFn((cx) => {
      this.#check();
      return this.#drain(cx);
    });
  }

  /** Forgets what is still queued, deregisters the fd (it stays open) and makes it blocking. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    unwatch(this.#afd);
  }

  #drain(cx: Context): Poll<void> {
    while (this.#queue.length > 0) {
      if (!this.#afd.pollWritable(cx)) return PENDING;
      const head = this.#queue[0];
      const n = sys.write(this.#fd, head, 0, head.length);
      if (n === -EAGAIN) {
        this.#afd.clearWritable(); // edge-triggered: the next edge comes when the reader drains
      } else if (n < 0) {
        throw new IoError('write', n, `to ${this.#name}`);
      } else if (n === head.length) {
        this.#queue.shift();
      } else {
        this.#queue[0] = head.subarray(n);
      }
    }
    return undefined;
  }

  #check(): void {
    if (this.#closed) throw new Error(`${this.#name} output is closed`);
  }
}
