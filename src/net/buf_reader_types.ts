// The names BufReader's API uses besides BufReader itself: what it reads from, its options and
// the errors it throws.
import type { Future } from '../future.js';

/**
 * A line was longer than the limit. The reader skips that line (up to its `\n`), so the next
 * `readLine()` returns the line after it.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof LineTooLongError) reply(`line too long (limit ${e.limit} bytes)`); }
 * ```
 */
export class LineTooLongError extends Error {
  override name = 'LineTooLongError';
  readonly code = 'ERR_LINE_TOO_LONG';
  constructor(readonly limit: number) {
    super(`line too long (limit ${limit} bytes)`);
  }
}

/**
 * A frame header announced more bytes than `maxFrameBytes`. The header stays unread: a byte
 * stream cannot be resynchronised after it, so close the connection.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof FrameTooLargeError) stream.close(); }
 * ```
 */
export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError';
  readonly code = 'ERR_FRAME_TOO_LARGE';
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`frame of ${length} bytes is over the limit of ${limit} bytes`);
  }
}

/**
 * What a BufReader reads from: `read()` resolves to a view valid until the task suspends, empty
 * at EOF. A TcpStream is one.
 *
 * @example
 * ```ts
 * const source: ByteSource = stream;
 * ```
 */
export interface ByteSource {
  read(): Future<Uint8Array>;
}

/**
 * Options for `new BufReader()`.
 *
 * @example
 * ```ts
 * const reader = new BufReader(stream, { maxLineBytes: 64 * 1024, maxFrameBytes: 1 << 20 });
 * ```
 */
export interface BufReaderOptions {
  /** The default `readLine()` limit, in bytes (without the `\r\n`). Default 64 KiB. */
  maxLineBytes?: number;
  /** The largest frame `readFrame()` accepts. Default 16 MiB. */
  maxFrameBytes?: number;
}
