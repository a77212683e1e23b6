// The bytes a BufReader holds between calls. During a poll it may borrow the executor's shared
// scratch view (a chunk read while nothing was buffered is parsed where it lies); before the
// poll returns, whatever the reader keeps is copied into its own buffer.

/** The smallest buffer allocated, and the largest kept by an idle reader. */
const SMALL = 1024;
const EMPTY = new Uint8Array(0);

/** A reader's buffered bytes: the parsers read `buf[start, end)` and consume with `take()`. */
export class ReaderBytes {
  /**
   * Invariant: the unconsumed bytes are buf[start, end). While `borrowed` (inside a poll only)
   * `buf` is the stream's scratch view and #own holds the reader's buffer.
   */
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  /** No `\n` lies in buf[start, scanned): a line search resumes there, never rescans. */
  scanned = 0;
  #own: Uint8Array = EMPTY;
  #borrowed = false;
  /**
   * While borrowed: how many bytes at the start of #own hold the item this poll returned
   * (copied out of the scratch view), which settle() must leave intact.
   */
  #kept = 0;

  /** Adds a chunk just read (a view of the shared scratch, valid until the next read). */
  append(chunk: Uint8Array): void {
    if (this.start === this.end) {
      // Nothing buffered: parse the chunk where it lies; settle() copies what is left of it.
      this.#own = this.buf;
      this.buf = chunk;
      this.start = this.scanned = 0;
      this.end = chunk.length;
      this.#borrowed = true;
    } else {
      this.#reserve(chunk.length);
      this.buf.set(chunk, this.end);
      this.end += chunk.length;
    }
  }

  /**
   * Consumes up to `next` and returns [from, to) as a view of the reader's own buffer (copied
   * there if it lies in the scratch). Shrinks an oversized idle buffer.
   */
  take(from: number, to: number, next: number): Uint8Array {
    this.start = next;
    if (this.scanned < next) this.scanned = next;
    if (this.#borrowed) return this.#copyOut(from, to); // settle() sizes the buffer for the leftovers
    const view = this.buf.subarray(from, to);
    const left = this.end - next;
    if (left === 0) {
      this.start = this.end = this.scanned = 0;
      if (this.buf.length > SMALL) this.buf = EMPTY; // after a large item: do not keep its buffer
    } else if (this.buf.length > SMALL && left * 4 <= this.buf.length) {
      this.#moveTo(new Uint8Array(Math.max(SMALL, left * 2))); // the view keeps the old buffer
    }
    return view;
  }

  /**
   * Ends a borrow of the scratch view: copies its unconsumed bytes into the reader's buffer,
   * after the item #copyOut put there (into a new buffer if they do not fit beside it). Called
   * before the scratch can be overwritten: before each read, and as a poll returns.
   */
  settle(): void {
    if (!this.#borrowed) return;
    const scratch = this.buf;
    const start = this.start;
    const left = this.end - start;
    const kept = this.#kept;
    this.#borrowed = false;
    this.#kept = 0;
    this.buf = this.#own;
    this.#own = EMPTY;
    if (left === 0) {
      this.start = this.end = this.scanned = 0;
      if (this.buf.length > SMALL) this.buf = EMPTY; // after a large item: the view keeps it
      return;
    }
    let base = kept;
    if (kept + left > this.buf.length) {
      base = 0;
      this.buf = new Uint8Array(Math.max(SMALL, left)); // the item's view keeps the old buffer
    }
    this.buf.set(scratch.subarray(start, start + left), base);
    this.scanned = base + (this.scanned > start ? this.scanned - start : 0);
    this.start = base;
    this.end = base + left;
  }

  /**
   * Returns an item found in the borrowed scratch view as a copy at the start of the reader's
   * own buffer. The scratch is shared by every read of the executor: a `join()` polling another
   * stream's read in the same poll would overwrite a view of it before this task saw the item.
   */
  #copyOut(from: number, to: number): Uint8Array {
    const n = to - from;
    if (this.#own.length < n) this.#own = new Uint8Array(Math.max(SMALL, n));
    this.#own.set(this.buf.subarray(from, to));
    this.#kept = n;
    return this.#own.subarray(0, n);
  }

  /** Makes room for `extra` bytes after `end`: compacts, or grows by doubling (amortised O(1)). */
  #reserve(extra: number): void {
    const cap = this.buf.length;
    if (this.end + extra <= cap) return;
    const used = this.end - this.start;
    if (used + extra <= cap) {
      // Reads happen only while one partial item is buffered, and a compaction leaves `start` at
      // 0, so each item's bytes are moved at most once: linear overall.
      this.#moveTo(this.buf);
    } else {
      this.#moveTo(new Uint8Array(Math.max(SMALL, cap * 2, used + extra)));
    }
  }

  /** Moves the unconsumed bytes to the start of `target`. */
  #moveTo(target: Uint8Array): void {
    const start = this.start;
    if (target === this.buf) target.copyWithin(0, start, this.end);
    else target.set(this.buf.subarray(start, this.end));
    this.buf = target;
    this.end -= start;
    this.scanned = this.scanned > start ? this.scanned - start : 0;
    this.start = 0;
  }
}
