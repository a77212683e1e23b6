// Helpers shared by the tests.
import { readdirSync } from 'node:fs';
import { Executor, TcpListener, timeout, type Awaitable } from '../src/index.js';

/** How many fds this process has open. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The backend the suite runs on (WAKELOOP_BACKEND, default epoll). */
export const BACKEND = (process.env.WAKELOOP_BACKEND === 'poll' ? 'poll' : 'epoll') as 'epoll' | 'poll';

/**
 * Runs `main` on a fresh executor with a wakeloop deadline (vitest's own timeout is a Node timer,
 * which cannot fire while blockOn holds the thread), then closes the executor.
 */
export function run<T>(main: Awaitable<T>, deadlineMs = 10_000, options: ConstructorParameters<typeof Executor>[0] = {}): T {
  const executor = new Executor({ backend: BACKEND, ...options });
  try {
    return executor.blockOn(timeout(deadlineMs, main));
  } finally {
    executor.close();
  }
}

/** Runs `body` and checks that it leaves no fd open. */
export function noLeak<T>(body: () => T): T {
  const before = openFds();
  const result = body();
  const after = openFds();
  if (after !== before) throw new Error(`fd leak: ${before} open before, ${after} after`);
  return result;
}

// The first listener opens wakeloop's process-wide reserve fd (kept for EMFILE) and the name
// lookup machinery starts lazily: make both happen before any test counts fds.
run((function* () {
  (yield* TcpListener.bind('127.0.0.1:0')).close();
})());
