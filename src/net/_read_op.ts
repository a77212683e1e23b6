// The future behind every BufReader call: reused by the reader's calls once the last one is done.
import { PENDING, type Context, type Poll } from '../future.js';
import { IssuedFuture } from '../_issued_future.js';
import type { BufReader } from './buf_reader.js';

/** A reader's call as a future: which call it runs is set by `start`. */
export class ReadOp extends IssuedFuture<Uint8Array | null> {
  #mode = 0; // LINE, FRAME or EXACT (see BufReader), set by start() before any poll
  #arg = 0;
  constructor(private readonly reader: BufReader) {
    super();
  }
  start(mode: number, arg: number): this {
    this.reader._checkIdle();
    this.issue();
    this.#mode = mode;
    this.#arg = arg;
    return this;
  }
  poll(cx: Context): Poll<Uint8Array | null> {
    // Awaited again after it finished, through a combinator: refuse rather than read more.
    if (!this.stillIssued()) throw new TypeError('BufReader: this future already completed; call the method again');
    let item: Poll<Uint8Array | null>;
    try {
      item = this.reader._poll(cx, this, this.#mode, this.#arg);
    } catch (error) {
      this.inUse = false;
      throw error;
    }
    return item === PENDING ? PENDING : this.done(item);
  }
  override drop(): void {
    super.drop();
    this.reader._drop(this);
  }
}
