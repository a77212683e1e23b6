// Signals as futures. While blockOn holds the thread, Node's loop (and so `process.on('SIGINT')`)
// cannot run; the addon's process-wide handler counts each signal and wakes the blockers that
// watch it, and a future compares counts.
import { constants } from 'node:os';
import { binding } from './_binding.js';
import { IoError } from './errors.js';
import { Executor } from './executor.js';
import { Future, PENDING, type Context, type Poll } from './future.js';

/** Signals a program may wait for. */
export type SignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGWINCH';
const WATCHABLE = new Set<string>(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']);

/** Watchers per (blocker registry id, signal), so the handler is removed with the last one. */
const watchers = new Map<string, number>();

function watch(registryId: number, signum: number): void {
  const key = `${registryId}:${signum}`;
  const n = watchers.get(key) ?? 0;
  if (n === 0) {
    const rc = binding.signalWatch(signum, registryId);
    if (rc < 0) throw new IoError('sigaction', rc);
  }
  watchers.set(key, n + 1);
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

class SignalFuture extends Future<SignalName> {
  #baselines: number[] = [];
  #registryId = -1;
  #waker: Context['waker'] | null = null;

  constructor(private readonly names: SignalName[]) {
    super();
  }

  poll(cx: Context): Poll<SignalName> {
    const reactor = Executor.current().reactor;
    if (this.#registryId === -1) {
      this.#registryId = reactor.blocker.registryId;
      for (const name of this.names) watch(this.#registryId, constants.signals[name]);
      this.#baselines = this.names.map((name) => binding.signalCount(constants.signals[name]));
    }
    for (let i = 0; i < this.names.length; i++) {
      if (binding.signalCount(constants.signals[this.names[i]]) > this.#baselines[i]) {
        this.drop();
        return this.names[i];
      }
    }
    this.#waker = cx.waker;
    reactor.waitNotify(cx.waker);
    return PENDING;
  }

  override drop(): void {
    if (this.#registryId !== -1) {
      for (const name of this.names) unwatch(this.#registryId, constants.signals[name]);
    }
    this.#registryId = -1;
    if (this.#waker !== null) Executor.tryCurrent()?.reactor.forgetNotify(this.#waker);
    this.#waker = null;
  }
}

/**
 * Completes with the signal's name when the process receives one of `names` (after the future
 * was first polled). While one is pending, the signal's default action (exiting on SIGINT or
 * SIGTERM) is replaced; it is restored when the last such future completes or is dropped.
 *
 * @example
 * ```ts
 * const which = yield* signal('SIGINT', 'SIGTERM');
 * listener.close();
 * ```
 */
export function signal(...names: SignalName[]): Future<SignalName> {
  if (names.length === 0) throw new TypeError('signal(): name at least one signal');
  for (const name of names) {
    if (typeof name !== 'string' || !WATCHABLE.has(name)) {
      throw new TypeError(`signal(): names must be among ${[...WATCHABLE].join(', ')}, got ${String(name)}`);
    }
  }
  return new SignalFuture(names);
}
