/**
 * A batch of packets bound for one connection, written with one syscall. Packets that lie next
 * to each other in memory (posts a group encoded one after the other into its arena) merge into
 * one run as they are added, so a backlog of posts is usually written straight from the group's
 * memory, without a copy per subscriber.
 *
 * @module
 */
import type { Future, TcpStream } from '../../src/index.js';

/**
 * Where a batch of several runs is gathered for its write. One buffer serves every connection:
 * `writeAll` either writes it at once or copies the unsent tail before its task waits, so the
 * buffer is free again before any other task runs. (Gathering measured much faster than a
 * `writev` of the packets: each iovec costs more at the N-API boundary than copying 100 bytes.)
 */
const gather = new Uint8Array(256 * 1024);

/**
 * Encoded bytes ready to send: `bytes[start, end)`. A group encodes its posts one after the
 * other into a shared arena, so consecutive posts are adjacent packets of the same array.
 *
 * @example
 * ```ts
 * const reply = Packet.of(encodeFromServer({ kind: 'error', message: 'no' }));
 * ```
 */
export class Packet {
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}

  /** A packet of all of `bytes`. */
  static of(bytes: Uint8Array): Packet {
    return new Packet(bytes, 0, bytes.length);
  }
}

/**
 * Packets to write, in order, as runs of adjacent bytes. Reuse one per connection (under its
 * write lock): the arrays are kept, so a busy connection allocates nothing per packet.
 *
 * @example
 * ```ts
 * const batch = new Batch();
 * batch.add(first);
 * for (const p of more) batch.add(p);
 * yield* batch.writeTo(stream); // one write
 * batch.clear();
 * ```
 */
export class Batch {
  /** Run i is runBytes[i][runStarts[i], runEnds[i]); Invariant: entries from #runs on are unused. */
  readonly #runBytes: (Uint8Array | null)[] = [];
  readonly #runStarts: number[] = [];
  readonly #runEnds: number[] = [];
  #runs = 0;
  /** Bytes in the batch. */
  bytes = 0;

  /** Appends `packet`, extending the last run if it starts where that run ends. */
  add(packet: Packet): void {
    const last = this.#runs - 1;
    if (last >= 0 && this.#runBytes[last] === packet.bytes && this.#runEnds[last] === packet.start) {
      this.#runEnds[last] = packet.end;
    } else {
      this.#runBytes[this.#runs] = packet.bytes;
      this.#runStarts[this.#runs] = packet.start;
      this.#runEnds[this.#runs] = packet.end;
      this.#runs++;
    }
    this.bytes += packet.end - packet.start;
  }

  /**
   * Writes the batch: one syscall when the socket takes it all. Call `clear()` once the write
   * is done (or was dropped). Not a generator, so a write allocates no task frame.
   *
   * @example
   * ```ts
   * try { yield* batch.writeTo(stream); } finally { batch.clear(); }
   * ```
   */
  writeTo(stream: TcpStream): Future<void> {
    if (this.#runs === 1) {
      const start = this.#runStarts[0];
      return stream.writeAll(this.#runBytes[0]!, start, this.#runEnds[0] - start);
    }
    const buf = this.bytes <= gather.length ? gather : new Uint8Array(this.bytes);
    let at = 0;
    for (let i = 0; i < this.#runs; i++) {
      const start = this.#runStarts[i];
      const end = this.#runEnds[i];
      buf.set(this.#runBytes[i]!.subarray(start, end), at);
      at += end - start;
    }
    return stream.writeAll(buf, 0, at);
  }

  /** Empties the batch, letting go of the memory its runs pointed into. */
  clear(): void {
    for (let i = 0; i < this.#runs; i++) this.#runBytes[i] = null;
    this.#runs = 0;
    this.bytes = 0;
  }
}
