// StateError on its own, with no imports: the executor's low-level modules throw it without
// loading the addon (errors.ts needs it for IoError's messages).

/**
 * A call made where the program's state does not allow it: `blockOn` inside a task, a second
 * task reading one stream while another waits, `attach()` twice, an executor turned from one of
 * its own tasks. A bug to fix, not a condition to retry; `code` is `'ERR_INVALID_STATE'`, Node's
 * own code for such misuse.
 *
 * @example
 * ```ts
 * try { blockOn(main()); }
 * catch (e) { if (e instanceof StateError) console.error('called from inside a task'); throw e; }
 * ```
 */
export class StateError extends Error {
  override name = 'StateError';
  readonly code = 'ERR_INVALID_STATE';
}
