// How a pool learns that its worker threads ended. A worker says goodbye through the results
// channel, from its 'exit' hook too when process.exit() or an uncaught error ends it, and on
// its control port if it could not even start; a thread that cannot (terminated, out of
// memory) is found by probing its blocker, since inside blockOn the Worker's 'exit' and 'error'
// events are never delivered. When Node's loop runs, they are.
import { Future, PENDING, pollFn, type Waker } from '../future.js';
import { notifyBlocker } from '../io_blocker.js';
import { rebuildError, type PoolBootFailure, type PoolResult } from './_pool_protocol.js';
import type { ThreadWorker } from './worker.js';

/** How often the pool asks whether each worker's executor still exists (ms). */
const PROBE_MS = 200;

/**
 * An exit the parent saw by itself; `error` null: a stopping worker's quiet end.
 *
 * @example
 * ```ts
 * const exit: SeenExit = { worker: 1, error: null };
 * ```
 */
export interface SeenExit {
  worker: number;
  error: Error | null;
}

/**
 * The exits of a pool's workers: which ones ended, and which of those ends fail the pool.
 *
 * @example
 * ```ts
 * const exits = new PoolExits(workers);
 * if (performance.now() >= exits.nextProbe) exits.probe();
 * ```
 */
export class PoolExits {
  readonly #workers: ThreadWorker[];
  /** Workers known to have ended (or to be ending, having said goodbye). */
  readonly #ended: boolean[];
  /** Each worker's 'error' event, kept for its 'exit' event. */
  readonly #errors: Array<Error | undefined>;
  /** Workers whose death failed (or will fail) the pool: a late 'error' is not news. */
  readonly #blamed: boolean[];
  /** Exits the parent saw by itself, for `seen()`. */
  readonly #seen: SeenExit[] = [];
  #seenWaker: Waker | null = null;
  /** Invariant: once true, an end without an error is the stop the pool asked for. */
  #stopping = false;
  /** Invariant: once true, nobody awaits the exits: worker events are only reported. */
  #over = false;
  /** When `probe()` is due next (performance.now() ms). */
  nextProbe = performance.now() + PROBE_MS;
  /** A worker that died while the pool was stopping: poolScope throws it at the end. */
  lateDeath: Error | null = null;

  /** Listens to `workers`' events (an unheard 'error' event would crash the process). */
  constructor(workers: ThreadWorker[]) {
    this.#workers = workers;
    this.#ended = workers.map(() => false);
    this.#errors = workers.map(() => undefined);
    this.#blamed = workers.map(() => false);
    workers.forEach((w, i) => {
      w.worker.on('error', (error: Error) => this.#onError(i, error));
      void w.exited.then((code) => this.#onExit(i, code));
    });
  }

  /** True once every worker ended. */
  get allEnded(): boolean {
    return this.#ended.every(Boolean);
  }

  /** The pool asked its workers to stop: ends without an error are expected from now on. */
  stopping(): void {
    this.#stopping = true;
  }

  /** The pool is done; returns the workers that never said goodbye, to be terminated. */
  over(): ThreadWorker[] {
    this.#over = true;
    return this.#workers.filter((_, i) => !this.#ended[i]);
  }

  /** A worker's goodbye from the results channel; throws if it means a death. */
  goodbye(msg: Extract<PoolResult, { t: 'exited' }>): void {
    this.ended(msg.worker, goodbyeError(msg, this.#stopping));
  }

  /**
   * Worker `worker` ended (`error` null: it stopped). Before the pool stops, that is a death,
   * thrown; while it stops, a death with an error is kept for poolScope to throw at the end.
   */
  ended(worker: number, error: Error | null): void {
    if (this.#ended[worker]) return; // a second word on the same exit
    this.#ended[worker] = true;
    if (error === null && this.#stopping) return;
    const failure = error ?? new Error(`poolScope(): pool worker ${worker} stopped before the pool closed`);
    this.#blamed[worker] = true;
    if (!this.#stopping) throw failure;
    this.lateDeath ??= failure;
  }

  /** Completes with the next exit the parent saw by itself (an event, a probe). */
  seen(): Future<SeenExit> {
    return pollFn(
      (cx) => this.#seen.shift() ?? ((this.#seenWaker = cx.waker), PENDING),
      () => (this.#seenWaker = null),
    );
  }

  /**
   * Looks for workers gone without a word: one whose main module could not load (it said so
   * on its control port), one whose blocker no longer exists (`notifyBlocker()` is false).
   */
  probe(): void {
    this.nextProbe = performance.now() + PROBE_MS;
    this.#workers.forEach((w, i) => {
      if (this.#ended[i]) return;
      const back = w._tryReceiveBack()?.message as PoolBootFailure | undefined;
      if (back?.t === 'boot-failed') {
        const cause = rebuildError(back.error);
        return this.#see(i, new Error(`poolScope(): pool worker ${i} could not start: ${cause.message}`, { cause }));
      }
      const id = w.registryId; // 0 until the thread has started its executor
      if (id === 0 || notifyBlocker(id)) return;
      // while stopping, a thread gone without a word was most likely terminated after its grace
      const how = 'its executor is gone without a word (terminated, or out of memory?)';
      this.#see(i, this.#stopping ? null : new Error(`poolScope(): pool worker ${i} died: ${how}`));
    });
  }

  #see(worker: number, error: Error | null): void {
    this.#seen.push({ worker, error });
    this.#seenWaker?.wake();
  }

  /** A worker's 'exit' event: a death, unless it said goodbye first (or the pool is over). */
  #onExit(worker: number, code: number): void {
    if (this.#ended[worker] || this.#over) return;
    const cause = this.#errors[worker];
    if (cause === undefined && this.#stopping) return this.#see(worker, null);
    const why = cause === undefined ? `exit code ${code}` : `${cause.name}: ${cause.message}`;
    this.#see(worker, new Error(`poolScope(): pool worker ${worker} died (${why})`, { cause }));
  }

  /** A worker's 'error' event: news on stderr only once the pool is over and it failed nothing. */
  #onError(worker: number, error: Error): void {
    this.#errors[worker] = error;
    if (!this.#over || this.#blamed[worker]) return;
    process.stderr.write(`wakeloop: pool worker ${worker} failed after its pool closed: ${error.stack ?? error.message}\n`);
  }
}

/** What a goodbye means: null for a stop (its own, or exit code 0 while `stopping`), else why it died. */
function goodbyeError(msg: Extract<PoolResult, { t: 'exited' }>, stopping: boolean): Error | null {
  const cause = msg.error === undefined ? undefined : rebuildError(msg.error);
  const w = `poolScope(): pool worker ${msg.worker}`;
  if (cause !== undefined) {
    const how = msg.code === undefined ? 'failed' : `died of an uncaught error: ${cause.name}`;
    return new Error(`${w} ${how}: ${cause.message}`, { cause });
  }
  if (msg.code === undefined || (msg.code === 0 && stopping)) return null;
  return new Error(`${w} ended with exit code ${msg.code} (process.exit() in a task or a timer?)`);
}
