// ThreadChannel: a queue of cloneable messages in a SharedArrayBuffer ring, sent from any thread
// and received as a future on one executor thread. It needs neither side's event loop: inside
// blockOn, `parentPort.on('message')` never fires, but shared memory plus notifyBlocker works.
import { deserialize, serialize } from 'node:v8';
import { ClosedError } from '../errors.js';
import { Executor } from '../executor.js';
import { Future, PENDING, type Context, type Poll, type Waker } from '../future.js';
import type { Reactor } from '../reactor.js';
import { checkDuration, checkInteger, checkOptions } from '../_validate.js';
import { CrossThreadSignal, checkForm, signalFromForm, type CrossThreadSignalForm } from './signal.js';
import { cloneError } from './_clone_error.js';

// Header cells, then the ring of bytes. Each message is a 4-byte length and v8.serialize() bytes.
const LOCK = 0; // senders' lock: 0 free, 1 held
const USED = 1; // bytes in the ring, plus CLOSED_BIT once closed
const HEAD = 2; // read offset, written by the receiver only
const TAIL = 3; // write offset, written under the lock only
const SEQ = 4; // bumped by every receive, unlock and close: blocked senders wait on it
const CELLS = 6; // the last one holds MAGIC
const DATA_OFFSET = 32;
/** In USED: closing and publishing share one cell, so a message lands before the close or never. */
const CLOSED_BIT = 1 << 31;
const SIZE_MASK = 0x7fffffff;
const MIN_CAPACITY = 16;
const MAX_CAPACITY = 2 ** 30;
/** Marks a buffer as a channel's ('TCH2'; 'TCH1' had a lock-taking close and another layout). */
const MAGIC = 0x54434832;
const KIND = 'wakeloop.ThreadChannel';

/** Set by ThreadChannel.from() just before `new`: what the constructor adopts. */
let adopting: { cells: Int32Array; signal: CrossThreadSignal } | undefined;

/**
 * The structured-cloneable form of a {@link ThreadChannel}, to post to other threads.
 *
 * @example
 * ```ts
 * const form: ThreadChannelForm = new ThreadChannel().toCloneable();
 * ```
 */
export interface ThreadChannelForm {
  readonly kind: typeof KIND;
  readonly sab: SharedArrayBuffer;
  readonly signal: CrossThreadSignalForm;
}

/**
 * A many-senders, one-receiver queue between threads, in shared memory.
 *
 * - Messages are anything `v8.serialize` takes (the structured-clone types: plain objects,
 *   arrays, typed arrays, Map, Set, Date, bigint, errors of the built-in classes...), copied
 *   into the ring; not functions, not class identity, and not SharedArrayBuffers (share those
 *   once, through `workerData`). `undefined` reads as "closed" to `recv()`, so sending it
 *   throws a TypeError.
 * - `send` works from any thread holding the channel (rebuilt with `ThreadChannel.from`); it
 *   blocks the sending thread while the ring is full (`trySend` does not). Never let the
 *   receiving thread wait on its own full channel.
 * - `recv()` is a future for one executor thread: it wakes that executor even when it is
 *   blocked in the kernel. `close()` (from any side) ends it after the queued messages.
 * - Senders take a lock in shared memory to copy a message in. A sender thread terminated
 *   (`worker.terminate()`) while copying leaves that lock held: later sends on any thread then
 *   wait until `close()`, which makes them throw ClosedError (a `send` with a finite timeout
 *   returns false at its deadline). `recv`, `tryRecv` and `close` never take the lock.
 *
 * @example
 * ```ts
 * const ch = new ThreadChannel<{ n: number }>();
 * new Worker(url, { workerData: ch.toCloneable() }); // worker: ThreadChannel.from(workerData).send({ n: 1 })
 * const msg = yield* ch.recv();                      // { n: 1 }
 * ```
 */
export class ThreadChannel<T> {
  readonly #cells: Int32Array;
  readonly #data: Uint8Array;
  readonly #capacity: number;
  readonly #signal: CrossThreadSignal;
  readonly #header = new Uint8Array(4);
  readonly #headerView = new DataView(this.#header.buffer);

