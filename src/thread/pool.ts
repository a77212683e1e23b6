// poolScope(): the API the scoped-task trilemma finds missing. Tasks run in parallel on worker
// threads, each with its own executor, share memory through SharedArrayBuffers, and the caller
// does not go on until every one is done. Completion reaches the caller through shared memory
// and notifyBlocker, never through 'message' events, so it works inside blockOn.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClosedError } from '../errors.js';
import type { JoinHandle } from '../join_handle.js';
import { Future, PENDING, pollFn, type Context, type Poll, type Waker } from '../future.js';
import { scope, type ScopeFuture } from '../scope.js';
import { select } from '../select.js';
import { describe, type Awaitable, type Task } from '../task.js';
import { sleepUntil } from '../time/sleep.js';
import { checkDuration, checkInteger, checkOptions } from '../_validate.js';
import { PoolExits } from './_pool_exits.js';
import { MIN_RESULT_CAPACITY, moduleHref, rebuildError, type PoolResult, type PoolTaskMessage, type PoolWorkerData } from './_pool_protocol.js';
import { NOT_CLONEABLE } from './_clone_error.js';
import { ThreadChannel } from './channel.js';
import { ThreadWorker } from './worker.js';

/** Workers run compiled JS: this resolves next to the compiled pool.js, in dist/. */
const WORKER_SCRIPT = new URL('./pool_worker.js', import.meta.url);

/**
 * Options for `poolScope()`.
 *
 * @example
 * ```ts
 * const options: PoolOptions = { stopGraceMs: 200 };
 * ```
 */
export interface PoolOptions {
  /**
   * How long a stopping worker may run its tasks' `finally` blocks before it is terminated (ms,
   * default 1000; `Infinity` waits the longest a Node timer can, about 24 days, as
   * `ThreadWorker.requestStop()` does).
   */
  stopGraceMs?: number;
  /**
   * Bytes of the shared ring that carries results back (default 256 KiB, at least 4 KiB); a
   * result must fit (one that does not fails its task), and an error too big for it is reported
   * without its stack, its message cut to 1,000 characters and a string `code` to 100.
   */
  resultCapacity?: number;
}

/**
 * The handle of a task spawned on a pool: a future of its (cloned) return value, or its error.
 *
 * @example
 * ```ts
 * const sum: number = yield* pool.spawn(tasksUrl, 'sum', 1, 2);
 * ```
 */
export class PoolTask<R> extends Future<R> {
  #state: 'running' | 'done' | 'failed' = 'running';
  #result: unknown = undefined;
  readonly #wakers = new Set<Waker>();

  /**
   * True once the task returned or threw.
   *
   * @example
   * ```ts
   * if (!task.finished) console.log('still running on a worker');
   * ```
   */
  get finished(): boolean {
    return this.#state !== 'running';
  }

