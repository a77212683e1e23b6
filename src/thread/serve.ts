// serveOnThreads(): one server function on N worker threads, each with its own executor, all
// accepting on one port with SO_REUSEPORT (shared nothing: the kernel spreads the connections).
// The supervisor lives on the calling thread and runs on Node's loop (worker 'message' and
// 'exit' events), so call it from plain async code or an attached executor, not from blockOn.
import { pathToFileURL } from 'node:url';
import { describe } from '../task.js';
import { checkDuration, checkInteger, checkOptions } from '../_validate.js';
import { SERVE_KIND, type ServeMessage, type ServeWorkerData } from './_serve_worker.js';
import { ThreadWorker } from './worker.js';

/**
 * What a server function gets as its first argument, in its worker thread.
 *
 * @example
 * ```ts
 * export function* serve(ctx: ServeContext, port: number): Task<void> {
 *   const listener = yield* TcpListener.bind({ port }, { reusePort: true });
 *   ctx.ready(listener.localAddress.port);
 *   for (;;) spawn(handle(yield* listener.accept()));
 * }
 * ```
 */
export interface ServeContext {
  /** This worker's number, 0 to threads - 1. */
  readonly index: number;
  /** How many workers serve. */
  readonly threads: number;
  /** Tells the supervisor this worker serves (its `ready` Promise waits for every worker). */
  ready(detail?: unknown): void;
}

/**
 * Options for {@link serveOnThreads}.
 *
 * @example
 * ```ts
 * const options: ServeOptions = { threads: 4, module: new URL('./server.js', import.meta.url), exportName: 'serve', args: [7000] };
 * ```
 */
export interface ServeOptions {
  /** Worker threads, 1 to 256. */
  threads: number;
  /** The compiled JS module that exports the server function: a URL or an absolute path. */
  module: string | URL;
  /** The export: a generator function `(ctx: ServeContext, ...args) => Task<void>`. */
  exportName: string;
  /** Structured-cloneable arguments after the context (no functions). */
  args?: unknown[];
  /** How long a stopping worker may run its `finally` blocks before it is terminated (ms, default 2000). */
  stopGraceMs?: number;
  /** Called when a worker ends; default: unexpected ends (crashes) are reported on stderr. */
  onWorkerExit?: (exit: WorkerExit) => void;
  /**
   * What each worker's executor does with an error in a task nobody joins (a connection's task
   * that throws): `'throw'` (default, as `blockOn`) ends the worker, reported as a crash, with
   * every connection it served; `'warn'` prints it on stderr and the worker serves on. (A
   * function cannot cross to the threads.)
   */
  onUnhandledError?: 'throw' | 'warn';
}

/**
 * How a worker ended.
 *
 * @example
 * ```ts
 * server.exited.then((exits) => exits.filter((e) => !e.expected).forEach((e) => console.error(e.error)));
 * ```
 */
export interface WorkerExit {
  index: number;
  /** The thread's exit code (1 for an uncaught error or a termination). */
  code: number;
  /** The error that ended it, if one did. */
  error?: Error;
  /**
   * True if it ended because `stop()` asked it to, without an error and within the grace
   * period (one terminated after it is not).
   */
  expected: boolean;
  /** Tasks still running when it stopped (the connections it then closed); undefined if it crashed or was terminated. */
  openTasks?: number;
}

/**
 * N worker threads running one server function; made by {@link serveOnThreads}.
 *
 * @example
 * ```ts
 * const server = serveOnThreads({ threads: 2, module: url, exportName: 'serve', args: [7000] });
 * await server.ready;
 * process.once('SIGINT', () => void server.stop());
 * await server.exited;
 * ```
 */
export class ThreadServer {
  /** How many workers were started. */
  readonly threads: number;
  /** Resolves with each worker's `ctx.ready(detail)` once all called it; rejects if one ends first. */
  readonly ready: Promise<unknown[]>;
  /** Resolves once every worker has ended, however. */
  readonly exited: Promise<WorkerExit[]>;
  readonly #workers: ThreadWorker[] = [];
  readonly #details: unknown[] = [];
  readonly #exits: Array<WorkerExit | undefined> = [];
  readonly #grace: number;
  #readyCount = 0;
  #stopping = false;

