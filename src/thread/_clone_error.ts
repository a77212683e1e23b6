// The one error for a value that cannot cross to another thread, whichever call sent it.

/** What cannot cross to another thread, for messages that say why something was not sent. */
export const NOT_CLONEABLE = 'functions, symbols and other values structured cloning cannot copy; class instances arrive as plain objects';

/**
 * A TypeError saying that `what` could not be sent by `where`, with the structured-clone error
 * (Node's DataCloneError, or v8.serialize's) as its `cause` and its message in parentheses.
 *
 * @example
 * ```ts
 * throw cloneError('ThreadWorker.post()', 'the message could not be cloned or transferred to the worker', error);
 * ```
 */
export function cloneError(where: string, what: string, error: unknown): TypeError {
  const why = error instanceof Error ? error.message : String(error);
  return new TypeError(`${where}: ${what} (${why})`, { cause: error });
}
