// What each poolScope() worker thread runs, loaded by pool_worker.js. One executor per worker;
// tasks arrive as { id, url, name, args } messages, results leave through the pool's
// ThreadChannel, and a stop request cancels the running tasks before the thread ends.
import { Executor } from '../executor.js';
import { Future, PENDING } from '../future.js';
import { JoinSet } from '../join_set.js';
import { isGenerator, type Task } from '../task.js';
import { ThreadChannel } from './channel.js';
import { ClosedError } from '../errors.js';
import { errorInfo, shortErrorInfo, type PoolResult, type PoolTaskMessage, type PoolWorkerData } from './_pool_protocol.js';
import { WorkerControl } from './worker.js';
import { NOT_CLONEABLE } from './_clone_error.js';

const executor = new Executor({ onUnhandledError: 'warn' });
const control = WorkerControl.connect(executor);
const { index, results: resultsForm } = control.data as PoolWorkerData;
const results = ThreadChannel.from<PoolResult>(resultsForm);
/** Imported task modules by URL: the namespace, or the error importing it threw. */
const modules = new Map<string, { namespace: Record<string, unknown> } | { error: unknown }>();
/** Tasks received whose module is not imported yet, oldest first. */
const backlog: PoolTaskMessage[] = [];
/** Tasks started and not finished; finished ones are reaped (each reported its own result). */
const running = new JoinSet<void>(executor);
let fatal: unknown;
/** True once the pool was told this thread is ending: it is told once. */
let said = false;
/** The first uncaught error, which is about to end this thread. */
let uncaught: unknown;

// A thread ended by process.exit() or an uncaught error never runs the finally below, and its
// pool may be inside blockOn, where the Worker's 'exit' event cannot reach it: say goodbye here.
process.on('uncaughtExceptionMonitor', (error) => (uncaught ??= error));
process.on('exit', (code) => sayExited(uncaught, code));

try {
  // import() settles only on Node's loop, never inside blockOn: when a task needs a module that
  // is not loaded yet, serve() returns its URL, and the loop imports it and goes back in.
  // Tasks already running simply wait meanwhile.
  for (;;) {
    const url = executor.blockOn(serve());
    if (url === null) break;
    try {
      modules.set(url, { namespace: (await import(url)) as Record<string, unknown> });
    } catch (error) {
      modules.set(url, { error });
    }
  }
} catch (error) {
  fatal = error;
} finally {
  // Before close(): the pool takes a closed executor without this word for a dead thread.
  sayExited(fatal);
  executor.close();
  control.close();
}

/** Tells the pool this thread ends; `code` only when it ends without the finally above. */
function sayExited(error: unknown, code?: number): void {
  if (said) return;
  said = true;
  try {
    // Bounded: an exit hook must not hang on a full ring (the pool's probe sees the thread go).
    results.send({ t: 'exited', worker: index, error: error === undefined ? undefined : errorInfo(error), code }, 1000);
  } catch {
    // the pool closed the channel: nobody waits for this acknowledgement any more
  }
}

/** Starts the tasks that arrive until a stop request (returns null) or a missing module. */
function* serve(): Task<string | null> {
  for (;;) {
    reap();
    if (control.stopRequested) {
      yield* running.shutdown(); // cancels every task; waits for their finally blocks
      return null;
    }
    for (;;) {
      const task = backlog.shift() ?? (control.tryReceive()?.message as PoolTaskMessage | undefined);
      if (task === undefined) break;
      const module = modules.get(task.url);
      if (module === undefined) {
        backlog.unshift(task);
        return task.url;
      }
      running.spawn(runTask(task, module));
    }
    yield* control.wait();
  }
}

/** Forgets the finished tasks, which the set would otherwise keep for a joinNext() nobody calls. */
function reap(): void {
  for (let outcome = running._next(null); outcome !== null && outcome !== PENDING; outcome = running._next(null)) {
    // runTask reports its task's end itself; one that threw could not, and the pool would wait
    // for that task forever: end the thread instead, which the pool reports.
    if (outcome.kind === 'error') throw outcome.error;
  }
}

/** Runs one task and reports its value or error; reports nothing if it is cancelled. */
function* runTask(task: PoolTaskMessage, module: { namespace: Record<string, unknown> } | { error: unknown }): Task<void> {
  let value: unknown;
  try {
    if ('error' in module) throw module.error;
    const fn = module.namespace[task.name];
    if (typeof fn !== 'function') {
      throw new TypeError(`pool task: ${task.url} has no exported function '${task.name}' (got ${typeof fn})`);
    }
    const out: unknown = fn(...task.args);
    if (isGenerator(out)) {
      value = yield* out; // a generator function: runs as a task on this worker's executor
    } else if (out instanceof Future) {
      value = yield* out;
    } else if (typeof (out as PromiseLike<unknown> | null)?.then === 'function') {
      throw new TypeError(
        `pool task '${task.name}' returned a Promise: a pool worker runs inside blockOn, where Promises never settle; export a plain or generator function`,
      );
    } else {
      value = out;
    }
  } catch (error) {
    sendFailure(task.id, error);
    return;
  }
  try {
    results.send({ t: 'done', id: task.id, value });
  } catch (error) {
    if (error instanceof ClosedError) return; // the pool is gone: nobody waits for it
    sendFailure(task.id, resultProblem(task.name, error));
  }
}

/** Why a task's value could not go back (not cloneable, too big), in the pool's words. */
function resultProblem(name: string, error: unknown): unknown {
  if (error instanceof RangeError) {
    return new RangeError(`pool task '${name}': its result is too big for the pool's result ring (options.resultCapacity of poolScope()): ${error.message}`, { cause: error });
  }
  if (error instanceof TypeError) {
    return new TypeError(`pool task '${name}': its result cannot be sent back to the pool's thread (${NOT_CLONEABLE}): ${error.message}`, { cause: error });
  }
  return error;
}

/**
 * Reports a task's error. A report the ring cannot take (a long message or stack) is sent again
 * in short form, which always fits (MIN_RESULT_CAPACITY): the pool must hear of every task's end,
 * or it waits for it forever.
 */
function sendFailure(id: number, error: unknown): void {
  const info = errorInfo(error);
  try {
    results.send({ t: 'failed', id, error: info });
  } catch (sendError) {
    if (sendError instanceof ClosedError) return;
    results.send({ t: 'failed', id, error: shortErrorInfo(info) });
  }
}

