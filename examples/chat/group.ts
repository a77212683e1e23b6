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
import { MAX_PACKETS_PER_WRITE, type Outbound } from './connection.js';
import { droppedMessages, encodeFromServer } from './protocol.js';

/**
 * One batch a subscriber hands to its connection at most (plus one post): so what a connection
 * holds outside the group's buffer stays bounded, and a client that does not read lags instead.
 */
const BATCH_BYTES = 64 * 1024;

/**
 * A chat group. `join` subscribes a connection, `post` sends to every current subscriber.
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
  /** The channel's sending half; receivers come from `subscribe()`. */
  readonly #sender: BroadcastSender<Uint8Array>;

  constructor(name: string, capacity: number) {
    this.name = name;
    this.#sender = broadcast<Uint8Array>(capacity);
  }

  /** Open subscriptions (Joins whose connection is still being served). */
  get subscribers(): number {
    return this.#sender.receiverCount;
  }

  /**
   * Subscribes `outbound`'s connection: it gets every post made from now on. The receiver is
   * made here, before this returns, so a post that follows the Join on any connection reaches
   * it; the task that relays the posts is spawned and returned, for the connection to cancel.
   *
   * @example
   * ```ts
   * subscriptions.push(group.join(outbound));
   * ```
   */
  join(outbound: Outbound): JoinHandle<void> {
    return spawn(handleSubscriber(this, this.#sender.subscribe(), outbound));
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
    this.#sender.send(encodeFromServer({ kind: 'message', groupName: this.name, message }));
  }

  /** The error packet reporting `missed` lost posts. */
  dropped(missed: number): Uint8Array {
    return encodeFromServer({ kind: 'error', message: droppedMessages(missed, this.name) });
  }
}

/**
 * Relays one subscription's posts to its connection until the connection goes away (its
 * `serve` cancels this task) or a write fails. Each round waits for one post, then, holding the
 * connection's `Outbound` lock, takes every post already waiting, so a backlog goes out in one
 * write. Closing the receiver in `finally` unsubscribes: the group stops keeping posts for it.
 */
function* handleSubscriber(group: Group, rx: BroadcastReceiver<Uint8Array>, outbound: Outbound): Task<void> {
  const fill = (batch: Uint8Array[], bytes: number) => drain(group, rx, batch, bytes);
  try {
    for (;;) {
      let first: Uint8Array;
      try {
        first = yield* rx.recv();
      } catch (error) {
        if (error instanceof LaggedError) first = group.dropped(error.missed);
        else if (error instanceof RecvClosedError) return; // groups are never closed; for completeness
        else throw error;
      }
      yield* outbound.send(first, fill);
    }
  } catch (error) {
    // The client reset or vanished: its `serve` sees the same and ends the connection.
    if (!(error instanceof IoError)) throw error;
  } finally {
    rx.close();
  }
}

/**
 * Appends to `batch` the posts `rx` already holds, up to about BATCH_BYTES, with a lag report
 * where posts were lost; returns the batch's new size in bytes. Never waits.
 */
function drain(group: Group, rx: BroadcastReceiver<Uint8Array>, batch: Uint8Array[], bytes: number): number {
  while (bytes < BATCH_BYTES && batch.length < MAX_PACKETS_PER_WRITE) {
    const r = rx.tryRecv();
    let packet: Uint8Array;
    if (r.ok) packet = r.value;
    else if (r.reason === 'lagged') packet = group.dropped(r.missed);
    else break; // empty (or closed)
    batch.push(packet);
    bytes += packet.length;
  }
  return bytes;
}
