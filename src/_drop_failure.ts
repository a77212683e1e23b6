// An error from dropping an unfinished future that cannot be thrown, because a value or another
// error is being returned (a select's winner, a timeout's TimeoutError).
import { Executor } from './executor.js';
import { UnhandledTaskError } from './unhandled_errors.js';

/**
 * Hands `error` to the running executor's unhandled-error policy; polled outside any executor,
 * to Node's uncaught-exception path. `where` names the combinator, e.g. 'select()'.
 */
export function reportDropFailure(error: unknown, where: string): void {
  const context = `${where}: dropping an unfinished future threw`;
  const executor = Executor.tryCurrent();
  if (executor !== null) executor._reportUnhandled(error, context);
  else queueMicrotask(() => { throw new UnhandledTaskError(error, context); });
}
