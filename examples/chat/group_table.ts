/**
 * The chat server's table of groups: a plain `Map` from a group's name to its {@link Group}.
 *
 * The book guards its table with a plain (blocking) mutex rather than an async one: every
 * method locks, does a few hash-map operations and maybe an allocation, and returns, with no
 * `await` while the lock is held, so an async lock would only add futures to create and poll.
 * wakeloop runs every task of the server on one thread, and none of these methods awaits, so
 * no other task can run in the middle of one: that is the same guarantee with no lock at all.
 * (Should a method ever need to await while the table is inconsistent, it would need wakeloop's
 * async `Mutex`, as `Outbound` does.)
 *
 * @module
 */
import { Group } from './group.js';

/**
 * Every group that was ever joined; groups are never removed (as in the book). At most
 * `maxGroups` exist, so a client cannot grow the table without end; each holds up to `capacity`
 * posts while a member has not taken them (see {@link Group}).
 *
 * @example
 * ```ts
 * const groups = new GroupTable({ capacity: 1000, maxGroups: 10_000 });
 * groups.getOrCreate('dogs')?.post('I love dogs!');
 * ```
 */
export class GroupTable {
  readonly #groups = new Map<string, Group>();
  /** Posts each group retains for subscribers that fall behind. */
  readonly capacity: number;
  /** The most groups that may exist. */
  readonly maxGroups: number;

  constructor(limits: { capacity: number; maxGroups: number }) {
    this.capacity = limits.capacity;
    this.maxGroups = limits.maxGroups;
  }

  /** How many groups exist. */
  get size(): number {
    return this.#groups.size;
  }

  /**
   * The group called `name`, if anyone ever joined it.
   *
   * @example
   * ```ts
   * const group = groups.get('cats'); // undefined: nobody joined 'cats'
   * ```
   */
  get(name: string): Group | undefined {
    return this.#groups.get(name);
  }

  /**
   * The group called `name`, created if needed; undefined if creating it would exceed
   * `maxGroups`.
   *
   * @example
   * ```ts
   * const group = groups.getOrCreate('dogs');
   * if (group === undefined) reply(tooManyGroups(groups.maxGroups));
   * ```
   */
  getOrCreate(name: string): Group | undefined {
    let group = this.#groups.get(name);
    if (group === undefined && this.#groups.size < this.maxGroups) {
      group = new Group(name, this.capacity);
      this.#groups.set(name, group);
    }
    return group;
  }

  /**
   * Open subscriptions over all groups (a connection that joined twice counts twice), for the
   * server's diagnostics.
   *
   * @example
   * ```ts
   * console.log(`${groups.subscriptions} subscriptions`);
   * ```
   */
  get subscriptions(): number {
    let n = 0;
    for (const group of this.#groups.values()) n += group.subscribers;
    return n;
  }

  /**
   * Posts held and arena bytes over all groups, for the server's diagnostics: what the groups
   * keep in memory for their members. A group without members keeps neither.
   *
   * @example
   * ```ts
   * const { posts, arenaBytes } = groups.held;
   * ```
   */
  get held(): { posts: number; arenaBytes: number } {
    let posts = 0;
    let arenaBytes = 0;
    for (const group of this.#groups.values()) {
      posts += group.heldPosts;
      arenaBytes += group.arenaBytes;
    }
    return { posts, arenaBytes };
  }
}
