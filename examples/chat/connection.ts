/**
 * One chat connection: `serve` reads the client's requests line by line and answers them;
 * `Outbound` is the connection's writing side, shared by `serve` (error replies) and by one
 * subscriber task per group the client joined (posts).
 *
 * @module
 */
import {
  BufReader,
  IoError,
  LineTooLongError,
  Mutex,
  TimeoutError,
  timeout,
  yieldNow,
  type MutexGuard,
  type Task,
  type TcpStream,
} from '../../src/index.js';
import { Batch, Packet } from './batch.js';
import type { Subscription } from './group.js';
import type { GroupTable } from './group_table.js';
import { decodeFromClient, encodeFromServer, groupDoesNotExist, lineTooLong, tooManyGroups, tooManyJoins } from './protocol.js';

/** How long a closing connection may take to finish a write, or to read our last error. */
const LINGER_MS = 5000;

/**
 * The connection's writing side: whole packets, one writer at a time.
 *
 * Several tasks write to one client (its `serve` and a subscriber per group), and a packet
 * written while another is half-sent would interleave their bytes into invalid JSON. So the
 * stream sits behind a lock, and the lock must be wakeloop's async `Mutex`, as the book's is
 * async_std's: the holder keeps it across `yield*` while the socket takes the bytes, which can
 * take long (a slow client), and a task waiting for it must give the thread to the others
 * instead of blocking it.
 *
 * @example
 * ```ts
 * const outbound = new Outbound(stream);
 * yield* outbound.send(Packet.of(encodeFromServer({ kind: 'error', message: groupDoesNotExist('cats') })));
 * ```
 */
export class Outbound {
  readonly #stream: Mutex<TcpStream>;
  /** The packets of the write in progress; only touched under the lock, so one serves all. */
  readonly #batch = new Batch();
  /** Set once the connection is ending: later sends are dropped. */
  #closed = false;

  constructor(stream: TcpStream) {
    this.#stream = new Mutex(stream);
  }