  /**
   * Makes a channel whose ring holds `capacity` bytes (an integer from 16 to 2^30, default
   * 64 KiB); a message takes 4 bytes plus its serialized size. Throws a TypeError for options
   * that are not an object or a capacity that is not an integer, a RangeError out of range.
   *
   * @example
   * ```ts
   * const ch = new ThreadChannel<string>({ capacity: 1 << 20 });
   * ```
   */
  constructor(options: { capacity?: number } = {}) {
    const adopted = adopting;
    adopting = undefined;
    if (adopted !== undefined) {
      this.#cells = adopted.cells;
      this.#signal = adopted.signal;
    } else {
      const capacity = checkCapacity(options);
      this.#cells = new Int32Array(new SharedArrayBuffer(DATA_OFFSET + capacity), 0, CELLS);
      Atomics.store(this.#cells, CELLS - 1, MAGIC);
      this.#signal = new CrossThreadSignal();
    }
    this.#capacity = this.#cells.buffer.byteLength - DATA_OFFSET;
    this.#data = new Uint8Array(this.#cells.buffer, DATA_OFFSET, this.#capacity);
  }

  /**
   * Rebuilds the channel in the thread its form was posted to. Throws a TypeError when `form`
   * is not a channel's form (`undefined` included: only the constructor makes new channels).
   *
   * @example
   * ```ts
   * const results = ThreadChannel.from<Result>(workerData.results);
   * ```
   */
  static from<T>(form: ThreadChannelForm): ThreadChannel<T> {
    const cells = checkForm('ThreadChannel.from', form, KIND, CELLS, MAGIC);
    const bytes = cells.buffer.byteLength;
    if (bytes < DATA_OFFSET + MIN_CAPACITY || bytes > DATA_OFFSET + MAX_CAPACITY) {
      const want = `a ${DATA_OFFSET}-byte header and a ring of 16 to 2^30 bytes`;
      throw new TypeError(`ThreadChannel.from: the form's sab must hold ${want}, got ${bytes} bytes`);
    }
    const signal = signalFromForm('ThreadChannel.from: form.signal', form.signal);
    adopting = { cells, signal };
    return new ThreadChannel<T>();
  }

  /**
   * The cloneable form: `{ kind, sab, signal }`, all shared.
   *
   * @example
   * ```ts
   * new Worker(url, { workerData: { results: ch.toCloneable() } });
   * ```
   */
  toCloneable(): ThreadChannelForm {
    return { kind: KIND, sab: this.#cells.buffer as SharedArrayBuffer, signal: this.#signal.toCloneable() };
  }

  /**
   * Queues `message`, blocking this thread while the ring is full (up to `timeoutMs`
   * milliseconds, default `Infinity`: forever; false if it ran out). Throws ClosedError once
   * closed (a sender blocked at the close wakes up and throws it), a TypeError for `undefined`
   * (what `recv()` returns once closed) or a `timeoutMs` that is not a number, a RangeError
   * for a negative `timeoutMs` or a message that can never fit, and a TypeError for a message
   * that cannot be cloned (a function, for one; its `cause` is `v8.serialize`'s error). After
   * any of these errors nothing was queued, and the channel works on.
   *
   * @example
   * ```ts
   * ch.send({ id: 7, value: 42 });
   * ```
   */
  send(message: T, timeoutMs = Infinity): boolean {
    return this.#write('ThreadChannel.send()', message, checkDuration('ThreadChannel.send()', 'timeoutMs', timeoutMs, true));
  }

  /**
   * Queues `message` if there is room now; false if the ring is full. It still waits for
   * another sender that is copying a message in. Throws like `send()`.
   *
   * @example
   * ```ts
   * if (!ch.trySend(update)) dropped++;
   * ```
   */
  trySend(message: T): boolean {
    return this.#write('ThreadChannel.trySend()', message, 0);
  }

  /**
   * Takes the next message if one is queued: `{ value }`, or undefined.
   *
   * @example
   * ```ts
   * for (let m; (m = ch.tryRecv()) !== undefined; ) handle(m.value);
   * ```
   */
  tryRecv(): { value: T } | undefined {
    const c = this.#cells;
    if ((Atomics.load(c, USED) & SIZE_MASK) === 0) return undefined;
    let head = Atomics.load(c, HEAD);
    head = this.#copyOut(head, this.#header);
    const bytes = new Uint8Array(this.#headerView.getUint32(0, true));
    head = this.#copyOut(head, bytes);
    Atomics.store(c, HEAD, head);
    Atomics.sub(c, USED, 4 + bytes.length); // leaves CLOSED_BIT as it is
    this.#bump(); // a sender may wait for room
    return { value: deserialize(bytes) as T };
  }

  /**
   * The next message, waiting for one; `undefined` once the channel is closed and drained.
   * Await it on the one receiving executor thread.
   *
   * @example
   * ```ts
   * for (let m; (m = yield* ch.recv()) !== undefined; ) handle(m);
   * ```
   */
  recv(): Future<T | undefined> {
    return new Recv(this);
  }

  /**
   * Closes the channel from any thread: sends fail from now on, `recv()` ends after the
   * queued messages, and blocked senders wake up and throw ClosedError. Never blocks. A send
   * racing with it either lands before it (and is received) or throws ClosedError.
   *
   * @example
   * ```ts
   * ch.close();
   * ```
   */
  close(): void {
    Atomics.or(this.#cells, USED, CLOSED_BIT);
    this.#bump();
    this.#signal.notify();
  }

  /**
   * True once closed, from any thread.
   *
   * @example
   * ```ts
   * if (!ch.closed) ch.send(msg);
   * ```
   */
  get closed(): boolean {
    return (Atomics.load(this.#cells, USED) & CLOSED_BIT) !== 0;
  }

  /** @internal Like CrossThreadSignal._takeOrArm, for the channel's own signal. */
  _takeOrArm(reactor: Reactor, waker: Waker): boolean {
    return this.#signal._takeOrArm(reactor, waker);
  }

  #write(what: string, message: T, timeoutMs: number): boolean {
    if (message === undefined) {
      const why = 'recv() returns undefined once the channel is closed; send null instead';
      throw new TypeError(`${what}: message must not be undefined (${why})`);
    }
    const bytes = serializeMessage(what, message); // before the lock: a failure leaves nothing to undo
    const need = 4 + bytes.length;
    if (need > this.#capacity) {
      throw new RangeError(`${what}: a ${bytes.length}-byte message cannot fit a ${this.#capacity}-byte ring`);
    }
    const c = this.#cells;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      // SEQ first: a receive, unlock or close after this read changes it, so the wait below
      // cannot sleep through one (each changes its own cell before bumping SEQ).
      const seq = Atomics.load(c, SEQ);
      const used = Atomics.load(c, USED);
      if ((used & CLOSED_BIT) !== 0) throw new ClosedError('ThreadChannel');
      const room = this.#capacity - used >= need;
      if (room && Atomics.compareExchange(c, LOCK, 0, 1) === 0) {
        let sent = false;
        try {
          sent = this.#append(bytes);
        } finally {
          this.#unlock();
        }
        if (sent) {
          this.#signal.notify();
          return true;
        }
        continue; // another sender filled the ring, or it closed: look again
      }
      // trySend waits out another sender's copy (short) but never waits for room.
      const remaining = room && timeoutMs === 0 ? Infinity : deadline - performance.now();
      if (remaining <= 0) return false;
      Atomics.wait(c, SEQ, seq, remaining);
    }
  }

  /** Under the lock: copies a message in at TAIL and publishes it; false if it no longer fits or the channel closed. */
  #append(bytes: Uint8Array): boolean {
    const c = this.#cells;
    const need = 4 + bytes.length;
    if (this.#capacity - (Atomics.load(c, USED) & SIZE_MASK) < need) return false;
    this.#headerView.setUint32(0, bytes.length, true);
    const tail = this.#copyIn(this.#copyIn(Atomics.load(c, TAIL), this.#header), bytes);
    // A CAS, not an add: it fails once close() set CLOSED_BIT, so no message lands after a close.
    for (let used = Atomics.load(c, USED); ; ) {
      if ((used & CLOSED_BIT) !== 0) return false;
      const seen = Atomics.compareExchange(c, USED, used, used + need);
      if (seen === used) break;
      used = seen; // the receiver took bytes meanwhile, or close() set its bit
    }
    Atomics.store(c, TAIL, tail);
    return true;
  }

  #copyIn(pos: number, src: Uint8Array): number {
    const first = Math.min(src.length, this.#capacity - pos);
    this.#data.set(src.subarray(0, first), pos);
    if (first < src.length) this.#data.set(src.subarray(first), 0);
    return (pos + src.length) % this.#capacity;
  }

  #copyOut(pos: number, dst: Uint8Array): number {
    const first = Math.min(dst.length, this.#capacity - pos);
    dst.set(this.#data.subarray(pos, pos + first));
    if (first < dst.length) dst.set(this.#data.subarray(0, dst.length - first), first);
    return (pos + dst.length) % this.#capacity;
  }

  #unlock(): void {
    Atomics.store(this.#cells, LOCK, 0);
    this.#bump(); // senders waiting for the lock wait on SEQ too
  }

  /** Wakes every sender blocked in #write, to look again. */
  #bump(): void {
    Atomics.add(this.#cells, SEQ, 1);
    Atomics.notify(this.#cells, SEQ);
  }
}

/** v8.serialize(), with a value it cannot clone reported as a TypeError naming the call. */
function serializeMessage(what: string, message: unknown): Buffer {
  try {
    return serialize(message);
  } catch (error) {
    throw cloneError(what, 'the message could not be cloned to another thread', error);
  }
}

/** The ring size from the constructor's options (default 64 KiB). */
function checkCapacity(options: unknown): number {
  checkOptions('new ThreadChannel()', options, ['capacity']);
  const { capacity } = options as { capacity?: unknown };
  if (capacity === undefined) return 64 * 1024;
  return checkInteger('new ThreadChannel()', 'options.capacity', capacity, MIN_CAPACITY, MAX_CAPACITY);
}

/** The future of `ThreadChannel.recv()`. */
class Recv<T> extends Future<T | undefined> {
  #armed: { reactor: Reactor; waker: Waker } | null = null;
  constructor(private readonly channel: ThreadChannel<T>) {
    super();
  }
  poll(cx: Context): Poll<T | undefined> {
    const reactor = Executor.current().reactor;
    for (;;) {
      const message = this.channel.tryRecv();
      if (message !== undefined) return this.#done(message.value);
      // No message lands after the close (see CLOSED_BIT): one last look drains the ring.
      if (this.channel.closed) return this.#done(this.channel.tryRecv()?.value);
      if (!this.channel._takeOrArm(reactor, cx.waker)) break;
    }
    this.#armed = { reactor, waker: cx.waker };
    return PENDING;
  }
  override drop(): void {
    if (this.#armed !== null) this.#armed.reactor.forgetNotify(this.#armed.waker);
    this.#armed = null;
  }
  #done(value: T | undefined): T | undefined {
    this.drop();
    return value;
  }
}
