// The error readExact throws when the stream ends early.

/**
 * Reading ended before the bytes `readExact` wanted arrived.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof UnexpectedEofError) console.log(e.received, 'of', e.expected); }
 * ```
 */
export class UnexpectedEofError extends Error {
  override name = 'UnexpectedEofError';
  readonly code = 'ERR_UNEXPECTED_EOF';
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`the peer closed the connection after ${received} of ${expected} bytes`);
  }
}
