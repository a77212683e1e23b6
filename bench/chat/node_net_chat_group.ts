/**
 * The node:net chat server's groups: each a ring of the last `capacity` posts, encoded once,
 * read through one cursor per Join; and the table of groups by name.
 *
 * @module
 */
import { droppedMessages, encodeFromServer } from '../../examples/chat/protocol.js';
import type { Connection } from './node_net_chat_connection.js';
import type { ChatServerOptions } from './node_net_chat_server.js';

/**
 * A chat group: the last `capacity` posts, already encoded, and who reads them.
 *
 * @example
 * ```ts
 * const dogs = new Group('dogs', 1000);
 * const sub = dogs.subscribe(connection);
 * dogs.post('I love dogs!'); // wakes `connection`: its next flush() takes the post through `sub`
 * ```
 */
export class Group {
  readonly name: string;
  /** How many posts are retained: the most slots #posts may have. */
  readonly #capacity: number;
  /**
   * Post `seq` lives in slot `seq % capacity` until overwritten or read by every subscriber. The
   * slots grow with use (pushed on the first lap), so a quiet group costs little.
   */
  #posts: (Uint8Array | undefined)[] = [];
  /** Per slot, the subscribers that still have to take its post. Invariant: 0 once the slot is cleared. */
  #unread: number[] = [];
  /** Sequence number of the next post (the number of posts stored since the group was last empty). */
  #next = 0;
  /** The current Joins; a post goes to each. */
  readonly #subscribers = new Set<Subscription>();

  constructor(name: string, capacity: number) {
    this.name = name;
    this.#capacity = capacity;
  }

  /** Sequence number the next post will get. */
  get next(): number {
    return this.#next;
  }

  /** Sequence number of the oldest post still retained. */
  get oldest(): number {
    return Math.max(0, this.#next - this.#capacity);
  }

  /** A new Join: it receives the posts made from now on. */
  subscribe(connection: Connection): Subscription {
    const sub = new Subscription(this, connection, this.#next);
    this.#subscribers.add(sub);
    return sub;
  }

  /** Forgets `sub`, releasing the retained posts it had not taken yet; the last one frees the slots. */
  unsubscribe(sub: Subscription): void {
    this.#subscribers.delete(sub);
    for (let seq = Math.max(sub.cursor, this.oldest); seq < this.#next; seq++) this.#release(seq);
    if (this.#subscribers.size > 0) return;
    this.#posts = []; // no cursor is left to read them: start again from slot 0
    this.#unread = [];
    this.#next = 0;
  }

  /** Encodes `message` once and wakes every subscriber; with none, it goes nowhere (as tokio's send). */
  post(message: string): void {
    if (this.#subscribers.size === 0) return;
    const slot = this.#next++ % this.#capacity;
    const bytes = encodeFromServer({ kind: 'message', groupName: this.name, message });
    if (slot === this.#posts.length) {
      this.#posts.push(bytes);
      this.#unread.push(this.#subscribers.size);
    } else {
      this.#posts[slot] = bytes;
      this.#unread[slot] = this.#subscribers.size;
    }
    for (const sub of this.#subscribers) sub.connection.wake();
  }

  /** The encoded post `seq` (oldest <= seq < next), counted as taken by one subscriber. */
  take(seq: number): Uint8Array {
    const bytes = this.#posts[seq % this.#capacity]!;
    this.#release(seq);
    return bytes;
  }

  /** One subscriber is done with post `seq`: drop the post once nobody still needs it. */
  #release(seq: number): void {
    const slot = seq % this.#capacity;
    if (--this.#unread[slot] === 0) this.#posts[slot] = undefined;
  }
}

/**
 * One Join: a connection's cursor into a group. Joining twice makes two.
 *
 * @example
 * ```ts
 * const sub = group.subscribe(connection);
 * const out: Uint8Array[] = [];
 * sub.takeInto(out, 64 * 1024); // the posts made since the Join, about 64 KiB at most
 * ```
 */
export class Subscription {
  constructor(readonly group: Group, readonly connection: Connection, public cursor: number) {}

  /**
   * Appends what this subscriber has not received yet to `out`, stopping once about `budget`
   * bytes were added; returns the bytes added. A cursor the group has overrun first gets one
   * `Dropped N messages` report, exactly where the lost posts were.
   */
  takeInto(out: Uint8Array[], budget: number): number {
    const { group } = this;
    let bytes = 0;
    if (this.cursor < group.oldest) {
      const report = encodeFromServer({ kind: 'error', message: droppedMessages(group.oldest - this.cursor, group.name) });
      out.push(report);
      bytes += report.length;
      this.cursor = group.oldest;
    }
    while (this.cursor < group.next && bytes < budget) {
      const post = group.take(this.cursor++);
      out.push(post);
      bytes += post.length;
    }
    return bytes;
  }
}

/**
 * The group names in use; groups are never removed.
 *
 * @example
 * ```ts
 * const groups = new GroupTable({ capacity: 1000, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 });
 * groups.getOrCreate('dogs')?.post('I love dogs!');
 * ```
 */
export class GroupTable {
  readonly #groups = new Map<string, Group>();

  constructor(readonly options: ChatServerOptions) {}

  /** The group called `name`, if anyone ever joined it. */
  get(name: string): Group | undefined {
    return this.#groups.get(name);
  }

  /** The group called `name`, created if needed; undefined if that would exceed maxGroups. */
  getOrCreate(name: string): Group | undefined {
    let group = this.#groups.get(name);
    if (group === undefined && this.#groups.size < this.options.maxGroups) {
      group = new Group(name, this.options.capacity);
      this.#groups.set(name, group);
    }
    return group;
  }
}
