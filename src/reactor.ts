// The reactor: maps the event ids the kernel reports back to the wakers stored by pending
// futures, and keeps readiness bits per source so a future tries its syscall only when it may
// succeed.
import {
  binding,
  ERROR,
  READ_CLOSED,
  READABLE,
  URGENT,
  WRITABLE,
  WRITE_CLOSED,
  type NativeBlocker,
} from './_binding.js';
import { constants } from 'node:os';
import { IoError } from './errors.js';
import type { Waker } from './future.js';

export { ERROR, READ_CLOSED, READABLE, URGENT, WRITABLE, WRITE_CLOSED };

/** Bits that let a read make progress (data, EOF or an error to report). */
export const READ_READY = READABLE | READ_CLOSED | ERROR;
/** Bits that let a write make progress (buffer space, or an error to report). */
export const WRITE_READY = WRITABLE | WRITE_CLOSED | ERROR;

// An event id is a slot index plus a generation, so an event for a source that was closed (and
// whose fd number was reused) earlier in the same batch is recognised as stale and dropped.
const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const GENERATION_LIMIT = 1 << 11;
/** Pairs the events array holds: a full array means more may wait (the next turn polls again). */
export const EVENT_CAPACITY = 1024;

/** Reads up to this many bytes return a cached view of the scratch buffer (about 200 KiB of views at most). */
const SMALL_VIEW_LIMIT = 2048;

/** The backend used when none is asked for: `WAKELOOP_BACKEND` or epoll. */
export function defaultBackend(): 'epoll' | 'poll' {
  const env = process.env.WAKELOOP_BACKEND;
  if (env === undefined || env === '') return 'epoll';
  if (env === 'epoll' || env === 'poll') return env;
  throw new TypeError(`WAKELOOP_BACKEND must be 'epoll' or 'poll', got '${env}'`);
}

/**
 * One registered fd: its event id, what the kernel said about it, and who waits on it.
 * Invariant: at most one waker per direction (the last one stored wins, the replaced one is
 * woken so it can re-check), which is what one task per stream direction needs.
 */
export class IoSource {
  /**
   * READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR | URGENT, set by events. EAGAIN
   * clears a direction's bit and ERROR (the call that would have returned the error did not);
   * the CLOSED bits and URGENT stay.
   */
  readiness = READABLE | WRITABLE;
  readWaker: Waker | null = null;
  writeWaker: Waker | null = null;
  /** poll backend only: the directions armed in the kernel (it reports each once). */
  armed = 0;

  constructor(
    readonly fd: number,
    readonly eventId: number,
    /** A regular file cannot be registered: it is always ready, and waits never happen. */
    readonly alwaysReady: boolean,
  ) {}

  /** Clears bits the caller knows are stale: a short read drained the socket, a connect is under way... */
  clear(bits: number): void {
    if (!this.alwaysReady) this.readiness &= ~bits;
  }

  /**
   * A syscall in direction `bit` (READABLE or WRITABLE) said EAGAIN: clears that bit and ERROR,
   * since a pending error would have been returned instead (an ICMP error on a UDP socket, once
   * read, must not leave the source ready forever).
   */
  sawEagain(bit: number): void {
    this.clear(bit | ERROR);
  }
}

/**
 * Opens a native blocker. Running out of fds (or memory) there is an IoError naming `where`,
 * as every other failed syscall is, not the addon's plain Error.
 */
export function openBlocker(events: Int32Array, backend: 'epoll' | 'poll', where: string): NativeBlocker {
  try {
    return new binding.IoBlocker(events, { backend });
  } catch (error) {
    const errno = (error as { errno?: unknown }).errno;
    if (typeof errno !== 'number') throw error;
    throw new IoError(`open the ${backend} backend`, errno, `for ${where}`);
  }
}

