// Socket addresses: parsing 'host:port' forms, and resolving host names without blocking the
// loop (getaddrinfo runs on one of the process's native helper threads and completes through
// notify()).
import { isIP } from 'node:net';
import { binding } from '../_binding.js';
import { Executor } from '../executor.js';
import { IoError } from '../errors.js';
import { Future, PENDING, type Context, type Poll } from '../future.js';
import type { Reactor } from '../reactor.js';
import { describe } from '../task.js';
import { checkInteger, unknownKey } from '../_validate.js';

/**
 * A numeric socket address.
 *
 * @example
 * ```ts
 * const { address, port } = listener.localAddress; // { address: '127.0.0.1', port: 7000, family: 4 }
 * ```
 */
export interface SocketAddress {
  address: string;
  port: number;
  family: 4 | 6;
}

/**
 * An address to bind or connect to: `'host:port'`, `'[::1]:port'`, `{ host, port }`, or a
 * {@link SocketAddress} such as a listener's `localAddress` (its `address` is the host).
 *
 * @example
 * ```ts
 * const stream = yield* TcpStream.connect({ host: 'localhost', port: 8088 }); // or 'localhost:8088'
 * ```
 */
export type AddressInput = string | { host?: string; port: number } | SocketAddress;

/** The keys an address object may have: a `{ host, port }`, or a SocketAddress. */
const ADDRESS_KEYS = ['host', 'port', 'address', 'family'];

/**
 * A host name that could not be resolved. `code` is 'ENOTFOUND' when the name does not exist
 * or has no addresses (getaddrinfo's EAI_NONAME or EAI_NODATA, named in the message), as in
 * Node's dns; otherwise the getaddrinfo error name ('EAI_AGAIN', 'EAI_FAIL', ...).
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof ResolveError) console.error(e.hostname, e.code); }
 * ```
 */
export class ResolveError extends Error {
  override name = 'ResolveError';
  constructor(
    readonly hostname: string,
    readonly code: string,
    detail: string,
  ) {
    super(`cannot resolve '${hostname}': ${detail} (${code})`);
  }
}

/**
 * Checks and splits an address as `TcpListener.bind()` and `TcpStream.connect()` read it
 * (`'host:port'`, `'[ipv6]:port'`, `{ host, port }` or a `SocketAddress`), without looking the
 * host up: a command line can refuse a bad address before anything starts. Throws a TypeError
 * or RangeError whose message starts with `where`.
 *
 * @example
 * ```ts
 * parseAddress('[::1]:8088');                    // { host: '::1', port: 8088 }
 * parseAddress({ host: '[::1]', port: 0 }, '--host'); // TypeError: --host: '[::1]' is not a host: ...
 * ```
 */
export function parseAddress(input: AddressInput, where = 'parseAddress()'): { host: string; port: number } {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const unknown = unknownKey(input, ADDRESS_KEYS);
    if (unknown !== undefined) {
      throw new TypeError(`${where}: unknown address field '${unknown}' (an address is { host, port } or { address, port, family })`);
    }
    const fields = input as { host?: unknown; address?: unknown; port?: unknown; family?: unknown };
    if (fields.host !== undefined && fields.address !== undefined) {
      throw new TypeError(`${where}: an address has a host or an address field, not both`);
    }
    const { port } = fields;
    const host = fields.host ?? fields.address ?? '127.0.0.1';
    if (typeof host !== 'string' || host === '') throw new TypeError(`${where}: host must be a non-empty string`);
    checkHost(where, host);
    if (fields.family !== undefined) checkFamily(where, host, fields.family);
    return { host, port: checkInteger(where, 'port', port, 0, 65535) };
  }
  if (typeof input !== 'string') {
    throw new TypeError(`${where}: address must be 'host:port' or { host, port }, got ${describe(input)}`);
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(input);
  if (match === null) {
    throw new TypeError(`${where}: address must look like 'host:port' or '[ipv6]:port', got '${input}'`);
  }
  const host = match[1] ?? match[2];
  if (host === '') throw new TypeError(`${where}: address '${input}' has no host`);
  checkHost(where, host);
  if (match[1] !== undefined && isIP(host) !== 6) throw new TypeError(`${where}: '${host}' is not an IPv6 address`);
  return { host, port: checkInteger(where, 'port', Number(match[3]), 0, 65535) };
}

/** A SocketAddress's family must be 4 or 6 and that of its numeric address: it is not a choice of family for a lookup. */
function checkFamily(where: string, host: string, family: unknown): void {
  if (family !== 4 && family !== 6) throw new TypeError(`${where}: family must be 4 or 6, got ${describe(family)}`);
  const actual = isIP(host);
  if (actual === 0) throw new TypeError(`${where}: family goes with a numeric address (a SocketAddress), not with the host name '${host}'`);
  if (actual !== family) throw new TypeError(`${where}: '${host}' is an IPv${actual} address, but family says ${family}`);
}

