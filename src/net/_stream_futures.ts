// The futures behind TcpStream's reads and writes: each tries its syscall when the reactor says
// the direction may be ready, and stores its task's waker on EAGAIN.
import { constants } from 'node:os';
import { binding } from '../_binding.js';
import { coop } from '../_coop.js';
import { IoError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { READ_CLOSED, READ_READY, READABLE, WRITABLE, WRITE_READY } from '../reactor.js';
import type { TcpStream } from './tcp_stream.js';
import { UnexpectedEofError } from './unexpected_eof.js';

const EAGAIN = constants.errno.EAGAIN;

/** Common wait logic: stores the waker for a direction, remembering it so drop() can forget it. */
export abstract class StreamFuture<T> extends Future<T> {
  /** The waker this future stored with the reactor, so drop() forgets exactly that one. */
  #stored: Context['waker'] | null = null;
  #direction: 1 | 2 = 1;
  constructor(protected readonly stream: TcpStream) {
    super();
  }
  protected get waiting(): boolean {
    return this.#stored !== null;
  }
  protected set waiting(value: false) {
    this.#stored = null;
  }
  protected waitRead(cx: Context): typeof PENDING {
    this.#stored = cx.waker;
    this.#direction = 1;
    this.stream.reactor.waitReadable(this.stream.source, cx.waker);
    return PENDING;
  }
  protected waitWrite(cx: Context): typeof PENDING {
    this.#stored = cx.waker;
    this.#direction = 2;
    this.stream.reactor.waitWritable(this.stream.source, cx.waker);
    return PENDING;
  }
  /**
   * One read into `buf[off, off+len)`: the count (0 at EOF), or PENDING after storing the waker.
   * On an edge-triggered socket a read shorter than asked means the socket was drained, so
   * readiness is cleared without spending a syscall on the EAGAIN read; a later arrival raises a
   * new edge. Once the peer half-closed (READ_CLOSED), only reading EOF ends readability, since
   * data and FIN can arrive under a single edge.
   */
  protected readOnce(cx: Context, buf: Uint8Array, off: number, len: number): Poll<number> {
    this.stream.checkOpen('read');
    const source = this.stream.source;
    if (!(source.readiness & READ_READY)) return this.waitRead(cx);
    const n = binding.read(source.fd, buf, off, len);
    if (n < 0) {
      if (n !== -EAGAIN) throw new IoError('read', n);
      source.clear(READABLE);
      return this.waitRead(cx);
    }
    this.waiting = false;
    if (n < len && !(source.readiness & READ_CLOSED)) source.clear(READABLE);
    return n;
  }

  /** One write from `buf[off, off+len)`: the bytes written, or PENDING after storing the waker. */
  protected writeSome(cx: Context, buf: Uint8Array, off: number, len: number): Poll<number> {
    this.stream.checkOpen('write');
    const source = this.stream.source;
    if (!(source.readiness & WRITE_READY)) return this.waitWrite(cx);
    const n = binding.write(source.fd, buf, off, len);
    if (n < 0) {
      if (n !== -EAGAIN) throw new IoError('write', n);
      source.clear(WRITABLE);
      return this.waitWrite(cx);
    }
    this.waiting = false;
    if (n < len) source.clear(WRITABLE); // a short write means the send buffer is full
    return n;
  }

  /** Spends budget; when it is spent, yields to the other tasks. */
  protected yieldIfSpent(cx: Context): boolean {
    if (coop.proceed()) return false;
    cx.waker.wake();
    return true;
  }
  override drop(): void {
    if (this.#stored !== null) {
      this.stream.reactor.forget(this.stream.source, this.#stored, this.#direction);
      this.#stored = null;
    }
  }
}

export class ReadFuture extends StreamFuture<Uint8Array> {
  start(): void {
    if (this.waiting) throw new Error('TcpStream.read(): a read is already pending on this stream');
    this.awaited = false;
  }
  poll(cx: Context): Poll<Uint8Array> {
    if (this.yieldIfSpent(cx)) return PENDING;
    const reactor = this.stream.reactor;
    const n = this.readOnce(cx, reactor.scratch, 0, reactor.scratch.length);
    if (n === PENDING) return PENDING;
    return reactor.scratchView(n);
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
  }
  poll(cx: Context): Poll<number> {
    if (this.len === 0) return 0;
    if (this.yieldIfSpent(cx)) return PENDING;
    return this.readOnce(cx, this.buf, this.off, this.len);
  }
}

export class ReadExactFuture extends StreamFuture<Uint8Array> {
  #filled = 0;
  constructor(
    stream: TcpStream,
    private readonly buf: Uint8Array,
  ) {
    super(stream);
  }
  poll(cx: Context): Poll<Uint8Array> {
    while (this.#filled < this.buf.length) {
      if (this.yieldIfSpent(cx)) return PENDING;
      const n = this.readOnce(cx, this.buf, this.#filled, this.buf.length - this.#filled);
      if (n === PENDING) return PENDING;
      if (n === 0) throw new UnexpectedEofError(this.buf.length, this.#filled);
      this.#filled += n;
    }
    return this.buf;
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
  }
  poll(cx: Context): Poll<number> {
    if (this.len === 0) return 0;
    const n = this.writeSome(cx, this.buf, this.off, this.len);
    if (n !== PENDING) return n;
    if (!this.#copied) {
      this.buf = this.buf.slice(this.off, this.off + this.len); // the caller's memory may change meanwhile
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

  start(buf: Uint8Array, off: number, len: number): void {
    if (this.waiting) throw new Error('TcpStream.writeAll(): a write is already pending on this stream');
    this.awaited = false;
    this.#buf = buf;
    this.#off = off;
    this.#end = off + len;
    this.#copied = false;
  }

  poll(cx: Context): Poll<void> {
    while (this.#off < this.#end) {
      const n = this.writeSome(cx, this.#buf, this.#off, this.#end - this.#off);
      if (n === PENDING) {
        if (!this.#copied) {
          // Suspending while holding caller memory: keep a private copy of the unsent tail.
          this.#buf = this.#buf.slice(this.#off, this.#end);
          this.#end -= this.#off;
          this.#off = 0;
          this.#copied = true;
        }
        return PENDING;
      }
      this.#off += n;
    }
    this.#buf = EMPTY;
    return undefined;
  }
}

const EMPTY = new Uint8Array(0);
