// A connected TCP socket: non-blocking reads and writes through the reactor, no libuv.
import { constants } from 'node:os';
import { binding, type RawAddress } from '../_binding.js';
import { coop } from '../_coop.js';
import { ClosedError, IoError } from '../errors.js';
import { Executor } from '../executor.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { READ_CLOSED, READ_READY, READABLE, WRITABLE, WRITE_READY, type IoSource, type Reactor } from '../reactor.js';
import { checkBytes, checkInteger, checkRange } from '../_validate.js';
import { parseAddress, resolve, type AddressInput, type SocketAddress } from './address.js';

const EAGAIN = constants.errno.EAGAIN;
const EINPROGRESS = constants.errno.EINPROGRESS;

/**
 * Reading ended before the bytes `readExact` wanted arrived.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof UnexpectedEofError) console.log(e.received, 'of', e.expected); }
 * ```
 */
export class UnexpectedEofError extends Error {
  override name = 'UnexpectedEofError';
  readonly code = 'ERR_UNEXPECTED_EOF';
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`the peer closed the connection after ${received} of ${expected} bytes`);
  }
}

/** Reads an address getter's raw result, throwing an IoError for -errno. */
export function socketAddress(call: string, raw: RawAddress | number): SocketAddress {
  if (typeof raw === 'number') throw new IoError(call, raw);
  return raw;
}

/**
 * A TCP connection. Get one from `TcpStream.connect()` or `TcpListener.accept()`.
 *
 * One task reads and one task writes at a time (each direction keeps one waker); starting a
 * second read while one is pending throws. Close it when done (`close()` or `using`): the fd is
 * deregistered, then closed.
 *
 * @example
 * ```ts
 * const stream = yield* TcpStream.connect('127.0.0.1:7000');
 * yield* stream.writeAll(new TextEncoder().encode('hello'));
 * const reply = yield* stream.read();
 * stream.close();
 * ```
 */
export class TcpStream implements Disposable {
  /** @internal */
  readonly source: IoSource;
  /** @internal */
  readonly reactor: Reactor;
  #closed = false;
  #read: ReadFuture | null = null;
  #writeAll: WriteAllFuture | null = null;

  /** @internal Wraps a connected, non-blocking fd, registering it with `reactor`. */
  constructor(fd: number, reactor: Reactor, source?: IoSource) {
    this.reactor = reactor;
    this.source = source ?? reactor.register(fd);
  }

  /**
   * Connects to `address` (`'host:port'`, `'[::1]:port'` or `{ host, port }`). A host name is
   * resolved first, without blocking the loop, and each of its addresses is tried in turn.
   *
   * @example
   * ```ts
   * const stream = yield* TcpStream.connect('localhost:8088');
   * ```
   */
  static connect(address: AddressInput): Future<TcpStream> {
    const { host, port } = parseAddress('TcpStream.connect()', address);
    return new ConnectFuture(host, port);
  }

