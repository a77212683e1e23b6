// The worker side of serveOnThreads(): each thread imports the server module, runs the server
// function inside blockOn until the supervisor's stop flag is seen, then closes. It talks to
// the supervisor through parentPort messages, read on Node's loop there.
import { parentPort } from 'node:worker_threads';
import { spawn } from '../default_executor.js';
import { CancelledError } from '../errors.js';
import { Executor } from '../executor.js';
import { select } from '../select.js';
import { describe, toFuture, type Task } from '../task.js';
import type { ServeContext } from './serve.js';
import { WorkerControl } from './worker.js';

/** Tags the messages the workers post on `parentPort`, so a server's own messages pass by. */
export const SERVE_KIND = 'wakeloop.serve';

/**
 * What a worker tells the supervisor: it serves (`ctx.ready(detail)`), or it stopped.
 *
 * @example
 * ```ts
 * const m: ServeMessage = { kind: SERVE_KIND, index: 0, t: 'stopped', openTasks: 2 };
 * ```
 */
export type ServeMessage = { kind: typeof SERVE_KIND; index: number } & (
  | { t: 'ready'; detail: unknown }
  | { t: 'stopped'; openTasks: number }
);

/**
 * A serve worker's `WorkerControl.data`: what to run, and which worker it is.
 *
 * @example
 * ```ts
 * const data: ServeWorkerData = { module: 'file:///app/server.js', exportName: 'serve', args: [7000], index: 0, threads: 2 };
 * ```
 */
export interface ServeWorkerData {
  module: string;
  exportName: string;
  args: unknown[];
  index: number;
  threads: number;
}

/**
 * @internal The worker side, run by each thread serveOnThreads() starts: imports the module,
 * runs the server function inside blockOn until the supervisor's stop flag is seen, closes.
 * An error ends the thread (the supervisor sees it through the worker's 'error' event).
 *
 * @example
 * ```ts
 * // the data: URL module each worker starts with:
 * import { _serveWorkerMain } from 'file:///.../dist/src/thread/_serve_worker.js';
 * await _serveWorkerMain('throw');
 * ```
 */
export async function _serveWorkerMain(onUnhandledError: 'throw' | 'warn'): Promise<void> {
  const executor = new Executor({ onUnhandledError });
  const control = WorkerControl.connect(executor); // publishes the registry id: stop() can wake us
  const data = control.data as ServeWorkerData;
  const post = (message: ServeMessage) => parentPort?.postMessage(message);
  try {
    const namespace = (await import(data.module)) as Record<string, unknown>;
    const fn = namespace[data.exportName];
    if (typeof fn !== 'function') {
      throw new TypeError(`serveOnThreads(): ${data.module} has no exported function '${data.exportName}' (got ${typeof fn})`);
    }
    const ctx: ServeContext = {
      index: data.index,
      threads: data.threads,
      ready: (detail?: unknown) => post({ kind: SERVE_KIND, index: data.index, t: 'ready', detail }),
    };
    executor.blockOn(serveUntilStopped(fn as (...a: unknown[]) => unknown, ctx, data, control));
    post({ kind: SERVE_KIND, index: data.index, t: 'stopped', openTasks: executor.taskCount });
  } finally {
    try {
      executor.close(); // cancels the connections' tasks; their finally blocks close the sockets
    } finally {
      control.close();
    }
  }
}

/**
 * Runs the server task until it ends or a stop is requested; on a stop, cancels it and waits
 * for its end, awaiting `finally` blocks included (the supervisor's grace period bounds that).
 */
function* serveUntilStopped(fn: (...a: unknown[]) => unknown, ctx: ServeContext, data: ServeWorkerData, control: WorkerControl): Task<void> {
  const out = fn(ctx, ...data.args);
  let server;
  try {
    server = toFuture(out as Task<unknown>);
  } catch {
    throw new TypeError(
      `serveOnThreads(): '${data.exportName}' must be a generator function (a wakeloop Task), but it returned ${describe(out)}; workers run it inside blockOn, where Promises never settle`,
    );
  }
  // A task, not a select() child: a losing child is dropped, and the cleanup a dropped
  // generator's awaiting finally still had to do would be abandoned when blockOn returns.
  const task = spawn(server);
  const first = yield* select(task, stopRequested(control));
  if (first.index === 0) return;
  task.cancel();
  try {
    yield* task;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error; // its finally threw
  }
}

/** Completes once the supervisor set the stop flag; WorkerControl.wait() wakes us from the kernel. */
function* stopRequested(control: WorkerControl): Task<void> {
  while (!control.stopRequested) yield* control.wait();
}