  poll(cx: Context): Poll<R> {
    if (this.#state === 'done') return this.#result as R;
    if (this.#state === 'failed') throw this.#result;
    this.#wakers.add(cx.waker); // kept until it settles: a task awaiting it again re-adds itself
    return PENDING;
  }

  /** @internal */
  _settle(failed: boolean, result: unknown): void {
    this.#state = failed ? 'failed' : 'done';
    this.#result = result;
    for (const waker of this.#wakers) waker.wake();
    this.#wakers.clear();
  }
}

/**
 * N worker threads, each running a wakeloop executor; made by {@link poolScope}.
 *
 * @example
 * ```ts
 * yield* poolScope(2, function* (pool) { pool.spawn(url, 'work', sab, 0); pool.spawn(url, 'work', sab, 1); });
 * ```
 */
export class Pool {
  /** How many worker threads. */
  readonly size: number;
  /**
   * Settles once every worker thread has exited (an event: it needs Node's loop, so await it
   * after blockOn returns).
   *
   * @example
   * ```ts
   * let pool!: Pool; blockOn(poolScope(2, function* (p) { pool = p; })); await pool.exited;
   * ```
   */
  readonly exited: Promise<void>;
  /** @internal */
  readonly _workers: ThreadWorker[] = [];
  /** @internal */
  readonly _results: ThreadChannel<PoolResult>;
  /** @internal */
  _pump: JoinHandle<void> | null = null;
  /** @internal Which workers ended, and what their ends mean. */
  readonly _exits: PoolExits;
  #load: number[];
  #tasks = new Map<number, { task: PoolTask<unknown>; worker: number }>();
  #lastId = 0;
  #closed = false;
  #idleWaker: Waker | null = null;

  /** @internal Starts the threads. */
  constructor(size: number, options: PoolOptions) {
    if (!existsSync(fileURLToPath(WORKER_SCRIPT))) {
      throw new Error(
        `poolScope(): ${fileURLToPath(WORKER_SCRIPT)} does not exist. Workers run compiled JS: build with \`npx tsc -p tsconfig.json\` and import wakeloop from dist/`,
      );
    }
    this.size = size;
    this.#load = new Array<number>(size).fill(0);
    this._results = new ThreadChannel<PoolResult>({ capacity: options.resultCapacity ?? 256 * 1024 });
    try {
      for (let index = 0; index < size; index++) {
        const workerData: PoolWorkerData = { index, results: this._results.toCloneable() };
        this._workers.push(new ThreadWorker(WORKER_SCRIPT, { workerData, name: `wakeloop-pool-${index}` }));
      }
    } catch (error) {
      for (const w of this._workers) w.terminate();
      throw error;
    }
    this._exits = new PoolExits(this._workers);
    this.exited = Promise.all(this._workers.map((w) => w.exited)).then(() => undefined);
  }

  /**
   * Runs `module`'s export `exportName` with `args` on the least busy worker. The module is a
   * file URL (or absolute path) of compiled JS that imports wakeloop from the same place as
   * the caller; the export is a plain function (it runs to the end, blocking that worker) or a
   * generator function (a task on the worker's executor). Arguments are structured-cloned
   * (closures do not cross threads); a SharedArrayBuffer among them is shared, not copied.
   *
   * @example
   * ```ts
   * const shared = new Int32Array(new SharedArrayBuffer(8));
   * pool.spawn(new URL('./tasks.js', import.meta.url), 'fill', shared.buffer, 0);
   * ```
   */
  spawn<R = unknown>(module: string | URL, exportName: string, ...args: unknown[]): PoolTask<R> {
    if (this.#closed) throw new ClosedError('Pool');
    const url = moduleHref(module);
    if (typeof exportName !== 'string' || exportName === '') {
      throw new TypeError(`pool.spawn(module, exportName): exportName must be a non-empty string, got ${describe(exportName)}`);
    }
    const worker = this.#load.indexOf(Math.min(...this.#load));
    const message: PoolTaskMessage = { id: ++this.#lastId, url, name: exportName, args };
    try {
      this._workers[worker].post(message);
    } catch (error) {
      const cause = (error as Error).cause ?? error; // Node's error, not post()'s wrapper of it
      throw new TypeError(
        `pool.spawn(): the arguments cannot be sent to a worker thread (${NOT_CLONEABLE}): ${(cause as Error).message}`,
        { cause },
      );
    }
    const task = new PoolTask<R>();
    this.#tasks.set(message.id, { task: task as PoolTask<unknown>, worker });
    this.#load[worker]++;
    return task;
  }

  /**
   * Tasks spawned and not finished yet.
   *
   * @example
   * ```ts
   * console.log(`${pool.pending} tasks still running`);
   * ```
   */
  get pending(): number {
    return this.#tasks.size;
  }

  /** @internal No more tasks: stops the result pump; the workers are stopping. */
  _close(): void {
    this.#closed = true;
    this._exits.stopping();
    this._pump?.cancel();
  }

  /** @internal Terminates the workers that did not say goodbye; the pool is over. */
  _finish(): void {
    for (const w of this._exits.over()) w.terminate();
    this._results.close();
  }

  /**
   * @internal The next result, taken from the ring before any exit the parent saw by itself (a
   * dying worker's own last word names the cause); `undefined` once the channel is closed; null
   * when there is none yet: at `deadline`, after a probe of the workers, or after such an exit
   * was routed (a death throws as in `_route`).
   */
  *_next(deadline = Infinity): Task<PoolResult | undefined | null> {
    const exits = this._exits;
    const first = yield* select(this._results.recv(), exits.seen(), sleepUntil(Math.min(deadline, exits.nextProbe)));
    if (first.index === 0) return first.value;
    if (first.index === 1) exits.ended(first.value.worker, first.value.error);
    else if (performance.now() >= exits.nextProbe) exits.probe();
    return null;
  }

  /** @internal Delivers one result; throws a task's error, or a worker's unexpected exit. */
  _route(msg: PoolResult): void {
    if (msg.t === 'exited') return this._exits.goodbye(msg);
    const entry = this.#tasks.get(msg.id);
    if (entry === undefined) return;
    this.#tasks.delete(msg.id);
    this.#load[entry.worker]--;
    if (this.#tasks.size === 0) this.#idleWaker?.wake();
    if (msg.t === 'done') return entry.task._settle(false, msg.value);
    const error = rebuildError(msg.error);
    entry.task._settle(true, error);
    throw error;
  }

  /** @internal Completes once no task is pending. */
  _idle(): Future<void> {
    return pollFn(
      (cx) => (this.#tasks.size === 0 ? undefined : ((this.#idleWaker = cx.waker), PENDING)),
      () => (this.#idleWaker = null),
    );
  }
}

/** Routes results to their handles until cancelled; a task's error or a worker's death fails the pool scope. */
function* pump(pool: Pool): Task<void> {
  for (;;) {
    const msg = yield* pool._next();
    if (msg === undefined) return;
    if (msg !== null) pool._route(msg);
  }
}

/** Stops every worker: flag + wake, wait for their acknowledgements, terminate the rest. */
function* shutdown(pool: Pool, graceMs: number): Task<void> {
  pool._close();
  for (const w of pool._workers) w.requestStop(graceMs);
  const deadline = performance.now() + graceMs;
  try {
    while (!pool._exits.allEnded && performance.now() < deadline) {
      const msg = yield* pool._next(deadline);
      if (msg === undefined) break;
      if (msg?.t === 'exited') pool._route(msg); // results that come now have nobody to go to
    }
  } finally {
    pool._finish();
  }
}

/**
 * Runs `body` with a {@link Pool} of `workers` threads and completes only when the body and
 * every task spawned on the pool are done, with the body's value; then the workers exit.
 *
 * A task that throws fails the scope with its error (rebuilt on this thread: name, message,
 * the worker's stack and `code` are kept, and its other primitive fields (`errno`, `path`...),
 * a primitive `cause`, and an Error `cause` and an AggregateError's Errors a few levels deep;
 * built-in classes such as RangeError and AggregateError are restored);
 * the other tasks are cancelled. Cancelling the scope stops every worker: a stop flag in shared
 * memory plus a wake of its blocker, so even a worker blocked in the kernel (a long `sleep`)
 * cancels its tasks and runs their `finally` blocks; a worker still running after
 * `stopGraceMs` (a CPU loop, a `finally` that waits) is terminated.
 *
 * A worker thread that dies (`process.exit()` in a task, an uncaught error in a timer, a
 * termination from outside) fails the scope with an error naming the worker, inside `blockOn`
 * too; one that dies while the pool stops fails it once the other workers stopped. Throws a
 * TypeError or RangeError, naming the argument, for bad arguments or options.
 *
 * @example
 * ```ts
 * const shared = new Int32Array(new SharedArrayBuffer(8));
 * yield* poolScope(2, function* (pool) {
 *   pool.spawn(tasksUrl, 'countPrimes', 0, 5e6, shared.buffer, 0);
 *   pool.spawn(tasksUrl, 'countPrimes', 5e6, 1e7, shared.buffer, 1);
 * });
 * console.log(shared[0] + shared[1]); // both workers are done here
 * ```
 */
export function poolScope<T>(workers: number, body: (pool: Pool) => Awaitable<T>, options: PoolOptions = {}): ScopeFuture<T> {
  checkInteger('poolScope()', 'workers', workers, 1, 256);
  if (typeof body !== 'function') {
    throw new TypeError(`poolScope(workers, body): body must be a generator function (pool) => Task, got ${describe(body)}`);
  }
  checkOptions('poolScope(workers, body, options)', options, ['stopGraceMs', 'resultCapacity']);
  const graceMs = checkDuration('poolScope()', 'options.stopGraceMs', options.stopGraceMs ?? 1000, true);
  if (options.resultCapacity !== undefined) {
    // At least room for a short failure report, so every task's end can be reported
    checkInteger('poolScope()', 'options.resultCapacity', options.resultCapacity, MIN_RESULT_CAPACITY, 2 ** 30);
  }
  return scope(function* (s) {
    const pool = new Pool(workers, options);
    let value: T;
    try {
      pool._pump = s.spawn(pump(pool));
      value = yield* body(pool);
      yield* pool._idle();
    } finally {
      yield* shutdown(pool, graceMs);
    }
    if (pool._exits.lateDeath !== null) throw pool._exits.lateDeath; // a worker died while the pool stopped
    return value;
  });
}
