/**
 * A chat group: a wakeloop `broadcast` channel of encoded posts, one subscriber task per Join.
 *
 * The group has to serve three needs that pull against each other, as the book explains: a
 * member that cannot keep up (a slow link, a client that stopped reading) must not hold back
 * the others; a member that fell behind must be able to rejoin the conversation; and the
 * memory spent on buffering must stay bounded. A broadcast channel is the usual compromise: it
 * keeps the last `capacity` posts, each stored once and shared by every receiver; a receiver
 * that falls further behind loses the oldest ones, is told how many once (`LaggedError`), and
 * carries on from the oldest post still held. The subscriber task turns that into one
 * `Dropped N messages from GROUP.` error, exactly where the lost posts would have been.
 *
 * @module
 */
import {
  LaggedError,
  RecvClosedError,
  IoError,
  broadcast,
  spawn,
  type BroadcastReceiver,
  type BroadcastSender,
  type JoinHandle,
  type Task,
} from '../../src/index.js';
import { Packet, type Batch } from './batch.js';
import type { Outbound } from './connection.js';
import { droppedMessages, encodeFromServer } from './protocol.js';

/**
 * One batch a subscriber hands to its connection at most (plus one post): so what a connection
 * holds outside the group's buffer stays bounded, and a client that does not read lags instead.
 */
const BATCH_BYTES = 64 * 1024;
/** The largest arena a group encodes its posts into (a longer post gets one of its own size). */
const ARENA_BYTES = 64 * 1024;
/** A group's first arena: a quiet group costs little more than its posts. */
const FIRST_ARENA_BYTES = 512;
/** The arena of a group that has nothing encoded: the first post makes a real one. */
const EMPTY = new Uint8Array(0);

/**
 * A chat group. `join` subscribes a connection, `post` sends to every current subscriber.
 *
 * Memory: the channel holds the last `capacity` posts until every subscriber has taken them
 * (or lagged past them), plus the arena being filled: at most ARENA_BYTES, sized to the
 * group's traffic. A group whose last subscriber left holds neither.
 *
 * @example
 * ```ts
 * const dogs = new Group('dogs', 1000);
 * const subscription = dogs.join(outbound); // a task relaying the posts to that connection
 * dogs.post('I love dogs!');
 * ```
 */
export class Group {
  readonly name: string;
  /** The channel's sending half; receivers come from `subscribe()`. Replaced when the last subscriber leaves. */
  #sender: BroadcastSender<Packet>;
  /** Posts since a subscriber task last took some: see `crowded`. */
  #unrelayed = 0;
  /** Posts sent on the current channel (the channel's sequence number of the next one). */
  #posted = 0;
  /**
   * Where posts are encoded, one after the other, so that a subscriber's backlog is one run of
   * bytes it can write without copying. A full arena is replaced (by one twice as large, up to
   * ARENA_BYTES), not reused: the posts in it live on, as views, until every subscriber has
   * written them (or lagged past them).
   */
  #arena = EMPTY;
  #used = 0;

  constructor(name: string, capacity: number) {
    this.name = name;
    this.#sender = broadcast<Packet>(capacity);
  }

  /**
   * True once half the group's capacity was posted without any subscriber task running: its
   * posters should yield then. Lines arrive many per read, so one poster (or several) could
   * otherwise pass the whole capacity before the subscribers run once, and even members that
   * read at once would lag. Checked per group, not per poster, so that many posters count
   * together; and not lower, because the posts of one turn go out in one write per member.
   */
  get crowded(): boolean {
    return this.#unrelayed * 2 >= this.#sender.capacity;
  }

  /** @internal A subscriber task took posts: the group is no longer crowded. */
  relayed(): void {
    this.#unrelayed = 0;
  }

