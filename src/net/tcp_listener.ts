// A listening TCP socket: accepts connections through the reactor.
import { constants } from 'node:os';
import { binding } from '../_binding.js';
import { coop } from '../_coop.js';
import { ClosedError, IoError } from '../errors.js';
import { Executor } from '../executor.js';
import { Future, PENDING, type Context, type Poll, type Waker } from '../future.js';
import { READ_READY, READABLE, type IoSource, type Reactor } from '../reactor.js';
import { AwaitWakers } from '../_shared_future.js';
import { OnceFuture } from '../_once_future.js';
import { checkOwnReactor } from '../_own_reactor.js';
import { warn } from '../_stderr.js';
import { sleep, type Sleep } from '../time/sleep.js';
import { checkBoolean, checkInteger, checkOptions } from '../_validate.js';
import { formatAddress, parseAddress, resolve, type AddressInput, type ResolvedHost, type SocketAddress } from './address.js';
import { socketAddress, TcpStream } from './tcp_stream.js';

const { EAGAIN, EMFILE, ENFILE, ECONNABORTED, EINTR, EPROTO, ENOBUFS, ENOMEM } = constants.errno;

/** The first and the longest pause before accept() is tried again when resources ran out. */
const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 1000;

/**
 * Options for `TcpListener.bind()`.
 *
 * @example
 * ```ts
 * const listener = yield* TcpListener.bind({ port: 7000 }, { reusePort: true, backlog: 128 });
 * ```
 */
export interface ListenOptions {
  /** SO_REUSEPORT, so several executors (threads) can accept on one port. Default false. */
  reusePort?: boolean;
  /** The listen backlog; default SOMAXCONN. */
  backlog?: number;
}

/**
 * One fd kept open so that, when accept() fails with EMFILE, it can be released to accept the
 * pending connection and close it at once; otherwise the edge-triggered listener would stay
 * ready with nobody able to take the connection (libuv's trick).
 */
let reserveFd = -1;

/**
 * Opens the reserve fd (again, after a shortage took it). The addon closes it when this thread
 * ends, as it closes the thread's sockets (fds outlive threads).
 */
function openReserve(): void {
  reserveFd = binding.openReserveFd();
}

/**
 * A TCP socket listening for connections.
 *
 * @example
 * ```ts
 * const listener = yield* TcpListener.bind('127.0.0.1:7000');
 * for (;;) spawn(serve(yield* listener.accept()));
 * ```
 */
export class TcpListener implements Disposable {
  #closed = false;
  #emfile = 0;
  /** The pause before the next retry while accept() keeps running out of resources; 0 if not. */
  #retryMs = 0;
  /**
   * The wakers of the accept futures waiting for a connection. The reactor keeps one read waker
   * per source and wakes the one it replaces, so two tasks storing their own wakers there woke
   * each other forever; the reactor holds `#wakeAcceptors` instead, and readiness or close
   * wakes them all. Invariant: a future is here only while its last poll returned PENDING,
   * either for want of a connection (and then the reactor holds `#wakeAcceptors`) or for its
   * pause after a shortage (see `_pollAccept`).
   */
  readonly #acceptors = new AwaitWakers();
  /**
   * The listener's one read waker in the reactor. It wakes every waiting accept rather than one
   * with a hand-off: one readiness edge may stand for many queued connections, and a woken
   * accept may be dropped before it polls, so waking one would need both cases passed on. Each
   * woken accept that finds the backlog empty costs one accept(2) returning EAGAIN (tokio's
   * ScheduledIo also wakes every waiter).
   */
  readonly #wakeAcceptors: Waker = { wake: () => this.#acceptors.wakeAll() };

  private constructor(
    /** @internal */ readonly source: IoSource,
    /** @internal */ readonly reactor: Reactor,
  ) {}

