// The public face of the native IoBlocker, for programs that drive readiness themselves.
import {
  binding,
  ERROR,
  INTEREST_READ,
  INTEREST_WRITE,
  READ_CLOSED,
  READABLE,
  URGENT,
  WRITABLE,
  WRITE_CLOSED,
  type NativeBlocker,
} from './_binding.js';
import { ClosedError, IoError } from './errors.js';
import { defaultBackend, openBlocker } from './reactor.js';
import { describe } from './task.js';
import { checkBackend, checkInteger, checkOptions } from './_validate.js';

/**
 * Options for `new IoBlocker()`.
 *
 * @example
 * ```ts
 * const blocker = new IoBlocker({ backend: 'poll', capacity: 64 });
 * ```
 */
export interface IoBlockerOptions {
  /** 'epoll' (Linux, edge-triggered) or the portable 'poll'; default `WAKELOOP_BACKEND` or 'epoll'. */
  backend?: 'epoll' | 'poll';
  /** How many events one `block()` can deliver; default 1024. */
  capacity?: number;
}

/**
 * One event: the id given at registration and the signal bits (READABLE = 1, WRITABLE = 2, ...).
 *
 * @example
 * ```ts
 * for (const { eventId, signals } of blocker.eventList(blocker.block(100))) wake(eventId, signals);
 * ```
 */
export interface BlockerEvent {
  eventId: number;
  signals: number;
}

/**
 * Registers interest in fds and blocks until the kernel reports readiness. Events are written
 * into `events` as `[eventId, signals]` pairs by one native call.
 *
 * @example
 * ```ts
 * const blocker = new IoBlocker();
 * blocker.register(fd, 7, { readable: true });
 * const n = blocker.block(1000);          // events.subarray(0, 2 * n) holds [7, 1]
 * blocker.deregister(fd); blocker.close();
 * ```
 */
export class IoBlocker {
  /** READABLE, WRITABLE, READ_CLOSED, WRITE_CLOSED, ERROR, URGENT (epoll only): the signal bits. */
  static readonly READABLE = READABLE;
  static readonly WRITABLE = WRITABLE;
  static readonly READ_CLOSED = READ_CLOSED;
  static readonly WRITE_CLOSED = WRITE_CLOSED;
  static readonly ERROR = ERROR;
  static readonly URGENT = URGENT;

  /** The array the addon writes into (a getter: assigning `events` would leave it behind). */
  readonly #events: Int32Array;
  readonly #native: NativeBlocker;
  #closed = false;

  constructor(options: IoBlockerOptions = {}) {
    checkOptions('new IoBlocker()', options, ['backend', 'capacity']);
    const capacity = checkInteger('new IoBlocker()', 'capacity', options.capacity ?? 1024, 1, 1 << 20);
    const backend = options.backend ?? defaultBackend();
    checkBackend('new IoBlocker()', backend);
    this.#events = new Int32Array(capacity * 2);
    this.#native = openBlocker(this.#events, backend, 'new IoBlocker()');
  }

  /** The shared result array: `[eventId, signals]` pairs, valid until the next `block()`. */
  get events(): Int32Array {
    return this.#events;
  }

  /** 'epoll' or 'poll'. */
  get backend(): string {
    return this.#native.backend;
  }

  /** The id another thread passes to `notifyBlocker()` to wake this blocker. */
  get registryId(): number {
    return this.#native.registryId;
  }

  /**
   * Registers `fd` under `eventId` (a non-negative int32). epoll registers both directions
   * edge-triggered whatever `interest` says; poll reports only the directions asked for, once.
   */
  register(fd: number, eventId: number, interest: { readable?: boolean; writable?: boolean } = { readable: true }): void {
    this.#call('register', this.#native.register(this.#fd(fd), this.#id(eventId), this.#interest(interest)), fd);
  }

  /** Changes the directions (and event id) of a registered fd. */
  modify(fd: number, eventId: number, interest: { readable?: boolean; writable?: boolean }): void {
    this.#call('modify', this.#native.modify(this.#fd(fd), this.#id(eventId), this.#interest(interest)), fd);
  }

  /** Deregisters `fd`: do this before closing it. */
  deregister(fd: number): void {
    this.#call('deregister', this.#native.deregister(this.#fd(fd)), fd);
  }