/**
 * Owns an IoBlocker and the slab of sources registered with it.
 *
 * @example
 * ```ts
 * const source = reactor.register(fd);
 * if (!(source.readiness & READ_READY)) { reactor.waitReadable(source, cx.waker); return PENDING; }
 * ```
 */
export class Reactor {
  readonly blocker: NativeBlocker;
  readonly events = new Int32Array(EVENT_CAPACITY * 2);
  /** The shared read buffer: a read's view into it is valid until the reading task suspends. */
  readonly scratch = new Uint8Array(64 * 1024);
  /** Views of the scratch buffer's first n bytes for small n, each made once (see scratchView). */
  readonly #smallViews: Array<Uint8Array | undefined> = new Array(SMALL_VIEW_LIMIT + 1).fill(undefined);
  /** poll(2) reports a direction once and must be re-armed; epoll is registered once, forever. */
  readonly oneShot: boolean;
  #sources: Array<IoSource | undefined> = [];
  #generations: number[] = [];
  #freeSlots: number[] = [];
  #registered = 0;
  #closed = false;
  /** Futures completed through notify() (name lookups, signals): re-checked after each block. */
  #notifyWaiters = new Set<Waker>();
  /** The blocker's wakeCount when the notify waiters were last woken. */
  #wakesSeen = 0;

  /**
   * @param onReleased called after a registration or a notify waiter is removed: that may have
   *   been the executor's last work (the attached mode then lets the process exit).
   */
  constructor(
    backend: 'epoll' | 'poll' = defaultBackend(),
    private readonly onReleased: () => void = () => {},
  ) {
    this.blocker = openBlocker(this.events, backend, 'new Executor()');
    this.oneShot = this.blocker.backend === 'poll';
  }

