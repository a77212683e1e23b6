// BufReader: cancel-safe lines, frames and exact reads over a stream. Every byte taken from the
// stream lands in the reader (or in the value returned) before the poll that took it returns,
// so dropping a pending read loses nothing: the next call continues from the buffered bytes.
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { describe } from '../task.js';
import { checkInteger } from '../_validate.js';
import { UnexpectedEofError } from './tcp_stream.js';
import { indexOfLf } from './_index_of_lf.js';
import { ReadOp } from './_read_op.js';
import { FrameTooLargeError, LineTooLongError, type BufReaderOptions, type ByteSource } from './buf_reader_types.js';

const CR = 13;
const LINE = 0;
const FRAME = 1;
const EXACT = 2;
/** A parse step's answer when the buffered bytes do not hold a whole item yet. */
const MORE: unique symbol = Symbol('more');
/** The smallest buffer allocated, and the largest kept by an idle reader. */
const SMALL = 1024;
const EMPTY = new Uint8Array(0);

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
  /**
   * Invariant: the unconsumed bytes are #buf[#start, #end). While #borrowed (inside a poll
   * only) #buf is the stream's scratch view and #own holds the reader's buffer.
   */
  #buf: Uint8Array = EMPTY;
  #own: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  #borrowed = false;
  /**
   * While #borrowed: how many bytes at the start of #own hold the item this poll returned
   * (copied out of the scratch view), which #settle must leave intact.
   */
  #kept = 0;
  /** No `\n` lies in #buf[#start, #scanned): a line search resumes there, never rescans. */
  #scanned = 0;
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
      throw new TypeError(`new BufReader(stream): stream must be a TcpStream, got ${describe(stream)}`);
    }
    if (typeof options !== 'object' || options === null) throw new TypeError('new BufReader(): options must be an object');
    this.maxLineBytes = checkInteger('new BufReader()', 'maxLineBytes', options.maxLineBytes ?? 64 * 1024, 0, 2 ** 31 - 1);
    this.maxFrameBytes = checkInteger('new BufReader()', 'maxFrameBytes', options.maxFrameBytes ?? 16 << 20, 0, 2 ** 32 - 1);
  }

  /** Bytes received and not yet returned. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** The size of the reader's own buffer (at most 1 KiB while nothing is buffered). */
  get capacity(): number {
    return this.#buf.length;
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

  /** The reusable future, or a new one while it is still in use (made and not yet awaited). */
  #nextOp(): ReadOp {
    if (this.#op.inUse) this.#op = new ReadOp(this);
    return this.#op;
  }

  /** @internal Starting a call while another is pending is a bug in the caller. */
  _checkIdle(): void {
    if (this.#read !== null) throw new Error('BufReader: a read is already pending on this reader');
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
        this.#settle(); // the scratch is about to be overwritten: keep the leftovers first
        const read = (this.#read ??= this.stream.read());
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
        if (chunk.length === 0) {
          this.#eof = true;
        } else if (this.#start === this.#end) {
          // Nothing buffered: parse the chunk where it lies; #settle copies what is left of it.
          this.#own = this.#buf;
          this.#buf = chunk;
          this.#start = this.#scanned = 0;
          this.#end = chunk.length;
          this.#borrowed = true;
        } else {
          this.#reserve(chunk.length);
          this.#buf.set(chunk, this.#end);
          this.#end += chunk.length;
        }
      }
    } finally {
      this.#settle();
    }
  }

  /** @internal A call's future was dropped: if its source read is in flight, forget it (no byte was taken). */
  _drop(op: ReadOp): void {
    if (this.#reading !== op) return;
    this.#read?.drop();
    this.#read = this.#reading = null;
  }

  #line(limit: number): Uint8Array | null | typeof MORE {
    const buf = this.#buf;
    const start = this.#start;
    const end = this.#end;
    const from = this.#scanned > start ? this.#scanned : start;
    const nl = from >= end ? -1 : indexOfLf(buf, from, end);
    if (nl < 0) {
      this.#scanned = end;
      const n = end - start;
      // n === limit + 1 still fits if it ends in the `\r` of a `\r\n` (not at end of stream).
      if (n > limit + 1 || (n === limit + 1 && (this.#eof || buf[end - 1] !== CR))) this.#tooLong(limit, -1);
      if (!this.#eof) return MORE;
      if (n === 0) return null;
      return this.#take(start, end, end);
    }
    const stop = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    if (stop - start > limit) this.#tooLong(limit, nl);
    return this.#take(start, stop, nl + 1);
  }

  #frame(): Uint8Array | null | typeof MORE {
    const buf = this.#buf;
    const start = this.#start;
    const n = this.#end - start;
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
    return this.#take(start + 4, start + 4 + length, start + 4 + length);
  }

  #exact(count: number): Uint8Array | typeof MORE {
    const n = this.#end - this.#start;
    if (n >= count) return this.#take(this.#start, this.#start + count, this.#start + count);
    if (!this.#eof) return MORE;
    throw new UnexpectedEofError(count, n);
  }

  /**
   * Consumes up to `next` and returns [from, to) as a view of the reader's own buffer (copied
   * there if it lies in the scratch). Shrinks an oversized idle buffer.
   */
  #take(from: number, to: number, next: number): Uint8Array {
    this.#start = next;
    if (this.#scanned < next) this.#scanned = next;
    if (this.#borrowed) return this.#copyOut(from, to); // #settle sizes the buffer for the leftovers
    const view = this.#buf.subarray(from, to);
    const left = this.#end - next;
    if (left === 0) {
      this.#start = this.#end = this.#scanned = 0;
      if (this.#buf.length > SMALL) this.#buf = EMPTY; // after a large item: do not keep its buffer
    } else if (this.#buf.length > SMALL && left * 4 <= this.#buf.length) {
      this.#moveTo(new Uint8Array(Math.max(SMALL, left * 2))); // the view keeps the old buffer
    }
    return view;
  }

  /** Drops the line that is too long (to its `\n`, or skipping up to the next one) and throws. */
  #tooLong(limit: number, nl: number): never {
    if (nl >= 0) {
      this.#take(this.#start, this.#start, nl + 1);
    } else {
      this.#take(this.#start, this.#start, this.#end);
      this.#skipping = !this.#eof;
    }
    throw new LineTooLongError(limit);
  }

  /** Discards input up to and including a `\n`; true once found (or at end of stream). */
  #skip(): boolean {
    const nl = this.#start >= this.#end ? -1 : indexOfLf(this.#buf, this.#start, this.#end);
    this.#take(this.#start, this.#start, nl < 0 ? this.#end : nl + 1);
    if (nl < 0 && !this.#eof) return false;
    this.#skipping = false;
    return true;
  }

  /**
   * Returns an item found in the borrowed scratch view as a copy at the start of the reader's
   * own buffer. The scratch is shared by every read of the executor: a `join()` polling another
   * stream's read in the same poll would overwrite a view of it before this task saw the item.
   */
  #copyOut(from: number, to: number): Uint8Array {
    const n = to - from;
    if (this.#own.length < n) this.#own = new Uint8Array(Math.max(SMALL, n));
    this.#own.set(this.#buf.subarray(from, to));
    this.#kept = n;
    return this.#own.subarray(0, n);
  }

  /**
   * Ends a borrow of the scratch view: copies its unconsumed bytes into the reader's buffer,
   * after the item #copyOut put there (into a new buffer if they do not fit beside it).
   */
  #settle(): void {
    if (!this.#borrowed) return;
    const scratch = this.#buf;
    const start = this.#start;
    const left = this.#end - start;
    const kept = this.#kept;
    this.#borrowed = false;
    this.#kept = 0;
    this.#buf = this.#own;
    this.#own = EMPTY;
    if (left === 0) {
      this.#start = this.#end = this.#scanned = 0;
      if (this.#buf.length > SMALL) this.#buf = EMPTY; // after a large item: the view keeps it
      return;
    }
    let base = kept;
    if (kept + left > this.#buf.length) {
      base = 0;
      this.#buf = new Uint8Array(Math.max(SMALL, left)); // the item's view keeps the old buffer
    }
    this.#buf.set(scratch.subarray(start, start + left), base);
    this.#scanned = base + (this.#scanned > start ? this.#scanned - start : 0);
    this.#start = base;
    this.#end = base + left;
  }

  /** Makes room for `extra` bytes after #end: compacts, or grows by doubling (amortised O(1)). */
  #reserve(extra: number): void {
    const cap = this.#buf.length;
    if (this.#end + extra <= cap) return;
    const used = this.#end - this.#start;
    if (used + extra <= cap) {
      // Reads happen only while one partial item is buffered, and a compaction leaves #start at
      // 0, so each item's bytes are moved at most once: linear overall.
      this.#moveTo(this.#buf);
    } else {
      this.#moveTo(new Uint8Array(Math.max(SMALL, cap * 2, used + extra)));
    }
  }

  /** Moves the unconsumed bytes to the start of `target`. */
  #moveTo(target: Uint8Array): void {
    const start = this.#start;
    if (target === this.#buf) target.copyWithin(0, start, this.#end);
    else target.set(this.#buf.subarray(start, this.#end));
    this.#buf = target;
    this.#end -= start;
    this.#scanned = this.#scanned > start ? this.#scanned - start : 0;
    this.#start = 0;
  }
}
