// The futures behind TcpStream's reads and writes: each tries its syscall when the reactor says
// the direction may be ready, and stores its task's waker on EAGAIN.
import { constants } from 'node:os';
import { binding } from '../_binding.js';
import { coop } from '../_coop.js';
import { ClosedError, IoError, StateError } from '../errors.js';
import { PENDING, type Context, type Poll } from '../future.js';
import { IssuedFuture } from '../_issued_future.js';
import { checkOwnReactor } from '../_own_reactor.js';
import { READ_CLOSED, READ_READY, READABLE, URGENT, WRITABLE, WRITE_READY } from '../reactor.js';
import type { TcpStream } from './tcp_stream.js';
import { UnexpectedEofError } from './unexpected_eof.js';

const EAGAIN = constants.errno.EAGAIN;

/**
 * Common wait logic: stores the waker for a direction, remembering it so drop() can forget it.
 * While it waits, a future owns its direction of the stream: a second future that would wait on
 * the same direction (another task reading the same stream) throws instead of taking turns with
 * it, since each wait would replace and wake the other's waker forever.
 */
export abstract class StreamFuture<T> extends IssuedFuture<T> {
  /** The waker this future stored with the reactor, so drop() forgets exactly that one. */
  #stored: Context['waker'] | null = null;
  #direction: 1 | 2 = 1;
  constructor(protected readonly stream: TcpStream) {
    super();
  }
  /** Throws if the future already gave its value or error, instead of starting the syscall again. */
  protected checkIssued(call: string): void {
    if (!this.stillIssued()) throw new TypeError(`TcpStream.${call}: this future already completed; call ${call} again`);
  }
  protected waitRead(cx: Context): typeof PENDING {
    const stream = this.stream;
    this.#checkOwnReactor();
    if (stream._reader !== this) {
      if (stream._reader !== null) this.fail(new StateError('TcpStream: a read is already pending on this stream (one task reads at a time)'));
      stream._reader = this;
    }
    this.#stored = cx.waker;
    this.#direction = 1;
    stream.reactor.waitReadable(stream.source, cx.waker);
    return PENDING;
  }
  protected waitWrite(cx: Context): typeof PENDING {
    const stream = this.stream;
    this.#checkOwnReactor();
    if (stream._writer !== this) {
      if (stream._writer !== null) this.fail(new StateError('TcpStream: a write is already pending on this stream (one task writes at a time)'));
      stream._writer = this;
    }
    this.#stored = cx.waker;
    this.#direction = 2;
    stream.reactor.waitWritable(stream.source, cx.waker);
    return PENDING;
  }
  /**
   * One read into `buf[off, off+len)`: the count (0 at EOF), or PENDING after storing the waker.
   * On an edge-triggered socket a read shorter than asked means the socket was drained, so
   * readiness is cleared without spending a syscall on the EAGAIN read; a later arrival raises a
   * new edge. Once the peer half-closed (READ_CLOSED), only reading EOF ends readability, since
   * data and FIN can arrive under a single edge; once urgent data arrived (URGENT), only EAGAIN
   * does, since a read stops at the urgent mark with more data behind it and no edge to come.
   */
  protected readOnce(cx: Context, buf: Uint8Array, off: number, len: number): Poll<number> {
    const stream = this.stream;
    if (stream.closed) this.fail(new ClosedError('TcpStream (read)'));
    const source = stream.source;
    if (!(source.readiness & READ_READY)) return this.waitRead(cx);
    const n = binding.read(source.fd, buf, off, len);
    if (n < 0) {
      if (n !== -EAGAIN) this.fail(new IoError('read', n));
      source.sawEagain(READABLE);
      return this.waitRead(cx);
    }
    if (this.#stored !== null) this.#stopWaiting();
    if (n < len && !(source.readiness & (READ_CLOSED | URGENT))) source.clear(READABLE);
    coop.spendBytes(n);
    return n;
  }

  /** One write from `buf[off, off+len)`: the bytes written, or PENDING after storing the waker. */
  protected writeSome(cx: Context, buf: Uint8Array, off: number, len: number): Poll<number> {
    const stream = this.stream;
    if (stream.closed) this.fail(new ClosedError('TcpStream (write)'));
    const source = stream.source;
    if (!(source.readiness & WRITE_READY)) return this.waitWrite(cx);
    const n = binding.write(source.fd, buf, off, len);
    if (n < 0) {
      if (n !== -EAGAIN) this.fail(new IoError('write', n));
      source.sawEagain(WRITABLE);
      return this.waitWrite(cx);
    }
    if (this.#stored !== null) this.#stopWaiting();
    if (n < len) source.clear(WRITABLE); // a short write means the send buffer is full
    coop.spendBytes(n);
    return n;
  }

  #checkOwnReactor(): void {
    try {
      checkOwnReactor(this.stream.reactor, 'TcpStream');
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** Ends the future with `error`: it no longer waits, and a reused one may be handed out again. */
  protected fail(error: Error): never {
    this.#release();
    this.inUse = false;
    throw error;
  }

  /** Forgets the stored waker and gives up the direction of the stream it waited on. */
  #release(): void {
    const stored = this.#stored;
    if (stored === null) return;
    this.stream.reactor.forget(this.stream.source, stored, this.#direction);
    this.#stopWaiting();
  }

  /**
   * After a syscall made progress: the waker was usually taken by the event that woke the task
   * (a stale one left behind would cost one spurious wake, which is allowed), so only the
   * direction of the stream is given up.
   */
  #stopWaiting(): void {
    this.#stored = null;
    const stream = this.stream;
    if (stream._reader === this) stream._reader = null;
    else if (stream._writer === this) stream._writer = null;
  }

  /** Spends budget; when it is spent, yields to the other tasks. */
  protected yieldIfSpent(cx: Context): boolean {
    if (coop.proceed()) return false;
    cx.waker.wake();
    return true;
  }
  override drop(): void {
    this.#release();
    super.drop();
  }
}

/** The future of `TcpStream.read()`, reused by its stream. */
export class ReadFuture extends StreamFuture<Uint8Array> {
  poll(cx: Context): Poll<Uint8Array> {
    this.checkIssued('read()');
    if (this.yieldIfSpent(cx)) return PENDING;
    const reactor = this.stream.reactor;
    const n = this.readOnce(cx, reactor.scratch, 0, reactor.scratch.length);
    return n === PENDING ? PENDING : this.done(reactor.scratchView(n));
  }
}

export class ReadIntoFuture extends StreamFuture<number> {
  constructor(
    stream: TcpStream,
    private readonly buf: Uint8Array,
    private readonly off: number,
    private readonly len: number,
  ) {
    super(stream);
    this.issue();
  }
  poll(cx: Context): Poll<number> {
    this.checkIssued('readInto()');
    if (this.len === 0) return this.done(0);
    // The caller's buffer can be detached (transferred) or shrunk while the read waits.
    if (this.off + this.len > this.buf.length) {
      this.fail(new TypeError('TcpStream.readInto(): buf was detached or shrank while the read waited'));
    }
    if (this.yieldIfSpent(cx)) return PENDING;
    const n = this.readOnce(cx, this.buf, this.off, this.len);
    return n === PENDING ? PENDING : this.done(n);
  }
}

export class ReadExactFuture extends StreamFuture<Uint8Array> {
  #filled = 0;
  constructor(
    stream: TcpStream,
    private readonly buf: Uint8Array,
  ) {
    super(stream);
    this.issue();
  }
  poll(cx: Context): Poll<Uint8Array> {
    this.checkIssued('readExact()');
    while (this.#filled < this.buf.length) {
      if (this.yieldIfSpent(cx)) return PENDING;
      const n = this.readOnce(cx, this.buf, this.#filled, this.buf.length - this.#filled);
      if (n === PENDING) return PENDING;
      if (n === 0) this.fail(new UnexpectedEofError(this.buf.length, this.#filled));
      this.#filled += n;
    }
    return this.done(this.buf);
  }
}

export class WriteFuture extends StreamFuture<number> {
  #copied = false;
  constructor(
    stream: TcpStream,
    private buf: Uint8Array,
    private off: number,
    private readonly len: number,
  ) {
    super(stream);
    this.issue();
  }
  poll(cx: Context): Poll<number> {
    this.checkIssued('write()');
    if (!this.#copied && this.off + this.len > this.buf.length) this.fail(changedBuffer('write'));
    // A task that only writes must yield too: its waiting copy of the bytes is made below.
    const n = this.len === 0 ? 0 : this.yieldIfSpent(cx) ? PENDING : this.writeSome(cx, this.buf, this.off, this.len);
    if (n !== PENDING) return this.done(n);
    if (!this.#copied) {
      this.buf = copyOf(this.buf, this.off, this.off + this.len); // the caller's memory may change meanwhile
      this.off = 0;
      this.#copied = true;
    }
    return PENDING;
  }
}

export class WriteAllFuture extends StreamFuture<void> {
  #buf: Uint8Array = new Uint8Array(0);
  #off = 0;
  #end = 0;
  #copied = false;
  /** Whether this write checked the task's budget (once, before its first syscall). */
  #budgeted = false;

  /** Hands the future out for `buf[off, off+len)`. */
  start(buf: Uint8Array, off: number, len: number): void {
    this.issue();
    this.#buf = buf;
    this.#off = off;
    this.#end = off + len;
    this.#copied = false;
    this.#budgeted = false;
  }

  poll(cx: Context): Poll<void> {
    this.checkIssued('writeAll()');
    if (!this.#budgeted) {
      this.#budgeted = true;
      if (this.#end > this.#buf.length) this.fail(changedBuffer('writeAll'));
      // A task that only writes must let the others run too.
      if (this.#off < this.#end && this.yieldIfSpent(cx)) return this.#suspend();
    }
    while (this.#off < this.#end) {
      const n = this.writeSome(cx, this.#buf, this.#off, this.#end - this.#off);
      if (n === PENDING) return this.#suspend();
      this.#off += n;
    }
    this.#buf = EMPTY;
    return this.done(undefined);
  }

  /** Suspending while holding caller memory: keep a private copy of the unsent tail. */
  #suspend(): typeof PENDING {
    if (!this.#copied) {
      this.#buf = copyOf(this.#buf, this.#off, this.#end);
      this.#end -= this.#off;
      this.#off = 0;
      this.#copied = true;
    }
    return PENDING;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The error for a caller's buffer detached (transferred) or shrunk between the call, which
 * checked it, and the write's first poll. Polls after that write from a copy.
 */
function changedBuffer(call: string): TypeError {
  return new TypeError(`TcpStream.${call}(): buf was detached or shrank before the write began`);
}

/**
 * A copy of `buf[start, end)`. Not `buf.slice()`: on a Node `Buffer`, `slice()` returns a view
 * of the same memory, which the caller may overwrite while the write waits.
 */
function copyOf(buf: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(buf, start, end);
}