  /** The socket's fd (for diagnostics; do not close it yourself). */
  get fd(): number {
    return this.source.fd;
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads what has arrived, waiting until something has. Resolves to an empty array at end of
   * stream.
   *
   * The bytes are a view into the executor's shared read buffer, valid until this task next
   * suspends or reads again: use them at once (write them, parse them) or copy them with
   * `slice()`. This keeps an idle connection from owning a buffer. Cancel-safe: dropping it loses
   * no data.
   *
   * @example
   * ```ts
   * const chunk = yield* stream.read();
   * if (chunk.length === 0) return; // EOF
   * ```
   */
  read(): Future<Uint8Array> {
    this.#checkOpen('read');
    const fut = (this.#read ??= new ReadFuture(this));
    fut.start();
    return fut;
  }

  /**
   * Reads into `buf` (from `offset`, at most `length` bytes) and resolves to the byte count, 0
   * at end of stream. Cancel-safe.
   *
   * @example
   * ```ts
   * const n = yield* stream.readInto(buf);
   * ```
   */
  readInto(buf: Uint8Array, offset?: number, length?: number): Future<number> {
    this.#checkOpen('readInto');
    checkBytes('TcpStream.readInto()', 'buf', buf);
    const [off, len] = checkRange('TcpStream.readInto()', buf, offset, length);
    return new ReadIntoFuture(this, buf, off, len);
  }

  /**
   * Reads exactly `n` bytes into a new array; throws `UnexpectedEofError` if the stream ends
   * first. Not cancel-safe: dropping it mid-way loses the bytes read so far (use a BufReader).
   *
   * @example
   * ```ts
   * const header = yield* stream.readExact(4);
   * ```
   */
  readExact(n: number): Future<Uint8Array> {
    this.#checkOpen('readExact');
    checkInteger('TcpStream.readExact()', 'n', n, 0, 2 ** 31 - 1);
    return new ReadExactFuture(this, new Uint8Array(n));
  }

  /**
   * Writes some of `buf` once the socket can take it, and resolves to how many bytes were
   * written (at least 1 unless the range is empty). The bytes are copied if it has to wait.
   *
   * @example
   * ```ts
   * const n = yield* stream.write(data);
   * ```
   */
  write(buf: Uint8Array, offset?: number, length?: number): Future<number> {
    this.#checkOpen('write');
    checkBytes('TcpStream.write()', 'buf', buf);
    const [off, len] = checkRange('TcpStream.write()', buf, offset, length);
    return new WriteFuture(this, buf, off, len);
  }

  /**
   * Writes all of `buf`. If the socket's buffer fills, the unsent tail is copied before the task
   * waits, so the caller may reuse `buf` (or pass a view from `read()`). Not cancel-safe: when
   * dropped mid-way, part of the data may have been sent.
   *
   * @example
   * ```ts
   * yield* stream.writeAll(chunk);
   * ```
   */
  writeAll(buf: Uint8Array, offset?: number, length?: number): Future<void> {
    this.#checkOpen('writeAll');
    checkBytes('TcpStream.writeAll()', 'buf', buf);
    const fut = (this.#writeAll ??= new WriteAllFuture(this));
    if (offset === undefined && length === undefined) {
      fut.start(buf, 0, buf.length); // the hot path: no range to check
    } else {
      const [off, len] = checkRange('TcpStream.writeAll()', buf, offset, length);
      fut.start(buf, off, len);
    }
    return fut;
  }

  /**
   * Shuts down the write side ('write', sends FIN), the read side ('read') or both.
   *
   * @example
   * ```ts
   * stream.shutdown('write'); // the peer reads EOF; we can still read its reply
   * ```
   */
  shutdown(how: 'read' | 'write' | 'both' = 'write'): void {
    this.#checkOpen('shutdown');
    const code = how === 'read' ? 0 : how === 'write' ? 1 : how === 'both' ? 2 : -1;
    if (code === -1) throw new TypeError(`TcpStream.shutdown(): how must be 'read', 'write' or 'both', got ${String(how)}`);
    const rc = binding.shutdown(this.source.fd, code as 0 | 1 | 2);
    if (rc < 0 && rc !== -constants.errno.ENOTCONN) throw new IoError('shutdown', rc);
  }

  /** Disables (true) or enables Nagle's algorithm. */
  setNoDelay(noDelay = true): void {
    this.#checkOpen('setNoDelay');
    const rc = binding.setNoDelay(this.source.fd, noDelay === true);
    if (rc < 0) throw new IoError('setsockopt TCP_NODELAY', rc);
  }

  /** The local address. */
  get localAddress(): SocketAddress {
    this.#checkOpen('localAddress');
    return socketAddress('getsockname', binding.localAddress(this.source.fd));
  }

  /** The peer's address. */
  get peerAddress(): SocketAddress {
    this.#checkOpen('peerAddress');
    return socketAddress('getpeername', binding.peerAddress(this.source.fd));
  }

  /**
   * Deregisters and closes the socket. Pending reads and writes on it fail with `ClosedError`.
   * Closing twice throws `ClosedError`.
   */
  close(): void {
    this.#checkOpen('close');
    this.#closed = true;
    this.reactor.deregister(this.source);
    binding.close(this.source.fd);
  }

  /** Closes the socket if it is open (for `using`). */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  /** @internal */
  checkOpen(what: string): void {
    this.#checkOpen(what);
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new ClosedError(`TcpStream (${what})`);
  }
}

/** Common wait logic: stores the waker for a direction, remembering it so drop() can forget it. */
abstract class StreamFuture<T> extends Future<T> {
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

class ReadFuture extends StreamFuture<Uint8Array> {
  start(): void {
    if (this.waiting) throw new Error('TcpStream.read(): a read is already pending on this stream');
    this.awaited = false;
  }
  poll(cx: Context): Poll<Uint8Array> {
    if (this.yieldIfSpent(cx)) return PENDING;
    const scratch = this.stream.reactor.scratch;
    const n = this.readOnce(cx, scratch, 0, scratch.length);
    if (n === PENDING) return PENDING;
    return scratch.subarray(0, n);
  }
}

class ReadIntoFuture extends StreamFuture<number> {
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

class ReadExactFuture extends StreamFuture<Uint8Array> {
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

class WriteFuture extends StreamFuture<number> {
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

class WriteAllFuture extends StreamFuture<void> {
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

/** Resolves the host, then tries each address until one connects. */
class ConnectFuture extends Future<TcpStream> {
  #lookup: Future<Array<{ address: string; family: 4 | 6 }>> | null = null;
  #addresses: Array<{ address: string; family: 4 | 6 }> | null = null;
  #next = 0;
  #pending: TcpStream | null = null;
  #lastError: unknown = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    super();
  }

  poll(cx: Context): Poll<TcpStream> {
    if (this.#addresses === null) {
      this.#lookup ??= resolve(this.host);
      const addresses = this.#lookup.poll(cx);
      if (addresses === PENDING) return PENDING;
      this.#addresses = addresses;
      this.#lookup = null;
    }
    const reactor = Executor.current().reactor;
    for (;;) {
      if (this.#pending !== null) {
        const stream = this.#pending;
        const source = stream.source;
        if (!(source.readiness & WRITE_READY)) {
          reactor.waitWritable(source, cx.waker);
          return PENDING;
        }
        const err = binding.socketError(source.fd);
        this.#pending = null;
        if (err === 0) return stream;
        stream.close();
        this.#lastError = new IoError('connect', err > 0 ? -err : err, `to ${this.host}:${this.port}`);
      }
      if (this.#next >= this.#addresses.length) throw this.#lastError;
      const { address, family } = this.#addresses[this.#next++];
      this.#startConnect(reactor, address, family);
    }
  }

  #startConnect(reactor: Reactor, address: string, family: 4 | 6): void {
    const fd = binding.socket(family);
    if (fd < 0) {
      this.#lastError = new IoError('socket', fd);
      return;
    }
    let stream: TcpStream;
    try {
      stream = new TcpStream(fd, reactor);
    } catch (error) {
      binding.close(fd);
      throw error;
    }
    const rc = binding.connect(fd, address, this.port);
    if (rc === 0 || rc === -EINPROGRESS) {
      if (rc !== 0) stream.source.clear(WRITABLE); // writable once connected (or failed)
      this.#pending = stream;
      return;
    }
    stream.close();
    this.#lastError = new IoError('connect', rc, `to ${address}:${this.port}`);
  }

  override drop(): void {
    this.#lookup?.drop();
    this.#lookup = null;
    if (this.#pending !== null) {
      this.#pending.close();
      this.#pending = null;
    }
  }
}