  /**
   * Writes `packet` (if not null), and with `more` whatever it adds to the batch once the lock is
   * held, all in one write when the socket takes it. Throws IoError if the client is gone.
   *
   * @example
   * ```ts
   * yield* outbound.send(first, (batch) => batch.add(second));
   * ```
   */
  *send(packet: Packet | null, more?: (batch: Batch) => void): Task<void> {
    const guard = this.#stream.tryLock() ?? (yield* this.#stream.lock()); // no future when free
    try {
      if (this.#closed) return;
      const batch = this.#batch;
      if (packet !== null) batch.add(packet);
      if (more !== undefined) more(batch);
      yield* batch.writeTo(guard.value);
    } finally {
      this.#batch.clear();
      guard.release();
    }
  }

  /**
   * Ends the sending: waits until `owed()` is false, letting the subscriber tasks write what they
   * took, and for a write in progress to finish (at most LINGER_MS in all); writes `last` if
   * given, and drops every later send. Never throws for a client that is gone or does not read.
   * Returns false if it gave up with a packet half-written: the caller then resets the
   * connection instead of closing it, so the client sees an error, never a cut line and EOF.
   *
   * @example
   * ```ts
   * const whole = yield* outbound.close(encodeFromServer({ kind: 'error', message: lineTooLong(65536) }));
   * ```
   */
  *close(last?: Uint8Array, owed: () => boolean = () => false): Task<boolean> {
    let guard: MutexGuard<TcpStream> | undefined;
    try {
      guard = yield* timeout(LINGER_MS, this.#lockWhenPaid(owed));
      this.#closed = true;
      if (last !== undefined) yield* timeout(LINGER_MS, guard.value.writeAll(last));
      return true;
    } catch (error) {
      if (error instanceof IoError) return true; // the client is gone: nothing left to cut
      if (!(error instanceof TimeoutError)) throw error;
      if (guard !== undefined) return false; // `last` timed out mid-write
      // Timed out waiting: a subscriber holding the lock is mid-write.
      const free = this.#stream.tryLock();
      free?.release();
      return free !== null;
    } finally {
      this.#closed = true;
      guard?.release();
    }
  }

  /**
   * Takes the lock once `owed()` is false. Until then each round lets the others write first: the
   * task holding the lock and those queued for it (it is FIFO), then, by yielding, the subscriber
   * tasks just woken by a post.
   */
  *#lockWhenPaid(owed: () => boolean): Task<MutexGuard<TcpStream>> {
    for (;;) {
      const guard = this.#stream.tryLock() ?? (yield* this.#stream.lock());
      if (!owed()) return guard;
      guard.release();
      yield* yieldNow();
    }
  }
}

/** What one connection may use: its longest request line, and how many Joins it may make. */
export interface ConnectionLimits {
  readonly maxLine: number;
  readonly maxJoins: number;
}

/**
 * Serves one client until it closes or resets the connection: joins, posts, and an error reply
 * for a post to a missing group, a bad line, one group too many or one Join too many (each Join
 * is a subscription with its task: without a cap one client could grow them without end). Blank lines are ignored. A
 * line longer than `maxLine` bytes gets `line too long` and ends the connection. When the client
 * half-closes, it still gets (within LINGER_MS) what was posted before, its own last posts
 * included; if it does not read that in time, the connection is reset rather than closed on a
 * cut line. Every subscription is cancelled and the stream closed on the way out, whatever the
 * reason.
 *
 * @example
 * ```ts
 * spawn(serve(yield* listener.accept(), groups, { maxLine: 65536, maxJoins: 1000 }));
 * ```
 */
export function* serve(stream: TcpStream, groups: GroupTable, limits: ConnectionLimits): Task<void> {
  const { maxLine } = limits;
  const outbound = new Outbound(stream);
  const reader = new BufReader(stream, { maxLineBytes: maxLine });
  const subscriptions: Subscription[] = [];
  /** False once the ending gave up on a half-written packet (see Outbound.close). */
  let whole = true;
  const unsubscribe = (): void => {
    for (const subscription of subscriptions) subscription.cancel();
    subscriptions.length = 0;
  };
  try {
    for (;;) {
      let line: Uint8Array | null;
      try {
        line = yield* reader.readLine();
      } catch (error) {
        if (!(error instanceof LineTooLongError)) throw error;
        // After the posts this client made before the long line, as on a half-close.
        whole = yield* outbound.close(encodeFromServer({ kind: 'error', message: lineTooLong(maxLine) }), owedBefore(subscriptions));
        unsubscribe();
        if (whole) yield* linger(stream);
        return;
      }
      if (line === null) break; // the client half-closed: no more requests
      const outcome = handle(line, groups, outbound, subscriptions, limits.maxJoins);
      if (outcome === CROWDED) {
        yield* yieldNow(); // let the group's subscribers run before posting more
      } else if (outcome !== null) {
        // Let the subscriber tasks woken by this client's earlier posts take the lock first, so
        // it sees its posts and this answer in the order it made them.
        yield* yieldNow();
        yield* outbound.send(Packet.of(encodeFromServer({ kind: 'error', message: outcome })));
      }
    }
    whole = yield* outbound.close(undefined, owedBefore(subscriptions));
  } catch (error) {
    if (!(error instanceof IoError)) throw error; // a reset: end this connection quietly
  } finally {
    unsubscribe();
    if (whole) stream.close();
    else stream.resetAndClose();
  }
}

/** What `handle` returns after a post that left its group crowded (see `Group.crowded`). */
const CROWDED = Symbol('crowded');

/** Carries out one request line; returns the error text to send back, CROWDED or null. */
function handle(line: Uint8Array, groups: GroupTable, outbound: Outbound, subscriptions: Subscription[], maxJoins: number): string | typeof CROWDED | null {
  const decoded = decodeFromClient(line);
  if (!decoded.ok) return decoded.error;
  const request = decoded.value;
  if (request === null) return null; // a blank line
  if (request.kind === 'join') {
    if (subscriptions.length >= maxJoins) return tooManyJoins(maxJoins);
    const group = groups.getOrCreate(request.groupName);
    if (group === undefined) return tooManyGroups(groups.maxGroups);
    subscriptions.push(group.join(outbound));
    return null;
  }
  const group = groups.get(request.groupName);
  if (group === undefined) return groupDoesNotExist(request.groupName);
  group.post(request.message);
  return group.crowded ? CROWDED : null;
}

/** A test that holds while some subscription has not yet taken every post its group had now. */
function owedBefore(subscriptions: readonly Subscription[]): () => boolean {
  const due = subscriptions.map((s) => s.group.posted);
  return () => subscriptions.some((s, i) => s.taken < due[i]);
}

/**
 * After the last packet: sends FIN, then reads and discards until the client closes (at most
 * LINGER_MS). Closing with unread input would reset the connection, and the reset could destroy
 * our last packet before the client read it.
 */
function* linger(stream: TcpStream): Task<void> {
  stream.shutdown('write');
  try {
    yield* timeout(
      LINGER_MS,
      (function* () {
        while ((yield* stream.read()).length > 0);
      })(),
    );
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
  }
}
