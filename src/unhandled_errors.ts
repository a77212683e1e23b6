// Errors of spawned tasks that nobody joins: the policy that decides what happens to them, the
// error `blockOn`/`turn` throw by default, and the queue they wait in until the turn ends.
import type { TaskCell } from './join_handle.js';
import { warn } from './_stderr.js';

/**
 * What to do with an error thrown by a spawned task that nobody joins.
 *
 * @example
 * ```ts
 * const executor = new Executor({ onUnhandledError: (error) => log.error(error) });
 * ```
 */
export type UnhandledErrorPolicy = 'throw' | 'warn' | ((error: unknown) => void);

const TASK_FAILED = 'a spawned task failed and nobody joined it';

/**
 * A spawned task failed and no one awaited its JoinHandle, or a dropped future's cleanup threw
 * where nobody could catch it (a `select` loser): `cause` is that error, and the message starts
 * with what happened.
 *
 * @example
 * ```ts
 * try { blockOn(main()); } catch (e) { if (e instanceof UnhandledTaskError) console.error(e.cause); }
 * ```
 */
export class UnhandledTaskError extends Error {
  override name = 'UnhandledTaskError';
  readonly code = 'ERR_UNHANDLED_TASK_ERROR';
  constructor(cause: unknown, context = TASK_FAILED) {
    super(`${context}: ${describeThrown(cause, 'message')}`, { cause });
  }
}

/**
 * A thrown value as text: an Error's message or stack, anything else through String(). Reporting
 * must not throw in turn, losing the error, so a value that cannot be turned into text (a
 * null-prototype object, a throwing toString or message/stack getter) gives its
 * Object.prototype.toString tag, such as "[object Object]".
 */
function describeThrown(value: unknown, part: 'message' | 'stack'): string {
  try {
    return String(value instanceof Error ? value[part] : value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `a ${typeof value} that cannot be described`; // a revoked Proxy
    }
  }
}

/** A queued failure: a task (skipped if it was joined meanwhile), or a lone error. */
interface Failure {
  readonly observed: boolean;
  readonly result: unknown;
  readonly context?: string;
}

/**
 * The failed, unjoined tasks of an executor (and errors no task owns), reported at the end of a
 * turn by its policy.
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
  readonly #failed: Failure[] = [];

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

  /** Queues an error no task owns; `context` starts its report ("select(): ..."). */
  addError(error: unknown, context: string): void {
    this.#failed.push({ observed: false, result: error, context });
  }

  /** True while failures wait to be reported. */
  get pending(): boolean {
    return this.#failed.length > 0;
  }

  /**
   * Applies the policy to each queued failure still unjoined. 'throw' throws one error per call;
   * the others stay queued for the next blockOn() or turn() (an attached executor schedules
   * another turn for them), so none is lost.
   */
  report(): void {
    while (this.#failed.length > 0) {
      const failure = this.#failed.shift()!;
      if (failure.observed) continue; // joined after it failed: the joiner got the error
      const policy = this.#policy;
      const error = failure.result;
      if (policy === 'throw') throw new UnhandledTaskError(error, failure.context);
      if (policy === 'warn') {
        warn(`wakeloop: ${failure.context ?? TASK_FAILED}:\n${describeThrown(error, 'stack')}\n`);
      } else {
        policy(error);
      }
    }
  }

  /**
   * Applies the policy to every queued failure still unjoined, for an executor that closes and
   * so has no next turn: 'throw' throws one UnhandledTaskError for all of them (with several,
   * its `cause` is an AggregateError of one UnhandledTaskError each).
   */
  reportAll(): void {
    if (this.#policy !== 'throw') return this.report();
    const failures = this.#failed.splice(0).filter((failure) => !failure.observed);
    if (failures.length === 0) return;
    if (failures.length === 1) throw new UnhandledTaskError(failures[0].result, failures[0].context);
    const each = failures.map((failure) => new UnhandledTaskError(failure.result, failure.context));
    throw new UnhandledTaskError(new AggregateError(each, `${failures.length} failures`), 'spawned tasks failed and nobody joined them');
  }
}
