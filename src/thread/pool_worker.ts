// The script each poolScope() worker thread runs (compiled: dist/src/thread/pool_worker.js). One
// executor per worker; tasks arrive as { id, url, name, args } messages, results leave through
// the pool's ThreadChannel, and a stop request cancels the running tasks before the thread ends.
import { Executor } from '../executor.js';
import { Future } from '../future.js';
import { JoinSet } from '../join_set.js';
import { isGenerator, type Task } from '../task.js';
import { ThreadChannel } from './channel.js';
import { errorInfo, type PoolResult, type PoolTaskMessage, type PoolWorkerData } from './_pool_protocol.js';
import { WorkerControl } from './worker.js';

const executor = new Executor({ onUnhandledError: 'warn' });
const control = WorkerControl.connect(executor);
const { index, results: resultsForm } = control.data as PoolWorkerData;
const results = ThreadChannel.from<PoolResult>(resultsForm);
/** Imported task modules by URL: the namespace, or the error importing it threw. */
const modules = new Map<string, { namespace: Record<string, unknown> } | { error: unknown }>();
/** Tasks received whose module is not imported yet, oldest first. */
const backlog: PoolTaskMessage[] = [];
const running = new JoinSet<void>(executor);
let fatal: unknown;

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
  executor.close();
  try {
    results.send({ t: 'exited', worker: index, error: fatal === undefined ? undefined : errorInfo(fatal) });
  } catch {
    // the pool closed the channel: nobody waits for this acknowledgement any more
  }
  control.close();
}

/** Starts the tasks that arrive until a stop request (returns null) or a missing module. */
function* serve(): Task<string | null> {
  for (;;) {
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
    results.send({ t: 'failed', id: task.id, error: errorInfo(error) });
    return;
  }
  try {
    results.send({ t: 'done', id: task.id, value });
  } catch (error) {
    results.send({ t: 'failed', id: task.id, error: errorInfo(error) }); // not cloneable, too big
  }
}