  /**
   * @internal A subscriber left. After the last one nothing the group holds can be read any
   * more: drop the arena, and the channel with its slots (which grow to `capacity` and stay).
   */
  left(): void {
    if (this.#sender.receiverCount > 0 || this.#posted === 0) return; // in use, or nothing to drop
    this.#sender = broadcast<Packet>(this.#sender.capacity);
    this.#posted = 0;
    this.#unrelayed = 0;
    this.#arena = EMPTY;
    this.#used = 0;
  }

  /** Open subscriptions (Joins whose connection is still being served). */
  get subscribers(): number {
    return this.#sender.receiverCount;
  }

  /** Posts the channel still holds for a subscriber that has not taken them. */
  get heldPosts(): number {
    return this.#sender.len;
  }

  /** Bytes of the arena being filled (0 once the last subscriber left). */
  get arenaBytes(): number {
    return this.#arena.length;
  }

  /** @internal Posts sent on the current channel, to measure what a subscription has taken. */
  get posted(): number {
    return this.#posted;
  }

  /**
   * Subscribes `outbound`'s connection: it gets every post made from now on. The receiver is
   * made here, before this returns, so a post that follows the Join on any connection reaches
   * it; the task that relays the posts is spawned, for the connection to cancel.
   *
   * @example
   * ```ts
   * subscriptions.push(group.join(outbound));
   * ```
   */
  join(outbound: Outbound): Subscription {
    return new Subscription(this, this.#sender.subscribe(), outbound);
  }

  /**
   * Sends `message` to every subscriber. It is encoded once, here: every subscriber writes the
   * same bytes. With no subscriber it goes nowhere, as the book's `send` without receivers.
   *
   * @example
   * ```ts
   * group.post('hello');
   * ```
   */
  post(message: string): void {
    if (this.#sender.receiverCount === 0) return;
    const packet = encodeFromServer({ kind: 'message', groupName: this.name, message });
    if (this.#used + packet.length > this.#arena.length) {
      const size = Math.min(ARENA_BYTES, this.#arena.length * 2 || FIRST_ARENA_BYTES);
      this.#arena = new Uint8Array(Math.max(size, packet.length));
      this.#used = 0;
    }
    const start = this.#used;
    this.#arena.set(packet, start);
    this.#used += packet.length;
    this.#sender.send(new Packet(this.#arena, start, this.#used));
    this.#posted++;
    this.#unrelayed++;
  }

  /** The error packet reporting `missed` lost posts. */
  dropped(missed: number): Packet {
    return Packet.of(encodeFromServer({ kind: 'error', message: droppedMessages(missed, this.name) }));
  }
}

/**
 * One Join: the task relaying a group's posts to a connection, and how far it got.
 *
 * @example
 * ```ts
 * const subscription = group.join(outbound);
 * const due = group.posted;
 * // later: subscription.taken >= due once it has taken every post made before
 * subscription.cancel();
 * ```
 */
export class Subscription {
  readonly group: Group;
  readonly #rx: BroadcastReceiver<Packet>;
  readonly #task: JoinHandle<void>;
  /** 1 while the task holds a post or a lag it took but has not yet put in a batch under the lock. */
  #unbatched = 0;
  /** Posts lost to lag that the next batch reports, merged with any lost while it waits for the lock. */
  #missed = 0;

  /** Made by `Group.join()`: subscribes with `rx` and spawns the task relaying to `outbound`. */
  constructor(group: Group, rx: BroadcastReceiver<Packet>, outbound: Outbound) {
    this.group = group;
    this.#rx = rx;
    this.#task = spawn(this.#relay(outbound));
  }

  /**
   * How many of the group's posts (counted as `group.posted` counts them) the task has taken
   * from the channel, or lagged past, and put in a batch; Infinity once it has ended. Whoever
   * then takes the connection's `Outbound` lock finds them written (a batch is written before
   * the lock is released).
   */
  get taken(): number {
    return this.#rx.closed ? Infinity : this.group.posted - this.#rx.len - this.#unbatched;
  }

  /** Ends the task and closes its receiver, so the group stops keeping posts for it. */
  cancel(): void {
    this.#task.cancel();
    // A task cancelled before its first step never entered its `try`: its `finally` did not run.
    this.#rx.close();
    this.group.left();
  }

  /**
   * Relays the posts to the connection until the connection goes away (its `serve` cancels this
   * task) or a write fails. Each round waits for one post, then, holding the connection's
   * `Outbound` lock, takes every post already waiting, so a backlog goes out in one write.
   * Closing the receiver in `finally` unsubscribes: the group stops keeping posts for it.
   */
  *#relay(outbound: Outbound): Task<void> {
    const { group } = this;
    const rx = this.#rx;
    const fill = (batch: Batch) => {
      this.#unbatched = 0;
      const missed = this.#missed;
      this.#missed = 0;
      drain(group, rx, batch, missed);
    };
    try {
      for (;;) {
        let first: Packet | null = null;
        try {
          first = yield* rx.recv();
        } catch (error) {
          // Reported by `fill`, once the lock is ours: the receiver may lag again meanwhile, and
          // the two gaps are one gap to the client, so one `Dropped` report.
          if (error instanceof LaggedError) this.#missed = error.missed;
          else if (error instanceof RecvClosedError) return; // groups are never closed; for completeness
          else throw error;
        }
        // The lock may already be on its way to a closing `serve` that has not run yet, so
        // `first` can wait behind it: until `fill` runs, `taken` must not count it, or that
        // close would find nothing owed and drop it.
        this.#unbatched = 1;
        group.relayed();
        yield* outbound.send(first, fill);
      }
    } catch (error) {
      // The client reset or vanished: its `serve` sees the same and ends the connection.
      if (!(error instanceof IoError)) throw error;
    } finally {
      rx.close();
      group.left();
    }
  }
}

/**
 * Adds to `batch` the posts `rx` already holds, up to about BATCH_BYTES, with one lag report
 * where posts were lost (`missed` of them already, before the first). Never waits.
 */
function drain(group: Group, rx: BroadcastReceiver<Packet>, batch: Batch, missed: number): void {
  while (batch.bytes < BATCH_BYTES) {
    const r = rx.tryRecv();
    if (r.ok) {
      if (missed > 0) {
        batch.add(group.dropped(missed));
        missed = 0;
      }
      batch.add(r.value);
    } else if (r.reason === 'lagged') {
      missed += r.missed; // gaps with no post between them are one gap
    } else {
      break; // empty (or closed)
    }
  }
  if (missed > 0) batch.add(group.dropped(missed));
}
