// A connected TCP socket: non-blocking reads and writes through the reactor, no libuv.
import { constants } from 'node:os';
import { binding, type RawAddress } from '../_binding.js';
import { ClosedError, IoError } from '../errors.js';
import type { Future } from '../future.js';
import type { IoSource, Reactor } from '../reactor.js';
import { checkBoolean, checkBytes, checkInteger, checkRange } from '../_validate.js';
import { describe } from '../task.js';
import { parseAddress, type AddressInput, type SocketAddress } from './address.js';
import { ConnectFuture } from './_connect.js';
import {
  ReadExactFuture,
  ReadFuture,
  ReadIntoFuture,
  WriteAllFuture,
  WriteFuture,
  type StreamFuture,
} from './_stream_futures.js';

export { UnexpectedEofError } from './unexpected_eof.js';

/** Reads an address getter's raw result, throwing an IoError for -errno. */
export function socketAddress(call: string, raw: RawAddress | number): SocketAddress {
  if (typeof raw === 'number') throw new IoError(call, raw);
  return raw;
}

/**
 * A TCP connection. Get one from `TcpStream.connect()` or `TcpListener.accept()`.
 *
 * One task reads and one task writes at a time (each direction keeps one waker): a read that
 * would wait while another read waits on the same stream throws, and so does a write. Close it when done (`close()` or `using`): the fd is
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
  /** @internal The future waiting to read, if one is (see StreamFuture). */
  _reader: StreamFuture<unknown> | null = null;
  /** @internal The future waiting to write, if one is. */
  _writer: StreamFuture<unknown> | null = null;
  #closed = false;
  #peer: SocketAddress | null = null;
  /** The futures read() and writeAll() hand out: reused once the last one is done. */
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
    const { host, port } = parseAddress(address, 'TcpStream.connect()');
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
   * The bytes are a view into the executor's shared read buffer, valid until the next read
   * into that buffer by any stream of the executor (a `read()`, or a `BufReader` call that
   * reads): at the latest when this task suspends or reads again. Use them at once (write them,
   * parse them) or copy them with `slice()`. A combinator polling two reads in one poll, as
   * `join(a.read(), b.read())` does, returns the first value already overwritten by the
   * second: read each stream in its own task, or use `readInto()` or a `BufReader`. This keeps
   * an idle connection from owning a buffer. Small reads share one cached view per length, so
   * a later read of the same length may return the same object. Cancel-safe: dropping it loses
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
    let fut = this.#read;
    if (fut === null || !fut.reusable) fut = this.#read = new ReadFuture(this);
    fut.issue();
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
    let fut = this.#writeAll;
    if (fut === null || !fut.reusable) fut = this.#writeAll = new WriteAllFuture(this);
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
    if (code === -1) throw new TypeError(`TcpStream.shutdown(): how must be 'read', 'write' or 'both', got ${typeof how === 'string' ? JSON.stringify(how) : describe(how)}`);
    const rc = binding.shutdown(this.source.fd, code as 0 | 1 | 2);
    if (rc < 0 && rc !== -constants.errno.ENOTCONN) throw new IoError('shutdown', rc);
  }

  /** Disables (true) or enables Nagle's algorithm. */
  setNoDelay(noDelay = true): void {
    this.#checkOpen('setNoDelay');
    checkBoolean('TcpStream.setNoDelay()', 'noDelay', noDelay);
    const rc = binding.setNoDelay(this.source.fd, noDelay);
    if (rc < 0) throw new IoError('setsockopt TCP_NODELAY', rc);
  }

  /** The local address. */
  get localAddress(): SocketAddress {
    this.#checkOpen('localAddress');
    return socketAddress('getsockname', binding.localAddress(this.source.fd));
  }

  /**
   * The peer's address. Remembered from the first read of it, because the kernel forgets it once
   * both sides have closed (getpeername(2) then fails with ENOTCONN, thrown as an `IoError`):
   * read it while connected to have it at the end too.
   */
  get peerAddress(): SocketAddress {
    this.#checkOpen('peerAddress');
    this.#peer ??= socketAddress('getpeername', binding.peerAddress(this.source.fd));
    return { ...this.#peer };
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

  /**
   * Closes the socket with a reset (RST) instead of FIN, dropping what it had not yet sent: the
   * peer's next read fails with ECONNRESET, so it cannot take a cut-off message for a whole one
   * (Node's `socket.resetAndDestroy()`). Closing twice throws `ClosedError`.
   *
   * @example
   * ```ts
   * if (gaveUpMidMessage) stream.resetAndClose(); else stream.close();
   * ```
   */
  resetAndClose(): void {
    this.#checkOpen('resetAndClose');
    // A socket that cannot take the option (already reset by the peer) closes as it is.
    binding.setResetOnClose(this.source.fd, true);
    this.close();
  }

  /** Closes the socket if it is open (for `using`). */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new ClosedError(`TcpStream (${what})`);
  }
}
