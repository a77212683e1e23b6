// ThreadWorker: a worker thread that runs its own wakeloop executor and can be reached, and
// stopped, while either side is inside blockOn. Nothing here needs Node's event loop: messages
// are taken with receiveMessageOnPort, wakes go through shared memory and notifyBlocker.
import {
  MessageChannel,
  receiveMessageOnPort,
  workerData as threadWorkerData,
  type MessagePort,
  type Worker,
} from 'node:worker_threads';
import { defaultExecutorForThread } from '../default_executor.js';
import { ClosedError } from '../errors.js';
import { Executor } from '../executor.js';
import type { Future } from '../future.js';
import { notifyBlocker } from '../io_blocker.js';
import { describe } from '../task.js';
import { checkDuration } from '../_validate.js';
import { CrossThreadSignal, checkForm, type CrossThreadSignalForm } from './signal.js';
import { checkWorkerOptions, startWorker, workerScript } from './_start_worker.js';
import { cloneError } from './_clone_error.js';

/**
 * What `postMessage` may transfer, named by Worker's own signature: it has one in every
 * @types/node version (MessagePort's gained an options overload in 26).
 */
type TransferList = NonNullable<Parameters<Worker['postMessage']>[1]>;

// Control cells: [stop flag, magic].
const STOP = 0;
const MAGIC_CELL = 1;
const CELLS = 2;
/** Marks a buffer as a worker control block ('TWK1'). */
const MAGIC = 0x54574b31;
const KIND = 'wakeloop.ThreadWorker';

/** What the worker finds in `workerData`. */
interface ControlForm {
  kind: typeof KIND;
  sab: SharedArrayBuffer;
  wake: CrossThreadSignalForm;
  port: MessagePort;
  data: unknown;
}

/**
 * Options for `new ThreadWorker()`.
 *
 * @example
 * ```ts
 * const options: ThreadWorkerOptions = { workerData: { shared }, name: 'pool-0' };
 * ```
 */
export interface ThreadWorkerOptions {
  /** Handed to the worker as `WorkerControl.data` (structured clone; SharedArrayBuffers shared). */
  workerData?: unknown;
  /** Transferred with `workerData` (e.g. MessagePorts inside it). */
  transferList?: TransferList;
  /** The thread's name, for debuggers. */
  name?: string;
}

/**
 * The parent's side of a worker thread that runs a wakeloop executor (its script calls
 * `WorkerControl.connect()`). Workers run compiled JS: Node 20 does not load `.ts` in a worker.
 *
 * - `post(message)` queues a structured-cloneable message (SharedArrayBuffers are shared) and
 *   wakes the worker's executor, even if it is blocked in the kernel.
 * - `requestStop()` sets a stop flag in shared memory and wakes the worker, which should cancel
 *   its tasks (their `finally` blocks run) and end; a Node timer terminates it after a grace
 *   period if it has not (that timer fires only while Node's loop runs).
 * - `terminate()` ends the thread even if it is blocked in `block()` (the blocker wakes up when
 *   Node stops the thread); it also sets the stop flag and wakes the worker's blocker, which
 *   covers the rare case that wake-up misses (see `IoBlocker.block()`).
 * - An error the worker's code throws and does not catch ends the thread and, as with Node's
 *   own Worker, is emitted as 'error' on `worker`: with no listener it fails the whole program.
 *   To handle it, listen with `w.worker.on('error', ...)`; `exited` then resolves with 1.
 *
 * @example
 * ```ts
 * const w = new ThreadWorker(new URL('./my_worker.js', import.meta.url));
 * w.worker.on('error', (error) => console.error('worker failed:', error));
 * w.post({ job: 1 });
 * w.requestStop();
 * await w.exited; // 0, or 1 after an uncaught error
 * ```
 */
export class ThreadWorker {
  /** The underlying Node worker. */
  readonly worker: Worker;
  /** Resolves with the exit code once the thread has exited (an event: it needs Node's loop). */
  readonly exited: Promise<number>;
  readonly #cells: Int32Array;
  readonly #wake = new CrossThreadSignal();
  readonly #port: MessagePort;
  #backstop: ReturnType<typeof setTimeout> | null = null;
  /** The thread's exit code once Node reported its exit; null before. */
  #exitCode: number | null = null;

