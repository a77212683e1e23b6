// The thread's default executor, and the free functions `blockOn` and `spawn` that use it: what a
// program calls when it does not make an Executor of its own.
import { Executor } from './executor.js';
import type { JoinHandle } from './join_handle.js';
import type { Awaitable } from './task.js';

let defaultExecutor: Executor | null = null;

/** This thread's default executor, made on first use. */
export function defaultExecutorForThread(): Executor {
  if (defaultExecutor === null || defaultExecutor.closed) defaultExecutor = new Executor();
  return defaultExecutor;
}

/**
 * Runs `main` on this thread's default executor until it completes; returns its value or throws
 * its error. While it runs, Node's loop does not (see the README).
 *
 * @example
 * ```ts
 * blockOn(function* () { yield* sleep(100); console.log('done'); }());
 * ```
 */
export function blockOn<T>(main: Awaitable<T>): T {
  return defaultExecutorForThread().blockOn(main);
}

/**
 * Spawns a task on the running executor (or this thread's default one) and returns its handle.
 * A future that already gave its value to a `yield*` is refused with a TypeError.
 *
 * @example
 * ```ts
 * const handle = spawn(serve(stream));
 * ```
 */
export function spawn<T>(task: Awaitable<T>): JoinHandle<T> {
  return (Executor.tryCurrent() ?? defaultExecutorForThread()).spawn(task);
}
