// The future behind every BufReader call: reused by the reader's calls once the last one is done.
import { Future, PENDING, type Context, type Poll } from '../future.js';
import type { BufReader } from './buf_reader.js';

/** A reader's call as a future: which call it runs is set by `start`. */
export class ReadOp extends Future<Uint8Array | null> {
  #mode = 0; // LINE, FRAME or EXACT (see BufReader), set by start() before any poll
  #arg = 0;
  /** True from start() until the call completes, throws or is dropped. */
  inUse = false;
  /** Set by drop(): an await that was cancelled gave nothing, so it may be polled again. */
  #dropped = false;
  constructor(private readonly reader: BufReader) {
    super();
  }
  start(mode: number, arg: number): this {
    this.reader._checkIdle();
    this.rearm();
    this.inUse = true;
    this.#dropped = false;
    this.#mode = mode;
    this.#arg = arg;
    return this;
  }
  poll(cx: Context): Poll<Uint8Array | null> {
    if (!this.inUse) {
      // Awaited again after it finished, through a combinator: refuse rather than read more.
      if (!this.#dropped) throw new TypeError('BufReader: this future already completed; call the method again');
      this.inUse = true;
      this.#dropped = false;
    }
    let item: Poll<Uint8Array | null>;
    try {
      item = this.reader._poll(cx, this, this.#mode, this.#arg);
    } catch (error) {
      this.inUse = false;
      throw error;
    }
    if (item !== PENDING) this.inUse = false;
    return item;
  }
  override drop(): void {
    this.inUse = false;
    this.#dropped = true;
    this.reader._drop(this);
  }
}
