// ThreadChannel: a queue of cloneable messages in a SharedArrayBuffer ring, sent from any thread
// and received as a future on one executor thread. It needs neither side's event loop: inside
// blockOn, `parentPort.on('message')` never fires, but shared memory plus notifyBlocker works.
import { deserialize, serialize } from 'node:v8';
import { ClosedError } from '../errors.js';
import { Executor } from '../executor.js';
import { Future, PENDING, type Context, type Poll, type Waker } from '../future.js';
import type { Reactor } from '../reactor.js';
import { CrossThreadSignal, checkForm, type CrossThreadSignalForm } from './signal.js';

// Header cells, then the ring of bytes. Each message is a 4-byte length and v8.serialize() bytes.
const LOCK = 0; // senders' lock: 0 free, 1 held
const USED = 1; // bytes in the ring; senders wait on it when full
const HEAD = 2; // read offset, written by the receiver only
const TAIL = 3; // write offset, written under the lock only
const CLOSED = 4;
const MAGIC_CELL = 5;
const CELLS = 6;
const DATA_OFFSET = 32;
/** Marks a buffer as a channel's ('TCH1'). */
const MAGIC = 0x54434831;
const KIND = 'wakeloop.ThreadChannel';

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
 *   once, through `workerData`). `undefined` reads as "closed" to `recv()`: do not send it.
 * - `send` works from any thread holding the channel (rebuilt with `ThreadChannel.from`); it
 *   blocks the sending thread while the ring is full (`trySend` does not). Never let the
 *   receiving thread wait on its own full channel.
 * - `recv()` is a future for one executor thread: it wakes that executor even when it is
 *   blocked in the kernel. `close()` (from any side) ends it after the queued messages.
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
   * Makes a channel whose ring holds `capacity` bytes (default 64 KiB); a message takes 4
   * bytes plus its serialized size.
   *
   * @example
   * ```ts
   * const ch = new ThreadChannel<string>({ capacity: 1 << 20 });
   * ```
   */
  constructor(options: { capacity?: number } = {}, form?: ThreadChannelForm) {
    if (form !== undefined) {
      this.#cells = checkForm('ThreadChannel.from', form, KIND, CELLS, MAGIC);
      this.#signal = CrossThreadSignal.from(form.signal);
      this.#capacity = form.sab.byteLength - DATA_OFFSET;
    } else {
      const capacity = options.capacity ?? 64 * 1024;
      if (!Number.isInteger(capacity) || capacity < 16 || capacity > 2 ** 30) {
        throw new RangeError(`new ThreadChannel(): capacity must be an integer from 16 to 2^30, got ${String(capacity)}`);
      }
      this.#cells = new Int32Array(new SharedArrayBuffer(DATA_OFFSET + capacity), 0, CELLS);
      Atomics.store(this.#cells, MAGIC_CELL, MAGIC);
      this.#signal = new CrossThreadSignal();
      this.#capacity = capacity;
    }
    this.#data = new Uint8Array(this.#cells.buffer, DATA_OFFSET, this.#capacity);
  }

  /**
   * Rebuilds the channel in the thread its form was posted to.
   *
   * @example
   * ```ts
   * const results = ThreadChannel.from<Result>(workerData.results);
   * ```
   */
  static from<T>(form: ThreadChannelForm): ThreadChannel<T> {
    return new ThreadChannel<T>({}, form);
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
   * Queues `message`, blocking this thread while the ring is full (up to `timeoutMs`, default
   * forever; false if it ran out). Throws ClosedError once closed, RangeError if the message
   * can never fit, and what `v8.serialize` throws for an uncloneable value.
   *
   * @example
   * ```ts
   * ch.send({ id: 7, value: 42 });
   * ```
   */
  send(message: T, timeoutMs = Infinity): boolean {
    return this.#write(serialize(message), timeoutMs);
  }

  /**
   * Queues `message` if there is room now; false if the ring is full.
   *
   * @example
   * ```ts
   * if (!ch.trySend(update)) dropped++;
   * ```
   */
  trySend(message: T): boolean {
    return this.#write(serialize(message), 0);
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
    if (Atomics.load(c, USED) === 0) return undefined;
    let head = Atomics.load(c, HEAD);
    head = this.#copyOut(head, this.#header);
    const bytes = new Uint8Array(this.#headerView.getUint32(0, true));
    head = this.#copyOut(head, bytes);
    Atomics.store(c, HEAD, head);
    Atomics.sub(c, USED, 4 + bytes.length);
    Atomics.notify(c, USED); // a sender may wait for room
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
   * queued messages, and blocked senders wake up and throw ClosedError.
   *
   * @example
   * ```ts
   * ch.close();
   * ```
   */
  close(): void {
    this.#lock();
    Atomics.store(this.#cells, CLOSED, 1);
    this.#unlock();
    Atomics.notify(this.#cells, USED);
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
    return Atomics.load(this.#cells, CLOSED) === 1;
  }

  /** @internal Like CrossThreadSignal._takeOrArm, for the channel's own signal. */
  _takeOrArm(reactor: Reactor, waker: Waker): boolean {
    return this.#signal._takeOrArm(reactor, waker);
  }

  #write(bytes: Uint8Array, timeoutMs: number): boolean {
    const need = 4 + bytes.length;
    if (need > this.#capacity) {
      throw new RangeError(`ThreadChannel.send(): a ${bytes.length}-byte message cannot fit a ${this.#capacity}-byte ring`);
    }
    const c = this.#cells;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      let used: number;
      this.#lock();
      try {
        if (Atomics.load(c, CLOSED) === 1) throw new ClosedError('ThreadChannel');
        used = Atomics.load(c, USED);
        if (this.#capacity - used >= need) {
          this.#headerView.setUint32(0, bytes.length, true);
          let tail = this.#copyIn(Atomics.load(c, TAIL), this.#header);
          tail = this.#copyIn(tail, bytes);
          Atomics.store(c, TAIL, tail);
          Atomics.add(c, USED, need); // publishes the bytes written above
          used = -1;
        }
      } finally {
        this.#unlock();
      }
      if (used === -1) {
        this.#signal.notify();
        return true;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      Atomics.wait(c, USED, used, remaining); // returns at once if the receiver took something
    }
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

  /** Senders hold the lock only to copy bytes, so contention is short: wait on the cell. */
  #lock(): void {
    while (Atomics.compareExchange(this.#cells, LOCK, 0, 1) !== 0) Atomics.wait(this.#cells, LOCK, 1);
  }

  #unlock(): void {
    Atomics.store(this.#cells, LOCK, 0);
    Atomics.notify(this.#cells, LOCK, 1);
  }
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
      // Closing happens under the senders' lock, so every message sent before it is visible now.
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
