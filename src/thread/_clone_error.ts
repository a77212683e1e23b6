// The one error for a value that cannot cross to another thread, whichever call sent it.

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
