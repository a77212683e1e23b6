// Errors of spawned tasks that nobody joins: the policy that decides what happens to them, the
// error `blockOn`/`turn` throw by default, and the queue they wait in until the turn ends.
import type { TaskCell } from './join_handle.js';

/** What to do with an error thrown by a spawned task that nobody joins. */
export type UnhandledErrorPolicy = 'throw' | 'warn' | ((error: unknown) => void);

/**
 * A spawned task failed and no one awaited its JoinHandle. `cause` is the task's error.
 *
 * @example
 * ```ts
 * try { blockOn(main()); } catch (e) { if (e instanceof UnhandledTaskError) console.error(e.cause); }
 * ```
 */
export class UnhandledTaskError extends Error {
  override name = 'UnhandledTaskError';
  readonly code = 'ERR_UNHANDLED_TASK_ERROR';
  constructor(cause: unknown) {
    super(`a spawned task failed and nobody joined it: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/**
 * The failed, unjoined tasks of an executor, reported at the end of a turn by its policy.
 *
 * @example
 * ```ts
 * const unhandled = new UnhandledErrors('throw');
 * unhandled.add(task); // a task failed and no JoinHandle was waiting
 * unhandled.report();  // throws UnhandledTaskError unless someone joined it meanwhile
 * ```
 */
export class UnhandledErrors {
  readonly #policy: UnhandledErrorPolicy;
  readonly #failed: Array<TaskCell<unknown>> = [];

  constructor(policy: UnhandledErrorPolicy) {
    if (policy !== 'throw' && policy !== 'warn' && typeof policy !== 'function') {
      throw new TypeError("new Executor(): onUnhandledError must be 'throw', 'warn' or a function");
    }
    this.#policy = policy;
  }

  /** Queues a task that failed with no joiner; it is reported unless joined before the turn ends. */
  add(task: TaskCell<unknown>): void {
    this.#failed.push(task);
  }

  /**
   * Applies the policy to each queued failure still unjoined. 'throw' throws one error per call;
   * the others stay queued for the next blockOn() or turn(), so none is lost.
   */
  report(): void {
    while (this.#failed.length > 0) {
      const task = this.#failed.shift()!;
      if (task.observed) continue; // joined after it failed: the joiner got the error
      const policy = this.#policy;
      if (policy === 'throw') throw new UnhandledTaskError(task.result);
      if (policy === 'warn') {
        const error = task.result;
        process.stderr.write(
          `wakeloop: a spawned task failed and nobody joined it:\n${error instanceof Error ? error.stack : String(error)}\n`,
        );
      } else {
        policy(task.result);
      }
    }
  }
}