  /** @internal Use {@link serveOnThreads}. */
  constructor(options: ServeOptions, bootstrap: URL) {
    const { threads, exportName, args = [], stopGraceMs = 2000, onWorkerExit } = options;
    this.threads = threads;
    this.#grace = stopGraceMs;
    let readyCallbacks!: { resolve: (d: unknown[]) => void; reject: (e: Error) => void };
    this.ready = new Promise((resolve, reject) => (readyCallbacks = { resolve, reject }));
    this.ready.catch(() => {}); // a caller that never looks at `ready` still sees crashes reported
    const module = moduleHref(options.module);
    try {
      for (let index = 0; index < threads; index++) {
        const workerData: ServeWorkerData = { module, exportName, args, index, threads };
        this.#workers.push(new ThreadWorker(bootstrap, { workerData, name: `wakeloop-serve-${index}` }));
      }
    } catch (error) {
      for (const w of this.#workers) w.terminate();
      throw startError(this.#workers.length, error);
    }
    const ends = this.#workers.map((w, index) => {
      let error: Error | undefined;
      let openTasks: number | undefined;
      w.worker.on('message', (m: ServeMessage) => {
        if (m?.kind !== SERVE_KIND) return;
        if (m.t === 'stopped') openTasks = m.openTasks;
        else if (!(index in this.#details)) {
          this.#details[index] = m.detail;
          if (++this.#readyCount === threads) readyCallbacks.resolve([...this.#details]);
        }
      });
      w.worker.on('error', (e: Error) => (error = e)); // without a listener it would throw here
      return w.exited.then((code) => {
        // Stopped as asked: it said so before it exited (one terminated after the grace period did not).
        const expected = this.#stopping && error === undefined && openTasks !== undefined;
        const exit: WorkerExit = { index, code, error, expected, openTasks };
        this.#exits[index] = exit;
        if (!(index in this.#details)) {
          const why = error ? `: ${error.message}` : ` (exit code ${code})`;
          readyCallbacks.reject(new Error(`serveOnThreads(): worker ${index} ended before it was ready${why}`, { cause: error }));
        }
        if (onWorkerExit !== undefined) onWorkerExit(exit);
        else reportUnexpected(exit, this);
        return exit;
      });
    });
    this.exited = Promise.all(ends);
  }

  /**
   * Workers that called `ready()` and have not ended.
   *
   * @example
   * ```ts
   * console.log(`${server.serving} of ${server.threads} serving`);
   * ```
   */
  get serving(): number {
    return this.#workers.filter((_, i) => i in this.#details && this.#exits[i] === undefined).length;
  }

  /**
   * Stops every worker, even one blocked in the kernel: a stop flag in shared memory and a wake
   * of its blocker (`notifyBlocker`). Its server task is cancelled (its `finally` blocks run),
   * then its executor closes the remaining tasks. A worker still running after `stopGraceMs`
   * is terminated. Resolves like `exited`. Idempotent.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', async () => { await server.stop(); });
   * ```
   */
  stop(): Promise<WorkerExit[]> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#workers.forEach((w, i) => this.#exits[i] === undefined && w.requestStop(this.#grace));
    }
    return this.exited;
  }

  /** True once `stop()` was called. */
  get stopping(): boolean {
    return this.#stopping;
  }
}

/** Why worker `index` could not start: the arguments, when they are what failed to clone. */
function startError(index: number, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  // new ThreadWorker() wraps Node's DataCloneError in a TypeError about its workerData: name args instead.
  const clone = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (clone instanceof Error && clone.name === 'DataCloneError') {
    return new TypeError(`serveOnThreads(): options.args cannot be sent to the workers (closures do not cross threads): ${clone.message}`, {
      cause: clone,
    });
  }
  return new Error(`serveOnThreads(): cannot start worker ${index}: ${message}`, { cause: error });
}

/** The default `onWorkerExit`: says on stderr when a worker ends without being asked to. */
function reportUnexpected(exit: WorkerExit, server: ThreadServer): void {
  if (exit.expected) return;
  const how = exit.error
    ? `crashed: ${exit.error.stack ?? exit.error.message}`
    : server.stopping
      ? `did not stop within the grace period and was terminated (exit code ${exit.code})`
      : `ended by itself (exit code ${exit.code})`;
  process.stderr.write(`wakeloop: serve worker ${exit.index} ${how}; ${server.serving} of ${server.threads} still serving\n`);
}

/**
 * Starts `threads` worker threads, each with its own executor, each running
 * `module[exportName](ctx, ...args)`: a generator function that serves until it is cancelled,
 * typically binding its own listener with `{ reusePort: true }` so all workers accept on one
 * port. Workers run compiled JS (Node 20 workers do not load `.ts`), and the module must import
 * wakeloop from the same place as this file. A worker that crashes is reported (`onWorkerExit`)
 * and the others keep serving. Use from Node's loop (plain async code or `attach()`), not from
 * inside `blockOn`, where the workers' messages and exits are not delivered.
 *
 * @example
 * ```ts
 * const server = serveOnThreads({ threads: 2, module: new URL('./echo_server.js', import.meta.url), exportName: 'echoWorker', args: ['127.0.0.1', 7000] });
 * await server.ready;
 * process.once('SIGINT', () => void server.stop());
 * ```
 */
export function serveOnThreads(options: ServeOptions): ThreadServer {
  checkOptions('serveOnThreads(options)', options, ['threads', 'module', 'exportName', 'args', 'stopGraceMs', 'onWorkerExit', 'onUnhandledError']);
  const { threads, exportName, args = [], stopGraceMs = 2000, onWorkerExit, onUnhandledError = 'throw' } = options;
  checkInteger('serveOnThreads()', 'options.threads', threads, 1, 256);
  if (typeof exportName !== 'string' || exportName === '') {
    throw new TypeError(`serveOnThreads(): options.exportName must be a non-empty string, got ${describe(exportName)}`);
  }
  if (!Array.isArray(args)) throw new TypeError(`serveOnThreads(): options.args must be an array, got ${describe(args)}`);
  checkDuration('serveOnThreads()', 'options.stopGraceMs', stopGraceMs, true);
  if (onWorkerExit !== undefined && typeof onWorkerExit !== 'function') {
    throw new TypeError(`serveOnThreads(): options.onWorkerExit must be a function, got ${describe(onWorkerExit)}`);
  }
  if (onUnhandledError !== 'throw' && onUnhandledError !== 'warn') {
    throw new TypeError(`serveOnThreads(): options.onUnhandledError must be 'throw' or 'warn', got ${describe(onUnhandledError)}`);
  }
  return new ThreadServer(options, bootstrapUrl(onUnhandledError));
}

/** The workers' entry: a tiny ES module that imports the worker side (compiled) and runs it. */
function bootstrapUrl(onUnhandledError: 'throw' | 'warn'): URL {
  const self = import.meta.url;
  if (!self.endsWith('.js')) {
    throw new Error(`serveOnThreads(): workers run compiled JS, and this is ${self}: build with \`npx tsc -p tsconfig.json\` and import wakeloop from dist/`);
  }
  const main = new URL('./_serve_worker.js', self).href;
  const source = `import { _serveWorkerMain } from ${JSON.stringify(main)};\nawait _serveWorkerMain(${JSON.stringify(onUnhandledError)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** The file (or data) URL of the server module. */
function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module === 'string' && module.startsWith('/')) return pathToFileURL(module).href;
  if (typeof module === 'string' && /^(file|data):/.test(module)) return new URL(module).href;
  throw new TypeError(`serveOnThreads(): options.module must be a URL or an absolute path, got ${describe(module)}`);
}