/**
 * Refuses what can only fail later, at a lookup: a stray bracket (`'[::1'`), an IPv6 zone
 * (`'fe80::1%eth0'`, unsupported), spaces, a port inside the host (`'127.0.0.1:80'`), or a
 * dotted quad that is not an IPv4 address (`'256.0.0.1'`).
 */
function checkHost(where: string, host: string): void {
  checkNoNul(where, host);
  if (/[[\]]/.test(host)) throw new TypeError(`${where}: '${host}' is not a host: brackets only enclose a whole IPv6 address, '[::1]:80'`);
  if (host.includes('%')) throw new TypeError(`${where}: '${host}': IPv6 zone ids (%) are not supported`);
  if (/\s/.test(host)) throw new TypeError(`${where}: '${host}' is not a host: it contains white space`);
  const family = isIP(host);
  if (host.includes(':') && family !== 6) throw new TypeError(`${where}: '${host}' is not a host (its port is given apart from it)`);
  if (family === 0 && /^\d+\.\d+\.\d+\.\d+$/.test(host) && host.split('.').some((part) => Number(part) > 255)) {
    throw new TypeError(`${where}: '${host}' is not an IPv4 address (a part is over 255)`);
  }
}

/** Refuses a NUL byte, which getaddrinfo would take as the end of the name. */
function checkNoNul(where: string, host: string): void {
  if (host.includes('\0')) {
    throw new TypeError(`${where}: host must not contain NUL characters, got '${host.replaceAll('\0', '\\0')}'`);
  }
}

/** getaddrinfo's names for "no such name" and "no address for it": both are Node's ENOTFOUND. */
const NOT_FOUND = new Set(['EAI_NONAME', 'EAI_NODATA']);

/**
 * A resolved address: numeric, with its family.
 *
 * @example
 * ```ts
 * const [first] = yield* resolve('localhost'); // { address: '127.0.0.1', family: 4 }
 * ```
 */
export interface ResolvedHost {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to its addresses, in the order getaddrinfo returns them. A numeric
 * address is returned as it is, without a lookup. At most four lookups run at once in the whole
 * process (on helper threads); more wait their turn, and a dropped one stops counting. A name
 * that cannot be resolved throws a `ResolveError` when awaited; a host that is not a string, is
 * empty or contains a NUL byte throws a `TypeError` at the call.
 *
 * @example
 * ```ts
 * const addrs = yield* resolve('localhost'); // [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]
 * ```
 */
export function resolve(host: string): Future<ResolvedHost[]> {
  if (typeof host !== 'string' || host === '') throw new TypeError('resolve(): host must be a non-empty string');
  checkNoNul('resolve()', host);
  return new Lookup(host);
}

class Lookup extends Future<ResolvedHost[]> {
  #request = -1;
  #waker: Context['waker'] | null = null;
  /** Where #waker waits: drop() may run outside any turn (a cancel from plain Node code). */
  #reactor: Reactor | null = null;
  constructor(private readonly host: string) {
    super();
  }

  poll(cx: Context): Poll<ResolvedHost[]> {
    const family = isIP(this.host);
    if (family !== 0) return [{ address: this.host, family: family as 4 | 6 }];
    const reactor = Executor.current().reactor;
    if (this.#request === -1) {
      const id = binding.lookupStart(this.host, reactor.blocker.registryId);
      if (id < 0) throw new IoError('start a lookup thread', id, `for '${this.host}'`); // out of threads
      this.#request = id;
    }
    const result = binding.lookupTake(this.#request);
    if (result === undefined) {
      this.#waker = cx.waker;
      this.#reactor = reactor;
      reactor.waitNotify(cx.waker);
      return PENDING;
    }
    this.#request = -1;
    if (result.error !== undefined) {
      const detail = result.message ?? 'lookup failed';
      if (NOT_FOUND.has(result.error)) throw new ResolveError(this.host, 'ENOTFOUND', `${detail}, getaddrinfo ${result.error}`);
      throw new ResolveError(this.host, result.error, detail);
    }
    if (result.addresses.length === 0) throw new ResolveError(this.host, 'ENOTFOUND', 'no addresses');
    return result.addresses;
  }

  override drop(): void {
    if (this.#request !== -1) binding.lookupCancel(this.#request);
    this.#request = -1;
    if (this.#waker !== null) this.#reactor?.forgetNotify(this.#waker);
    this.#waker = this.#reactor = null;
  }
}

/**
 * Formats a numeric address (a `localAddress`, a `peerAddress`) for people: '127.0.0.1:7000' or
 * '[::1]:7000'. Anything else (the `{ host, port }` form, say) is a TypeError, a port out of
 * range a RangeError.
 *
 * @example
 * ```ts
 * console.log(`listening on ${formatAddress(listener.localAddress)}`);
 * ```
 */
export function formatAddress(a: SocketAddress): string {
  const where = 'formatAddress()';
  if (typeof a !== 'object' || a === null || typeof a.address !== 'string' || (a.family !== 4 && a.family !== 6)) {
    throw new TypeError(`${where}: expected a numeric address { address, port, family: 4 | 6 }, got ${describe(a)}`);
  }
  checkInteger(where, 'port', a.port, 0, 65535);
  return a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