  /**
   * Binds and listens on `address` (`'127.0.0.1:7000'`, `'[::1]:0'`, `'localhost:8088'` or
   * `{ host, port }`; port 0 picks a free port). SO_REUSEADDR is set; the backlog is SOMAXCONN.
   *
   * @example
   * ```ts
   * const listener = yield* TcpListener.bind({ host: '127.0.0.1', port: 0 });
   * console.log(listener.localAddress.port);
   * ```
   */
  static bind(address: AddressInput, options: ListenOptions = {}): Future<TcpListener> {
    const { host, port } = parseAddress(address, 'TcpListener.bind()');
    checkOptions('TcpListener.bind()', options, ['reusePort', 'backlog']);
    const backlog = checkInteger('TcpListener.bind()', 'backlog', options.backlog ?? binding.somaxconn, 1, 2 ** 31 - 1);
    const reusePort = options.reusePort === undefined ? false : checkBoolean('TcpListener.bind()', 'reusePort', options.reusePort);
    return new BindFuture(host, port, backlog, reusePort);
  }

  /** @internal Creates, binds and registers a listening socket on a numeric address. */
  static _listen(reactor: Reactor, addr: ResolvedHost, port: number, backlog: number, reusePort: boolean): TcpListener {
    if (reserveFd < 0) openReserve();
    const fd = binding.socket(addr.family);
    if (fd < 0) throw new IoError('socket', fd);
    const fail = (call: string, rc: number): never => {
      binding.close(fd);
      throw new IoError(call, rc, formatAddress({ ...addr, port }));
    };
    let rc = binding.setReuseAddr(fd, true);
    if (rc < 0) fail('setsockopt SO_REUSEADDR', rc);
    if (reusePort && (rc = binding.setReusePort(fd, true)) < 0) fail('setsockopt SO_REUSEPORT', rc);
    if ((rc = binding.bind(fd, addr.address, port)) < 0) fail('bind', rc);
    if ((rc = binding.listen(fd, backlog)) < 0) fail('listen', rc);
    try {
      return new TcpListener(reactor.register(fd), reactor);
    } catch (error) {
      binding.close(fd);
      throw error;
    }
  }

  /** The bound address (with the real port when bound to port 0). */
  get localAddress(): SocketAddress {
    this.#checkOpen('localAddress');
    return socketAddress('getsockname', binding.localAddress(this.source.fd));
  }

  /** The listening socket's fd. */
  get fd(): number {
    return this.source.fd;
  }

  /** How many connections were accepted and closed at once because the process ran out of fds. */
  get droppedForFdLimit(): number {
    return this.#emfile;
  }

  /**
   * Waits for the next connection. Cancel-safe: dropping it loses no connection. Several tasks
   * may wait on one listener: each new connection wakes them all, one takes it, and the others
   * wait again. Out of fds, it sheds connections (`droppedForFdLimit`); with no fd to shed them
   * with, or out of kernel memory, it retries after a pause (5 ms, doubling up to 1 s).
   *
   * @example
   * ```ts
   * const stream = yield* listener.accept();
   * ```
   */
  accept(): Future<TcpStream> {
    this.#checkOpen('accept');
    return new AcceptFuture(this);
  }