  /**
   * Starts the worker thread running `script`: compiled JS, as a URL (object or `file:`/`data:`
   * string) or a path (absolute, or relative to the working directory starting with `./` or
   * `../`). The thread inherits this process's Node flags as Node passes them to workers (flags
   * a worker cannot take, such as `--max-old-space-size`, stay with the process). Throws a
   * TypeError for any other `script`, for a path or `file:` URL that names no file, for
   * options that are not an object, or for a `workerData` that cannot be cloned.
   *
   * @example
   * ```ts
   * const w = new ThreadWorker(new URL('./pool_worker.js', import.meta.url), { workerData: 1 });
   * ```
   */
  constructor(script: URL | string, options: ThreadWorkerOptions = {}) {
    const entry = workerScript(script);
    checkWorkerOptions(options);
    this.#cells = new Int32Array(new SharedArrayBuffer(CELLS * 4));
    Atomics.store(this.#cells, MAGIC_CELL, MAGIC);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const control: ControlForm = {
      kind: KIND,
      sab: this.#cells.buffer as SharedArrayBuffer,
      wake: this.#wake.toCloneable(),
      port: port2,
      data: options.workerData,
    };
    try {
      this.worker = startWorker(entry, {
        workerData: control,
        transferList: [port2, ...(options.transferList ?? [])],
        name: options.name,
      });
    } catch (error) {
      port1.close();
      port2.close();
      if (!(error instanceof Error && error.name === 'DataCloneError')) throw error;
      throw cloneError('new ThreadWorker()', 'options.workerData could not be cloned or transferred to the worker', error);
    }
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.#exitCode = code;
        if (this.#backstop !== null) clearTimeout(this.#backstop);
        this.#port.close();
        resolve(code);
      });
    });
  }

  /**
   * The registry id of the worker executor's blocker, once it first waited (0 before): the
   * slot in shared memory through which the worker publishes it.
   *
   * @example
   * ```ts
   * if (w.registryId > 0) notifyBlocker(w.registryId);
   * ```
   */
  get registryId(): number {
    return this.#wake.waiterRegistryId;
  }

  /**
   * Queues `message` for the worker (`WorkerControl.tryReceive()`) and wakes it, moving the
   * objects in `transferList` (an array, if given) to the worker. Throws a TypeError for a
   * `transferList` that is not an array, or for what cannot cross threads (functions, for one;
   * its `cause` is Node's error); then nothing was posted. Throws a ClosedError once the thread
   * exited and Node reported it (as `exited` resolves: from Node's loop, so not while this
   * thread stays inside `blockOn`); the message would have been dropped unread.
   *
   * @example
   * ```ts
   * w.post({ id: 1, shared: sab }); // the SharedArrayBuffer is shared, not copied
   * ```
   */
  post(message: unknown, transferList?: TransferList): void {
    if (transferList !== undefined && !Array.isArray(transferList)) {
      throw new TypeError(`ThreadWorker.post(message, transferList): transferList must be an array, got ${describe(transferList)}`);
    }
    // Its port is closed, and a message posted to it would be dropped without a word.
    if (this.#exitCode !== null) throw new ClosedError(`ThreadWorker.post(): the worker thread exited (code ${this.#exitCode}); its queue`);
    try {
      this.#port.postMessage(message, transferList);
    } catch (error) {
      throw cloneError('ThreadWorker.post()', 'the message could not be cloned or transferred to the worker', error);
    }
    this.#wake.notify();
  }

  /**
   * @internal A message the worker posted back on its control port, read without Node's loop
   * (a pool worker whose main module cannot load says so there).
   */
  _tryReceiveBack(): { message: unknown } | undefined {
    return receiveMessageOnPort(this.#port);
  }

  /**
   * True once `requestStop()` was called.
   *
   * @example
   * ```ts
   * if (!w.stopRequested) w.post(job);
   * ```
   */
  get stopRequested(): boolean {
    return Atomics.load(this.#cells, STOP) === 1;
  }

  /**
   * Asks the worker to stop: sets the stop flag and wakes it. If it has not exited after
   * `graceMs` of Node's loop running (a number >= 0; `Infinity` waits the longest a Node timer
   * can, about 24 days), it is terminated. Idempotent. Throws a TypeError for a `graceMs` that
   * is not a number (NaN included), a RangeError for a negative one.
   *
   * @example
   * ```ts
   * w.requestStop(500);
   * ```
   */
  requestStop(graceMs = 1000): void {
    checkDuration('ThreadWorker.requestStop()', 'graceMs', graceMs, true);
    if (Atomics.exchange(this.#cells, STOP, 1) === 1) return;
    this.#wake.notify();
    // setTimeout takes at most 2^31-1 ms (more becomes 1 ms): clamp, so a long grace stays long
    this.#backstop = setTimeout(() => this.terminate(), Math.min(Math.max(0, graceMs), 2 ** 31 - 1));
    this.#backstop.unref(); // a worker that exits on time must not keep the process waiting
  }

  /**
   * Terminates the thread now, even one blocked in the kernel: its `finally` blocks do not run.
   * The sockets it opened through wakeloop and left open are closed as it ends. The exit itself
   * is seen through `exited`.
   *
   * @example
   * ```ts
   * w.terminate(); await w.exited;
   * ```
   */
  terminate(): void {
    Atomics.store(this.#cells, STOP, 1);
    const id = this.registryId;
    if (id > 0) notifyBlocker(id);
    void this.worker.terminate();
    // Again once termination is pending: the first wake may have been spent by a turn that then
    // blocked again before V8 saw the request.
    if (id > 0) notifyBlocker(id);
  }
}

/**
 * The worker's side of a {@link ThreadWorker}: the stop flag, the message queue and the wake-up.
 *
 * @example
 * ```ts
 * const control = WorkerControl.connect();
 * executor.blockOn(function* () {
 *   while (!control.stopRequested) {
 *     for (let m; (m = control.tryReceive()) !== undefined; ) handle(m.message);
 *     yield* control.wait();
 *   }
 * }());
 * ```
 */
export class WorkerControl {
  /** The `workerData` option given to the ThreadWorker. */
  readonly data: unknown;
  readonly #cells: Int32Array;
  readonly #wake: CrossThreadSignal;
  readonly #port: MessagePort;

  private constructor(form: ControlForm) {
    this.#cells = checkForm('WorkerControl.connect', form, KIND, CELLS, MAGIC);
    this.#wake = CrossThreadSignal.from(form.wake);
    this.#port = form.port;
    this.data = form.data;
  }

  /**
   * Connects to the ThreadWorker that started this thread (reads `workerData`) and publishes
   * the registry id of the executor this thread will block in, so the parent can wake or
   * terminate it even before the first `wait()`: `executor`, or else the one running the
   * caller, or else this thread's default executor (the one `blockOn()` uses). A thread that
   * blocks in an executor of its own must pass it. Throws a TypeError in a thread that was not
   * started by a ThreadWorker, or for an `executor` that is not an Executor.
   *
   * @example
   * ```ts
   * const executor = new Executor();
   * const { data } = WorkerControl.connect(executor);
   * ```
   */
  static connect(executor?: Executor): WorkerControl {
    if (executor !== undefined && !(executor instanceof Executor)) {
      throw new TypeError(`WorkerControl.connect(executor): executor must be an Executor, got ${describe(executor)}`);
    }
    const form = threadWorkerData as { kind?: unknown } | null;
    if (typeof form !== 'object' || form === null || form.kind !== KIND) {
      throw new TypeError('WorkerControl.connect(): this thread was not started by a ThreadWorker (its workerData is not a ThreadWorker\'s)');
    }
    const control = new WorkerControl(threadWorkerData as ControlForm);
    const blocksIn = executor ?? Executor.tryCurrent() ?? defaultExecutorForThread();
    control.#wake._publish(blocksIn.reactor.blocker.registryId);
    return control;
  }

  /**
   * True once the parent asked this worker to stop.
   *
   * @example
   * ```ts
   * if (control.stopRequested) return;
   * ```
   */
  get stopRequested(): boolean {
    return Atomics.load(this.#cells, STOP) === 1;
  }

  /**
   * The next message the parent posted, as `{ message }`, or undefined if none is queued.
   *
   * @example
   * ```ts
   * for (let m; (m = control.tryReceive()) !== undefined; ) handle(m.message);
   * ```
   */
  tryReceive(): { message: unknown } | undefined {
    return receiveMessageOnPort(this.#port);
  }

  /**
   * Completes at the next post or stop request (at once if one came since the last wait).
   * Awaiting it publishes this executor's registry id, so the parent can wake it.
   *
   * @example
   * ```ts
   * yield* control.wait();
   * ```
   */
  wait(): Future<void> {
    return this.#wake.wait();
  }

  /**
   * Closes this side's message port; call it as the worker ends so nothing keeps it alive.
   *
   * @example
   * ```ts
   * control.close();
   * ```
   */
  close(): void {
    this.#port.close();
  }
}