  /**
   * The scratch buffer's first `n` bytes. A read's result is only valid until its task suspends,
   * so small reads share one view per length instead of allocating a new one each time: most
   * messages are small, and a view costs more to create than the syscall's copy.
   */
  scratchView(n: number): Uint8Array {
    if (n > SMALL_VIEW_LIMIT) return this.scratch.subarray(0, n);
    return (this.#smallViews[n] ??= this.scratch.subarray(0, n));
  }

  /** How many sources are registered. */
  get size(): number {
    return this.#registered;
  }

  /** Registers `fd` for both directions and returns its source. */
  register(fd: number): IoSource {
    const slot = this.#freeSlots.length > 0 ? this.#freeSlots.pop()! : this.#sources.length;
    if (slot > SLOT_MASK) throw new RangeError(`too many registered sources (limit ${SLOT_MASK + 1})`);
    const generation = ((this.#generations[slot] ?? 0) % (GENERATION_LIMIT - 1)) + 1;
    this.#generations[slot] = generation;
    const eventId = (generation << SLOT_BITS) | slot;
    const rc = this.blocker.register(fd, eventId, 0);
    const regularFile = rc === -constants.errno.EPERM; // epoll(7): regular files cannot be polled
    if (rc < 0 && !regularFile) {
      this.#freeSlots.push(slot);
      throw new IoError('register', rc, `fd ${fd}`);
    }
    const source = new IoSource(fd, eventId, regularFile);
    this.#sources[slot] = source;
    this.#registered++;
    return source;
  }

  /** Deregisters before the caller closes the fd, and wakes whoever waited so they see it. */
  deregister(source: IoSource): void {
    const slot = source.eventId & SLOT_MASK;
    if (this.#sources[slot] !== source) return;
    this.#sources[slot] = undefined;
    this.#freeSlots.push(slot);
    this.#registered--;
    // After close() the blocker is gone and its fd with it: the kernel keeps no interest to remove.
    if (!source.alwaysReady && !this.#closed) this.blocker.deregister(source.fd);
    source.readiness = READ_CLOSED | WRITE_CLOSED | ERROR;
    const r = source.readWaker;
    const w = source.writeWaker;
    source.readWaker = source.writeWaker = null;
    r?.wake();
    if (w !== r) w?.wake();
    this.onReleased();
  }

  /** Stores the waker to wake when `source` becomes readable. */
  waitReadable(source: IoSource, waker: Waker): void {
    const previous = source.readWaker;
    source.readWaker = waker;
    if (previous !== null && previous !== waker) previous.wake();
    if (this.oneShot && !(source.armed & 1)) this.#arm(source, source.armed | 1);
  }

  /** Stores the waker to wake when `source` becomes writable. */
  waitWritable(source: IoSource, waker: Waker): void {
    const previous = source.writeWaker;
    source.writeWaker = waker;
    if (previous !== null && previous !== waker) previous.wake();
    if (this.oneShot && !(source.armed & 2)) this.#arm(source, source.armed | 2);
  }

  /** Forgets a waker stored for a direction (1 read, 2 write) by a future that was dropped. */
  forget(source: IoSource, waker: Waker, direction: 1 | 2): void {
    if (direction === 1 && source.readWaker === waker) source.readWaker = null;
    if (direction === 2 && source.writeWaker === waker) source.writeWaker = null;
  }

  #arm(source: IoSource, interest: number): void {
    source.armed = interest;
    const rc = this.blocker.modify(source.fd, source.eventId, interest);
    if (rc < 0) throw new IoError('modify', rc, `fd ${source.fd}`);
  }

  /** Wakes `waker` after the next block() returns (for completions signalled by notify()). */
  waitNotify(waker: Waker): void {
    this.#notifyWaiters.add(waker);
  }

  /** Forgets a waker stored with waitNotify. */
  forgetNotify(waker: Waker): void {
    this.#notifyWaiters.delete(waker);
    this.onReleased();
  }

  /** True if something registered here could wake a blocked executor. */
  get hasWaiters(): boolean {
    return this.#registered > 0 || this.#notifyWaiters.size > 0;
  }

  /** Blocks up to `timeoutMs` (-1 = forever) and wakes what the events concern. Returns the count. */
  block(timeoutMs: number): number {
    const n = this.blocker.block(timeoutMs);
    if (n > 0) this.#dispatch(n);
    // poll(2) fails with EINVAL once more fds are registered than RLIMIT_NOFILE allows; going on
    // would spin without ever seeing an event.
    else if (n < 0) throw new IoError('block', n);
    // Name lookups, signals and other threads complete through notify(): re-check their futures
    // only when block() actually consumed a wake, not after every I/O event.
    if (this.#notifyWaiters.size > 0 && this.blocker.wakeCount !== this.#wakesSeen) {
      this.#wakesSeen = this.blocker.wakeCount;
      const waiters = [...this.#notifyWaiters];
      this.#notifyWaiters.clear();
      for (const w of waiters) w.wake();
    }
    return n;
  }

  #dispatch(n: number): void {
    const events = this.events;
    for (let i = 0; i < n; i++) {
      const eventId = events[2 * i];
      const signals = events[2 * i + 1];
      const source = this.#sources[eventId & SLOT_MASK];
      if (source === undefined || source.eventId !== eventId) continue; // stale: closed this batch
      source.readiness |= signals;
      if (signals & READ_READY && source.readWaker !== null) {
        const w = source.readWaker;
        source.readWaker = null;
        w.wake();
      }
      if (signals & WRITE_READY && source.writeWaker !== null) {
        const w = source.writeWaker;
        source.writeWaker = null;
        w.wake();
      }
      if (this.oneShot) {
        // The kernel side disarmed what it reported; re-arm what still has a waiter.
        const still = (source.readWaker !== null ? 1 : 0) | (source.writeWaker !== null ? 2 : 0);
        source.armed = 0;
        if (still !== 0) this.#arm(source, still);
      }
    }
  }

  /**
   * Closes the blocker. Sources still registered (a stream kept past its executor) can still be
   * deregistered and closed by their owners.
   */
  close(): void {
    this.#closed = true;
    this.blocker.close();
  }
}
