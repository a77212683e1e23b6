// The discriminated results of the non-blocking channel calls (tryRecv, trySend). The failure
// results that carry no data are shared frozen objects, so polling an empty channel allocates
// nothing.

/**
 * What `tryRecv()` of an mpsc or oneshot receiver returns: the value, or why there is none
 * (`'empty'`: nothing yet, try later; `'closed'`: nothing will ever come).
 *
 * @example
 * ```ts
 * const r = rx.tryRecv();
 * if (r.ok) use(r.value);
 * else if (r.reason === 'closed') return;
 * ```
 */
export type TryRecvResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'empty' | 'closed' };

/**
 * What `trySend(value)` of a bounded mpsc sender returns. On failure the value is handed back,
 * so nothing is lost: `'full'` (try later or `send()`), `'closed'` (the receiver is gone).
 *
 * @example
 * ```ts
 * const r = tx.trySend(job);
 * if (!r.ok && r.reason === 'full') backlog.push(r.value);
 * ```
 */
export type TrySendResult<T> =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'full' | 'closed'; readonly value: T };

/**
 * The shared 'empty' result of a receive.
 *
 * @example
 * ```ts
 * return state.queue.length === 0 ? EMPTY : { ok: true, value: state.queue.shift() };
 * ```
 */
export const EMPTY = Object.freeze({ ok: false, reason: 'empty' } as const);

/**
 * The shared 'closed' result of a receive: nothing will ever come.
 *
 * @example
 * ```ts
 * if (state.senders === 0) return CLOSED;
 * ```
 */
export const CLOSED = Object.freeze({ ok: false, reason: 'closed' } as const);

/**
 * The shared success of a trySend.
 *
 * @example
 * ```ts
 * enqueue(state, value);
 * return SENT;
 * ```
 */
export const SENT = Object.freeze({ ok: true } as const);
