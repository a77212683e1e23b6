// Helpers shared by the tests.
import { readdirSync } from 'node:fs';
import {
  Executor,
  Future,
  PENDING,
  TcpListener,
  TcpStream,
  spawn,
  timeout,
  type Awaitable,
  type Context,
  type Poll,
  type Task,
} from '../src/index.js';

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

/** Awaits `fut` and returns the error it threw (or undefined). */
export function* catching(fut: Future<unknown> | Task<unknown>): Task<unknown> {
  try {
    yield* fut;
    return undefined;
  } catch (e) {
    return e;
  }
}

/** A future pending until `resolve(v)` or `reject(e)`; counts its polls and drops. */
export class Gate<T> extends Future<T> {
  polls = 0;
  drops = 0;
  #outcome: { ok: boolean; v: unknown } | null = null;
  #waker: Context['waker'] | null = null;
  poll(cx: Context): Poll<T> {
    this.polls++;
    if (this.#outcome !== null) {
      if (!this.#outcome.ok) throw this.#outcome.v;
      return this.#outcome.v as T;
    }
    this.#waker = cx.waker;
    return PENDING;
  }
  resolve(v: T): void {
    this.#outcome = { ok: true, v };
    this.#waker?.wake();
  }
  reject(e: unknown): void {
    this.#outcome = { ok: false, v: e };
    this.#waker?.wake();
  }
  override drop(): void {
    this.drops++;
  }
}

/** A future that never completes and whose drop() throws `Error(message)`: a cleanup that fails. */
export class ThrowsOnDrop extends Future<never> {
  constructor(private readonly message = 'drop failed') {
    super();
  }
  poll(): typeof PENDING {
    return PENDING;
  }
  override drop(): void {
    throw new Error(this.message);
  }
}

/** A connected TcpStream pair on 127.0.0.1: [client, server]. */
export function* pair(): Task<[TcpStream, TcpStream]> {
  const listener = yield* TcpListener.bind('127.0.0.1:0');
  const connecting = spawn(TcpStream.connect(listener.localAddress));
  const server = yield* listener.accept();
  const client = yield* connecting;
  listener.close();
  return [client, server];
}

/**
 * A test over one connected pair: runs `body(client, server)` on a fresh executor, closes the
 * streams it left open, and checks that no fd leaked (noLeak).
 */
export function withPair(body: (client: TcpStream, server: TcpStream) => Task<void>): void {
  noLeak(() =>
    run((function* () {
      const [client, server] = yield* pair();
      try {
        yield* body(client, server);
      } finally {
        client[Symbol.dispose]();
        server[Symbol.dispose]();
      }
    })()),
  );
}

// The first listener opens wakeloop's process-wide reserve fd (kept for EMFILE) and the name
// lookup machinery starts lazily: make both happen before any test counts fds.
run((function* () {
  (yield* TcpListener.bind('127.0.0.1:0')).close();
})());
