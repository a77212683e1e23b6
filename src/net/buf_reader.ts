// BufReader: cancel-safe lines, frames and exact reads over a stream. Every byte taken from the
// stream lands in the reader (or in the value returned) before the poll that took it returns,
// so dropping a pending read loses nothing: the next call continues from the buffered bytes.
import { StateError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { describe } from '../task.js';
import { checkInteger, checkOptions } from '../_validate.js';
import { UnexpectedEofError } from './tcp_stream.js';
import { indexOfLf } from './_index_of_lf.js';
import { ReadOp } from './_read_op.js';
import { ReaderBytes } from './_reader_bytes.js';
import { FrameTooLargeError, LineTooLongError, type BufReaderOptions, type ByteSource } from './buf_reader_types.js';

const CR = 13;
const LINE = 0;
const FRAME = 1;
const EXACT = 2;
/** A parse step's answer when the buffered bytes do not hold a whole item yet. */
const MORE: unique symbol = Symbol('more');

/**
 * A buffered reader over a TcpStream (or any `ByteSource`) with cancel-safe `readLine()`,
 * `readFrame()` and `readExact()`: use them in `select` or `timeout` freely.
 *
 * Reads land in the executor's shared scratch buffer; what the reader takes from there is
 * copied into its own buffer, which grows as needed and is released again when drained (an
 * idle reader keeps at most 1 KiB). The arrays returned are views of the reader's own buffer,
 * never of the shared one, so other reads (another reader's call in the same `join()`) leave
 * them intact; a view is valid until the next call on this reader: `slice()` one to keep it
 * longer. One call at a time: a call made while another one waits for data throws. Calls
 * reuse one future once the previous call is done, so reading allocates no future per line.
 * Read the stream only through the reader once it has one.
 *
 * @example
 * ```ts
 * const reader = new BufReader(stream);
 * for (let line; (line = yield* reader.readLine()) !== null; ) handle(decoder.decode(line));
 * ```
 */
export class BufReader {
  readonly maxLineBytes: number;
  readonly maxFrameBytes: number;
  /** The bytes received and not yet returned. */
  readonly #bytes = new ReaderBytes();
  /** The source reported end of stream. */
  #eof = false;
  /** After a LineTooLongError without its `\n`: discard input up to the next `\n`. */
  #skipping = false;
  /** The source read in flight, kept across polls and dropped with the reading future. */
  #read: Future<Uint8Array> | null = null;
  /** The call whose poll started #read: only it may go on polling while #read is in flight. */
  #reading: ReadOp | null = null;
  /** The future calls hand out, reused once the last one is done (no allocation per line). */
  #op = new ReadOp(this);

  constructor(
    readonly stream: ByteSource,
    options: BufReaderOptions = {},
  ) {
    if (typeof stream !== 'object' || stream === null || typeof stream.read !== 'function') {
      throw new TypeError(`new BufReader(stream): stream must be a TcpStream or another ByteSource, got ${describe(stream)}`);
    }
    checkOptions('new BufReader()', options, ['maxLineBytes', 'maxFrameBytes']);
    this.maxLineBytes = checkInteger('new BufReader()', 'maxLineBytes', options.maxLineBytes ?? 64 * 1024, 0, 2 ** 31 - 1);
    this.maxFrameBytes = checkInteger('new BufReader()', 'maxFrameBytes', options.maxFrameBytes ?? 16 << 20, 0, 2 ** 32 - 1);
  }

  /** Bytes received and not yet returned. */
  get buffered(): number {
    return this.#bytes.end - this.#bytes.start;
  }

  /** The size of the reader's own buffer (at most 1 KiB while nothing is buffered). */
  get capacity(): number {
    return this.#bytes.buf.length;
  }

  /**
   * The next line without its `\n` (and a `\r` before it), or null at end of stream. A last line
   * with no `\n` is returned as it is. A line over `maxBytes` throws `LineTooLongError` as soon as
   * more than that is buffered, so memory stays bounded. Cancel-safe.
   *
   * @example
   * ```ts
   * const line = yield* reader.readLine(); // null: the peer closed
   * ```
   */
  readLine(maxBytes: number = this.maxLineBytes): Future<Uint8Array | null> {
    checkInteger('BufReader.readLine()', 'maxBytes', maxBytes, 0, 2 ** 31 - 1);
    return this.#nextOp().start(LINE, maxBytes);
  }

  /**
   * The next frame: a 4-byte big-endian length, then that many bytes (returned). Null at end of
   * stream between frames; `UnexpectedEofError` inside one; `FrameTooLargeError` for a length
   * over `maxFrameBytes`. Cancel-safe.
   *
   * @example
   * ```ts
   * const frame = yield* reader.readFrame();
   * ```
   */
  readFrame(): Future<Uint8Array | null> {
    return this.#nextOp().start(FRAME, 0);
  }

  /**
   * Exactly `n` bytes, or `UnexpectedEofError` if the stream ends first. Unlike
   * `TcpStream.readExact()` it is cancel-safe: a dropped call leaves its bytes buffered.
   *
   * @example
   * ```ts
   * const header = yield* reader.readExact(8);
   * ```
   */
  readExact(n: number): Future<Uint8Array> {
    checkInteger('BufReader.readExact()', 'n', n, 0, 2 ** 31 - 1);
    return this.#nextOp().start(EXACT, n) as Future<Uint8Array>;
  }

  /** The reusable future, or a new one while the last may still be awaited (see `reusable`). */
  #nextOp(): ReadOp {
    if (!this.#op.reusable) this.#op = new ReadOp(this);
    return this.#op;
  }

  /** @internal Starting a call while another is pending is a bug in the caller. */
  _checkIdle(): void {
    if (this.#read !== null) throw new StateError('BufReader: a read is already pending on this reader');
  }

  /** @internal One poll of `op`: parse what is buffered, read more while it is not enough. */
  _poll(cx: Context, op: ReadOp, mode: number, arg: number): Poll<Uint8Array | null> {
    if (this.#read !== null && this.#reading !== op) this._checkIdle(); // another call is waiting
    try {
      for (;;) {
        if (!this.#skipping || this.#skip()) {
          const item = mode === LINE ? this.#line(arg) : mode === FRAME ? this.#frame() : this.#exact(arg);
          if (item !== MORE) return item;
        }
        this.#bytes.settle(); // the scratch is about to be overwritten: keep the leftovers first
        const read = (this.#read ??= this.#sourceRead());
        this.#reading = op;
        let chunk: Poll<Uint8Array>;
        try {
          chunk = read.poll(cx);
        } catch (error) {
          this.#read = this.#reading = null;
          throw error;
        }
        if (chunk === PENDING) return PENDING;
        this.#read = this.#reading = null;
        if (!(chunk instanceof Uint8Array)) throw new TypeError(`BufReader: the stream's read() gave ${describe(chunk)}, not a Uint8Array`);
        if (chunk.length === 0) this.#eof = true;
        else this.#bytes.append(chunk);
      }
    } finally {
      this.#bytes.settle();
    }
  }

  /** The source's next read; a ByteSource that is not one fails here with a clear error. */
  #sourceRead(): Future<Uint8Array> {
    const read: unknown = this.stream.read();
    if (!(read instanceof Future)) throw new TypeError(`BufReader: the stream's read() returned ${describe(read)}, not a Future`);
    return read as Future<Uint8Array>;
  }

  /** @internal A call's future was dropped: if its source read is in flight, forget it (no byte was taken). */
  _drop(op: ReadOp): void {
    if (this.#reading !== op) return;
    this.#read?.drop();
    this.#read = this.#reading = null;
  }

  #line(limit: number): Uint8Array | null | typeof MORE {
    const bytes = this.#bytes;
    const { buf, start, end } = bytes;
    const from = bytes.scanned > start ? bytes.scanned : start;
    const nl = from >= end ? -1 : indexOfLf(buf, from, end);
    if (nl < 0) {
      bytes.scanned = end;
      const n = end - start;
      // n === limit + 1 still fits if it ends in the `\r` of a `\r\n` (not at end of stream).
      if (n > limit + 1 || (n === limit + 1 && (this.#eof || buf[end - 1] !== CR))) this.#tooLong(limit, -1);
      if (!this.#eof) return MORE;
      if (n === 0) return null;
      return bytes.take(start, end, end);
    }
    const stop = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    if (stop - start > limit) this.#tooLong(limit, nl);
    return bytes.take(start, stop, nl + 1);
  }

  #frame(): Uint8Array | null | typeof MORE {
    const { buf, start, end } = this.#bytes;
    const n = end - start;
    if (n < 4) {
      if (!this.#eof) return MORE;
      if (n === 0) return null;
      throw new UnexpectedEofError(4, n);
    }
    const length = ((buf[start] << 24) | (buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3]) >>> 0;
    if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
    if (n - 4 < length) {
      if (!this.#eof) return MORE;
      throw new UnexpectedEofError(4 + length, n);
    }
    return this.#bytes.take(start + 4, start + 4 + length, start + 4 + length);
  }

  #exact(count: number): Uint8Array | typeof MORE {
    const { start, end } = this.#bytes;
    const n = end - start;
    if (n >= count) return this.#bytes.take(start, start + count, start + count);
    if (!this.#eof) return MORE;
    throw new UnexpectedEofError(count, n);
  }

  /** Drops the line that is too long (to its `\n`, or skipping up to the next one) and throws. */
  #tooLong(limit: number, nl: number): never {
    const bytes = this.#bytes;
    if (nl >= 0) {
      bytes.take(bytes.start, bytes.start, nl + 1);
    } else {
      bytes.take(bytes.start, bytes.start, bytes.end);
      this.#skipping = !this.#eof;
    }
    throw new LineTooLongError(limit);
  }

  /** Discards input up to and including a `\n`; true once found (or at end of stream). */
  #skip(): boolean {
    const { buf, start, end } = this.#bytes;
    const nl = start >= end ? -1 : indexOfLf(buf, start, end);
    this.#bytes.take(start, start, nl < 0 ? end : nl + 1);
    if (nl < 0 && !this.#eof) return false;
    this.#skipping = false;
    return true;
  }
}
