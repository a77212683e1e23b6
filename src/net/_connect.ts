// TcpStream.connect(): resolve the host, then try each address until one connects.
import { constants } from 'node:os';
import { binding } from '../_binding.js';
import { IoError } from '../errors.js';
import { Executor } from '../executor.js';
import { PENDING, type Context, type Future, type Poll } from '../future.js';
import { OnceFuture } from '../_once_future.js';
import { WRITABLE, WRITE_READY, type Reactor } from '../reactor.js';
import { formatAddress, resolve, type ResolvedHost } from './address.js';
import { TcpStream } from './tcp_stream.js';

const { EINPROGRESS, EINTR } = constants.errno;

/** Resolves the host, then tries each address until one connects. */
export class ConnectFuture extends OnceFuture<TcpStream> {
  #lookup: Future<ResolvedHost[]> | null = null;
  #addresses: ResolvedHost[] | null = null;
  #next = 0;
  #pending: TcpStream | null = null;
  /** The address #pending connects to, for the error message. */
  #trying = '';
  #lastError: unknown = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    super('TcpStream.connect()');
  }

  protected step(cx: Context): Poll<TcpStream> {
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
        this.#lastError = new IoError('connect', err > 0 ? -err : err, `to ${this.#trying}`);
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
    const target = formatAddress({ address, family, port: this.port });
    // A connect interrupted by a signal goes on in the background (connect(2), EINTR), as one
    // in progress does: wait for writability either way, as native/sys_net.cc's connect() says.
    if (rc === 0 || rc === -EINPROGRESS || rc === -EINTR) {
      if (rc !== 0) stream.source.clear(WRITABLE); // writable once connected (or failed)
      this.#pending = stream;
      this.#trying = target;
      return;
    }
    stream.close();
    this.#lastError = new IoError('connect', rc, `to ${target}`);
  }

  /** Closes a half-open socket; awaited again, the future starts over on the same address. */
  override drop(): void {
    this.#lookup?.drop();
    this.#lookup = null;
    if (this.#pending !== null) {
      this.#pending.close();
      this.#pending = null;
      this.#next--;
    }
  }
}
