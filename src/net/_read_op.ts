// The future behind every BufReader call: one per reader, reused by each call.
import { Future, type Context, type Poll } from '../future.js';
import type { BufReader } from './buf_reader.js';

/** The reader's one future: which call it runs is set by `start`. */
export class ReadOp extends Future<Uint8Array | null> {
  #mode = 0; // LINE, FRAME or EXACT (see BufReader), set by start() before any poll
  #arg = 0;
  constructor(private readonly reader: BufReader) {
    super();
  }
  start(mode: number, arg: number): this {
    this.reader._checkIdle();
    this.awaited = false;
    this.#mode = mode;
    this.#arg = arg;
    return this;
  }
  poll(cx: Context): Poll<Uint8Array | null> {
    return this.reader._poll(cx, this.#mode, this.#arg);
  }
  override drop(): void {
    this.reader._drop();
  }
}