  /**
   * @internal One accept attempt for `future`: a stream, PENDING (with `future` waiting in
   * `#acceptors`), or an error thrown.
   */
  _pollAccept(cx: Context, future: AcceptFuture): Poll<TcpStream> {
    this.#acceptors.delete(future);
    if (this.#closed) future.endPause();
    this.#checkOpen('accept');
    const source = this.source;
    if (!coop.proceed()) {
      cx.waker.wake();
      return PENDING;
    }
    if (this.#paused(cx, future)) return PENDING;
    for (;;) {
      if (!(source.readiness & READ_READY)) return this.#wait(cx, future);
      const fd = binding.accept(source.fd);
      if (fd >= 0) {
        if (this.#retryMs !== 0) {
          this.#retryMs = 0;
          if (reserveFd < 0) openReserve();
        }
        try {
          return new TcpStream(fd, this.reactor);
        } catch (error) {
          binding.close(fd);
          throw error;
        }
      }
      if (fd === -EAGAIN) {
        source.sawEagain(READABLE);
        continue;
      }
      if (fd === -ECONNABORTED || fd === -EINTR || fd === -EPROTO) continue; // that peer gave up
      if ((fd === -EMFILE || fd === -ENFILE) && this.#shedOne()) continue;
      if (fd === -ENOBUFS || fd === -ENOMEM || fd === -EMFILE || fd === -ENFILE) {
        // Out of resources with no reserve to shed: try again after a pause that doubles while
        // the shortage lasts. Not on readiness: the connection still waits, so poll(2) would
        // report it again at once (a spin), and epoll may send no new edge for it (a stall).
        this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs === 0 ? FIRST_RETRY_MS : 2 * this.#retryMs);
        future.pause = sleep(this.#retryMs);
        if (this.#paused(cx, future)) return PENDING;
        continue;
      }
      throw new IoError('accept', fd);
    }
  }

  /** Polls `future`'s pause, if any: true while it lasts, with `future` waiting where close() finds it. */
  #paused(cx: Context, future: AcceptFuture): boolean {
    if (future.pause === null) return false;
    if (future.pause.poll(cx) === PENDING) {
      this.#acceptors.set(future, cx.waker);
      return true;
    }
    future.pause = null;
    return false;
  }

  /** Queues `future` for the next readiness (or close) and makes sure the reactor will say so. */
  #wait(cx: Context, future: AcceptFuture): typeof PENDING {
    checkOwnReactor(this.reactor, 'TcpListener');
    this.#acceptors.set(future, cx.waker);
    this.reactor.waitReadable(this.source, this.#wakeAcceptors);
    return PENDING;
  }

  /** @internal A dropped accept leaves the queue; the last one out withdraws the reactor waker. */
  _forgetAccept(future: AcceptFuture): void {
    if (!this.#acceptors.delete(future)) return;
    if (this.#acceptors.size === 0 && !this.#closed) this.reactor.forget(this.source, this.#wakeAcceptors, 1);
  }

  /** Out of fds: accept the waiting connection with the reserve fd's slot and close it. */
  #shedOne(): boolean {
    if (reserveFd < 0) return false;
    binding.close(reserveFd);
    reserveFd = -1;
    const fd = binding.accept(this.source.fd);
    if (fd >= 0) binding.close(fd);
    reserveFd = binding.openReserveFd();
    if (fd < 0) return false;
    if (this.#emfile++ === 0) {
      warn(`wakeloop: listener fd ${this.source.fd} is out of file descriptors (EMFILE); closing new connections until some are freed\n`);
    }
    return true;
  }

  /**
   * Deregisters and closes the listening socket; every waiting `accept()` throws `ClosedError`.
   * Closing twice throws `ClosedError`.
   */
  close(): void {
    this.#checkOpen('close');
    this.#closed = true;
    this.reactor.deregister(this.source); // wakes #wakeAcceptors if it waits for readiness
    this.#acceptors.wakeAll(); // the waiting accepts, pausing ones too, see ClosedError
    binding.close(this.source.fd);
  }

  /** Closes the listener if it is open (for `using`). */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new ClosedError(`TcpListener (${what})`);
  }
}

/** One await of `accept()`; while pending it waits in its listener's queue. */
class AcceptFuture extends OnceFuture<TcpStream> {
  /** @internal The pause before accept() is tried again after running out of resources. */
  pause: Sleep | null = null;
  constructor(private readonly listener: TcpListener) {
    super('TcpListener.accept()');
  }
  protected step(cx: Context): Poll<TcpStream> {
    return this.listener._pollAccept(cx, this);
  }
  override drop(): void {
    this.endPause();
    this.listener._forgetAccept(this);
  }
  /** @internal */
  endPause(): void {
    this.pause?.drop();
    this.pause = null;
  }
}

/** Resolves the host, then binds the first address that works. */
class BindFuture extends OnceFuture<TcpListener> {
  #lookup: Future<ResolvedHost[]> | null = null;
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly backlog: number,
    private readonly reusePort: boolean,
  ) {
    super('TcpListener.bind()');
  }
  protected step(cx: Context): Poll<TcpListener> {
    this.#lookup ??= resolve(this.host);
    const addresses = this.#lookup.poll(cx);
    if (addresses === PENDING) return PENDING;
    const reactor = Executor.current().reactor;
    let lastError: unknown;
    for (const addr of addresses) {
      try {
        return TcpListener._listen(reactor, addr, this.port, this.backlog, this.reusePort);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }
  override drop(): void {
    this.#lookup?.drop();
  }
}
