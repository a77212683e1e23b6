// A source waits on its own executor's reactor: a task of another executor that stored its
// waker there would never be woken, since only the owner asks that reactor's kernel queue.
import { Executor } from './executor.js';
import type { Reactor } from './reactor.js';
import { StateError } from './state_error.js';

/**
 * Throws a StateError if the task polling now runs on another executor than the one that owns
 * `reactor` (the executor the stream, listener or AsyncFd was made on).
 *
 * @example
 * ```ts
 * checkOwnReactor(stream.reactor, 'TcpStream');
 * ```
 */
export function checkOwnReactor(reactor: Reactor, what: string): void {
  const running = Executor.tryCurrent();
  if (running === null || running.reactor === reactor) return;
  throw new StateError(
    `${what} belongs to another executor than the one running this task: only its own executor hears of its events, so this wait would never end (use it from that executor's tasks)`,
  );
}