  /**
   * Blocks up to `timeoutMs` (-1 = forever); returns how many events `events` now holds (0 after
   * a timeout or a `notify()`). The thread runs nothing else meanwhile, Node's own loop included.
   * In a worker thread, termination (`worker.terminate()`, `process.exit()` or an uncaught error
   * in the main thread) ends the wait: Node wakes the worker's loop to stop it, and the blocker
   * watches that loop's fd for such a wake-up (other activity on Node's loop never ends the
   * wait early; a `timeoutMs` is waited in full). One blocker per thread watches: the one that
   * blocked last takes the watch over. If Node's loop has readiness it has not consumed (for
   * instance after `worker.getHeapSnapshot()`), a stop may add no new wake-up, so the wait then
   * checks for a stop at least every 100 ms until the loop has run. Not while attached (Node's
   * loop then watches the blocker instead); in the main thread nothing is watched. A failed wait
   * throws `IoError` (poll(2), for one, fails with EINVAL while more fds are registered than
   * RLIMIT_NOFILE allows).
   *
   * @example
   * ```ts
   * const n = blocker.block(1000); // up to 1 s; events.subarray(0, 2 * n) holds the pairs
   * ```
   */
  block(timeoutMs: number): number {
    this.#open();
    if (timeoutMs !== -1) checkBlockTimeout(timeoutMs);
    const n = this.#native.block(timeoutMs);
    if (n < 0) throw new IoError('block', n);
    return n;
  }

  /**
   * The first `n` events of the last `block()` as objects (a convenience; allocates). `n` is
   * what `block()` returned, at most the events capacity.
   */
  eventList(n: number): BlockerEvent[] {
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      throw new TypeError(`IoBlocker.eventList(): n must be an integer, got ${describe(n)}`);
    }
    const events = this.#events;
    const capacity = events.length / 2;
    if (n < 0 || n > capacity) {
      throw new RangeError(`IoBlocker.eventList(): n must be from 0 to the events capacity, ${capacity}, got ${n}`);
    }
    const list: BlockerEvent[] = [];
    for (let i = 0; i < n; i++) list.push({ eventId: events[2 * i], signals: events[2 * i + 1] });
    return list;
  }

  /** Wakes a blocked (or the next) `block()`; callable from any thread through `registryId`. */
  notify(): void {
    this.#open();
    this.#native.notify();
  }

  /** Closes the blocker; deregister fds first. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#native.close();
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('IoBlocker');
  }
  #fd(fd: number): number {
    this.#open();
    return checkInteger('IoBlocker', 'fd', fd, 0, 2 ** 31 - 1);
  }
  #id(eventId: number): number {
    return checkInteger('IoBlocker', 'eventId', eventId, 0, 2 ** 31 - 1);
  }
  #interest(i: { readable?: boolean; writable?: boolean }): number {
    if (typeof i !== 'object' || i === null) throw new TypeError('IoBlocker: interest must be { readable?, writable? }');
    return (i.readable ? INTEREST_READ : 0) | (i.writable ? INTEREST_WRITE : 0);
  }
  #call(what: string, rc: number, fd: number): void {
    if (rc < 0) throw new IoError(what, rc, `fd ${fd}`);
  }
}

/**
 * Wakes the IoBlocker (or executor) with this registry id from any thread. Returns false if it
 * is gone. Safe against fd reuse: the id carries a generation.
 *
 * @example
 * ```ts
 * // in a worker, given the id posted by the main thread:
 * notifyBlocker(id);
 * ```
 */
export function notifyBlocker(registryId: number): boolean {
  checkInteger('notifyBlocker()', 'registryId', registryId, 0, 2 ** 31 - 1);
  return binding.notifyBlocker(registryId);
}

/** block()'s timeout: -1 (forever) or 0 to 2^31-1 ms; checked as given (-0.5 is not "forever"). */
function checkBlockTimeout(timeoutMs: unknown): void {
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) {
    throw new TypeError(`IoBlocker.block(): timeoutMs must be a number of milliseconds, got ${describe(timeoutMs)}`);
  }
  if (!(timeoutMs >= 0 && timeoutMs <= 2 ** 31 - 1)) {
    throw new RangeError(`IoBlocker.block(): timeoutMs must be -1 (forever) or from 0 to 2^31-1, got ${timeoutMs}`);
  }
}
