// Signals as futures. While blockOn holds the thread, Node's loop (and so `process.on('SIGINT')`)
// cannot run; the addon's process-wide handler counts each signal and wakes the blockers that
// watch it, and a future compares counts.
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { binding } from './_binding.js';
import { ClosedError, IoError } from './errors.js';
import { Executor } from './executor.js';
import { Future, PENDING, type Context, type Poll, type Waker } from './future.js';
import type { Reactor } from './reactor.js';
import { checkOwnReactor } from './_own_reactor.js';

/**
 * Signals a program may wait for.
 *
 * @example
 * ```ts
 * const stopOn: SignalName[] = ['SIGINT', 'SIGTERM'];
 * using signals = listenSignals(...stopOn);
 * ```
 */
export type SignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGWINCH';
const WATCHABLE = new Set<string>(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']);

/** Watchers per (blocker registry id, signal), so the handler is removed with the last one. */
const watchers = new Map<string, number>();

function watch(registryId: number, name: SignalName): void {
  const signum = constants.signals[name];
  const key = `${registryId}:${signum}`;
  const n = watchers.get(key) ?? 0;
  if (n === 0) {
    const rc = binding.signalWatch(signum, registryId, nodeListens(name));
    if (rc < 0) throw watchError(name, rc);
  }
  watchers.set(key, n + 1);
}

/** The error for a failed signalWatch(): the watcher table being full is not a sigaction failure. */
function watchError(name: SignalName, rc: number): IoError {
  const error = new IoError('sigaction', rc, name);
  if (-rc === constants.errno.ENOSPC) {
    error.message =
      `cannot watch ${name}: ${binding.signalMaxWatchers} executors already watch it, ` +
      'the most the addon allows at once';
  }
  return error;
}

function unwatch(registryId: number, signum: number): void {
  const key = `${registryId}:${signum}`;
  const n = watchers.get(key) ?? 0;
  if (n <= 1) {
    watchers.delete(key);
    if (n === 1) binding.signalUnwatch(signum, registryId);
  } else {
    watchers.set(key, n - 1);
  }
}

/**
 * Node installs its own handler when the first `process.on(signal)` listener is added, and
 * resets the signal to its default when the last one goes: either replaces ours. So after each,
 * ours is put back in front (it calls the handler it replaced, so Node's listeners still run).
 * Node's own hooks for this were added at startup, so they run before these. Main thread only:
 * Node handles signals there alone. Followed from the moment wakeloop is loaded, not from the
 * first watch: a worker thread's watch relies on the chaining state the main thread keeps.
 */
function followNodeListeners(): void {
  const follow = (event: string | symbol, adding: boolean): void => {
    if (typeof event !== 'string' || !WATCHABLE.has(event)) return;
    // 'newListener' comes before the listener is added, 'removeListener' after it is gone.
    binding.signalReinstall(constants.signals[event as SignalName], adding || process.listenerCount(event) > 0);
  };
  process.on('newListener', (event: string | symbol) => follow(event, true));
  process.on('removeListener', (event: string | symbol) => follow(event, false));
  // Listeners added before wakeloop was loaded.
  for (const name of WATCHABLE) if (process.listenerCount(name) > 0) follow(name, true);
}

if (isMainThread) followNodeListeners();

/**
 * Whether Node has `process.on` listeners for `name` (their libuv handler is then chained), or
 * undefined on a worker thread: only the main thread's listeners count, and its state is kept
 * by followNodeListeners, so a worker's watch leaves it as it is.
 */
function nodeListens(name: SignalName): boolean | undefined {
  return isMainThread ? process.listenerCount(name) > 0 : undefined;
}

/** signal(): a listener made at the first poll, closed once it delivered or was dropped. */
class SignalFuture extends Future<SignalName> {
  #listener: SignalListener | null = null;
  #recv: Future<SignalName> | null = null;

  constructor(private readonly names: SignalName[]) {
    super();
  }

  poll(cx: Context): Poll<SignalName> {
    this.#listener ??= new SignalListener(this.names);
    this.#recv ??= this.#listener.recv();
    const name = this.#recv.poll(cx);
    if (name !== PENDING) this.drop();
    return name;
  }

  override drop(): void {
    this.#recv?.drop();
    this.#recv = null;
    this.#listener?.close();
    this.#listener = null;
  }
}

/**
 * Completes with the signal's name when the process receives one of `names` (after the future
 * was first polled). For a loop of waits use {@link listenSignals}, which leaves no gap between
 * one wait and the next. While one is pending, the signal's default action (exiting on SIGINT or
 * SIGTERM) is replaced; it is restored when the last such future completes or is dropped.
 *
 * Not cancel-safe: a signal delivered while it waits is lost if the future is dropped before
 * returning it (a losing branch of `select`, an expired `timeout`). There, receive from a
 * {@link listenSignals} listener made outside the loop: its `recv()` is cancel-safe.
 *
 * @example
 * ```ts
 * const which = yield* signal('SIGINT', 'SIGTERM');
 * console.log(`${which}: stopping`);
 * ```
 */
export function signal(...names: SignalName[]): Future<SignalName> {
  return new SignalFuture(checkNames('signal()', names));
}

function checkNames(where: string, names: unknown[]): SignalName[] {
  if (names.length === 0) throw new TypeError(`${where}: name at least one signal`);
  for (const name of names) {
    if (typeof name !== 'string' || !WATCHABLE.has(name)) {
      throw new TypeError(`${where}: names must be among ${[...WATCHABLE].join(', ')}, got ${String(name)}`);
    }
  }
  return [...new Set(names as SignalName[])]; // a name given twice is one signal, received once
}

/**
 * A stream of signal deliveries: the handler is installed when the listener is made and stays
 * until `close()`, so a loop of `recv()` misses nothing and no delivery between two waits gets
 * the default action. Each `recv()` completes with one delivery's signal name (deliveries that
 * arrive together while nobody waits are each received in turn). Make it inside a task.
 *
 * Deliveries that queued up while no `recv()` waited come back by the order of `names`, not by
 * arrival: every pending delivery of the first name, then of the second, and so on (SIGUSR2,
 * SIGINT, SIGUSR2 on `listenSignals('SIGINT', 'SIGUSR2')` are received as SIGINT, SIGUSR2,
 * SIGUSR2). So name first the signal that should win, such as SIGTERM. The addon only counts
 * deliveries per signal, so arrival order across signals is not kept; the kernel does not keep
 * it either (signal(7): several pending standard signals are delivered in an unspecified order,
 * and one sent again while still pending is delivered once).
 *
 * At most 32 executors (the addon's limit) can watch one signal at once: past that, making a
 * listener throws an IoError with code `ENOSPC`, and watches nothing.
 *
 * @example
 * ```ts
 * const signals = listenSignals('SIGTERM', 'SIGUSR2'); // a pending SIGTERM goes first
 * for (;;) {
 *   if ((yield* signals.recv()) === 'SIGTERM') break;
 *   printStats();
 * }
 * signals.close();
 * ```
 */
export class SignalListener {
  readonly #names: SignalName[];
  readonly #signums: number[];
  /** Deliveries already received, per signal, as counts of the addon's counter. */
  readonly #seen: number[];
  readonly #registryId: number;
  /** @internal The reactor whose blocker the addon wakes on a delivery: only its executor hears. */
  readonly _reactor: Reactor;
  /** The recv() futures waiting for a delivery: close() wakes them, so they end with ClosedError. */
  readonly #waiting = new Set<SignalRecv>();
  #closed = false;

  constructor(names: SignalName[]) {
    this.#names = checkNames('listenSignals()', names);
    this.#signums = this.#names.map((name) => constants.signals[name]);
    this._reactor = Executor.current().reactor;
    this.#registryId = this._reactor.blocker.registryId;
    let watched = 0;
    try {
      for (const name of this.#names) {
        watch(this.#registryId, name);
        watched++;
      }
    } catch (error) {
      // No listener is returned, so nothing would ever unwatch what was watched so far.
      for (const signum of this.#signums.slice(0, watched)) unwatch(this.#registryId, signum);
      throw error;
    }
    this.#seen = this.#signums.map((signum) => binding.signalCount(signum));
  }

  /**
   * Completes with the name of the next signal delivered (or already delivered and not
   * received; of those, the first in the order of the listener's names).
   */
  recv(): Future<SignalName> {
    if (this.#closed) throw new ClosedError('SignalListener');
    return new SignalRecv(this);
  }

  /** @internal Takes one delivery not yet received (by the order of the names), or returns null. */
  _take(): SignalName | null {
    for (let i = 0; i < this.#signums.length; i++) {
      if (binding.signalCount(this.#signums[i]) > this.#seen[i]) {
        this.#seen[i]++;
        return this.#names[i];
      }
    }
    return null;
  }

  /** @internal Marks `recv` as waiting for a delivery (true) or no longer waiting (false). */
  _setWaiting(recv: SignalRecv, waiting: boolean): void {
    if (waiting) this.#waiting.add(recv);
    else this.#waiting.delete(recv);
  }

  /**
   * Uninstalls the handler (if no other listener or future needs it). A `recv()` already
   * waiting is woken and throws ClosedError. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const signum of this.#signums) unwatch(this.#registryId, signum);
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const recv of waiting) recv._wakeClosed();
  }

  /** Closes the listener (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }
}

class SignalRecv extends Future<SignalName> {
  /** The waker stored with the reactor of the poll that went pending (a drop may come from plain code). */
  #waiting: { waker: Waker; reactor: Reactor } | null = null;
  constructor(private readonly listener: SignalListener) {
    super();
  }
  poll(cx: Context): Poll<SignalName> {
    if (this.listener.closed) throw new ClosedError('SignalListener');
    const name = this.listener._take();
    if (name !== null) {
      this.drop();
      return name;
    }
    const reactor = this.listener._reactor;
    checkOwnReactor(reactor, 'SignalListener');
    this.drop(); // the waker of an earlier poll
    this.#waiting = { waker: cx.waker, reactor };
    reactor.waitNotify(cx.waker);
    this.listener._setWaiting(this, true);
    return PENDING;
  }
  override drop(): void {
    if (this.#waiting === null) return;
    this.#waiting.reactor.forgetNotify(this.#waiting.waker);
    this.#waiting = null;
    this.listener._setWaiting(this, false);
  }
  /** @internal The listener closed: wake the task, whose next poll throws ClosedError. */
  _wakeClosed(): void {
    const waker = this.#waiting?.waker;
    this.drop();
    waker?.wake();
  }
}

/**
 * Starts listening for `names`: see {@link SignalListener}. Call it inside a task.
 *
 * @example
 * ```ts
 * using signals = listenSignals('SIGHUP');
 * yield* signals.recv();
 * ```
 */
export function listenSignals(...names: SignalName[]): SignalListener {
  return new SignalListener(names);
}
