/**
 * The async-chat server written on plain `node:net`: the libuv reference that the wakeloop
 * chat server is benchmarked against. Same design and wire format (`examples/chat/protocol.ts`):
 * a table of groups, each a bounded broadcast buffer with one cursor per subscriber, posts
 * encoded once, writes coalesced per connection and held back while the socket is congested.
 *
 * Usage: `node dist/bench/chat/node_net_chat_server.js [ADDRESS] [--capacity N]
 * [--max-line BYTES] [--max-groups N]` (default 127.0.0.1:8088; port 0 picks a free one).
 *
 * @module
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  decodeFromClient, droppedMessages,
  encodeFromServer, groupDoesNotExist, lineTooLong, tooManyGroups,
} from '../../examples/chat/protocol.js';
import { parseChatServerArgs } from '../../examples/chat/server_args.js';

/**
 * The server's limits.
 *
 * @example
 * ```ts
 * const options: ChatServerOptions = { capacity: 1000, maxLine: 65536, maxGroups: 10000 };
 * ```
 */
export interface ChatServerOptions {
  /** Posts a group retains for subscribers that fall behind. */
  readonly capacity: number;
  /** Longest accepted line, in bytes before its `\n`. */
  readonly maxLine: number;
  /** Most groups that may exist. */
  readonly maxGroups: number;
}

/** Bytes gathered into one socket.write() at most (plus one post): bounds what a connection queues. */
const WRITE_BATCH = 64 * 1024;
/** How long a connection closed for a too-long line may take to read our error before we reset it. */
const LINGER_MS = 5000;

/** A chat group: the last `capacity` posts, already encoded, and who reads them. */
class Group {
  readonly name: string;
  /** How many posts are retained: the slots of #posts. */
  readonly #capacity: number;
  /** Post `seq` lives in slot `seq % capacity` until overwritten or read by every subscriber. */
  readonly #posts: (Uint8Array | undefined)[];
  /** Per slot, the subscribers that still have to take its post. Invariant: 0 once the slot is cleared. */
  readonly #unread: Uint32Array;
  /** Sequence number of the next post (the number of posts stored so far). */
  #next = 0;
  /** The current Joins; a post goes to each. */
  readonly #subscribers = new Set<Subscription>();

  constructor(name: string, capacity: number) {
    this.name = name;
    this.#capacity = capacity;
    this.#posts = new Array<Uint8Array | undefined>(capacity);
    this.#unread = new Uint32Array(capacity);
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

  /** Forgets `sub`, releasing the retained posts it had not taken yet. */
  unsubscribe(sub: Subscription): void {
    this.#subscribers.delete(sub);
    for (let seq = Math.max(sub.cursor, this.oldest); seq < this.#next; seq++) this.#release(seq);
  }

  /** Encodes `message` once and wakes every subscriber; with none, it goes nowhere (as tokio's send). */
  post(message: string): void {
    if (this.#subscribers.size === 0) return;
    const slot = this.#next++ % this.#capacity;
    this.#posts[slot] = encodeFromServer({ kind: 'message', groupName: this.name, message });
    this.#unread[slot] = this.#subscribers.size;
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

/** One Join: a connection's cursor into a group. Joining twice makes two. */
class Subscription {
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

/** One client: splits its input into lines, answers them, and feeds it its groups' posts. */
class Connection {
  readonly #socket: net.Socket;
  /** For the group table, the limits and flush scheduling. */
  readonly #server: ChatServer;
  /** This connection's Joins, in order. */
  readonly #subscriptions: Subscription[] = [];
  /** Pieces of a line whose `\n` has not arrived; Invariant: #partialBytes <= maxLine. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /**
   * Output waiting for the next write, in the order it happened: replies to this client's own
   * requests, and the posts that came before each reply (see #reply).
   */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  /** False from a write() that returned false until 'drain': meanwhile this client lags. */
  #writable = true;
  /** Which subscription gets the first share of the next batch, so no group starves the others. */
  #turn = 0;
  /** Set once the connection stops serving (FIN, reset, too-long line, shutdown). */
  #closed = false;

  constructor(socket: net.Socket, server: ChatServer) {
    this.#socket = socket;
    this.#server = server;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#writable = true;
      socket.resume();
      this.flush();
    });
    socket.on('error', () => {}); // a reset: 'close' follows, and the others carry on
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => {
      this.#close();
      server.forget(this);
    });
  }

  /** Schedules a flush of this connection after the current I/O callbacks. */
  wake(): void {
    this.#server.schedule(this);
  }

  /** Writes pending replies and posts in batches until done or the socket pushes back. */
  flush(): void {
    while (!this.#closed && this.#writable) {
      const bytes = this.#take(WRITE_BATCH);
      const out = this.#out;
      if (out.length === 0) return;
      this.#out = [];
      this.#outBytes = 0;
      this.#writable = this.#socket.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes));
      if (bytes < WRITE_BATCH) return; // every subscription was emptied
    }
  }

  /** Moves posts from the subscriptions to #out until it holds `budget` bytes; returns its size. */
  #take(budget: number): number {
    const subs = this.#subscriptions;
    for (let i = 0; i < subs.length && this.#outBytes < budget; i++) {
      this.#outBytes += subs[(this.#turn + i) % subs.length].takeInto(this.#out, budget - this.#outBytes);
    }
    this.#turn++;
    return this.#outBytes;
  }

  /** Closes the connection at once, dropping its subscriptions. */
  destroy(): void {
    this.#close();
    this.#socket.destroy();
  }

  /** Splits input into lines, handling each, and enforces the line cap even before the `\n`. */
  #onData(chunk: Buffer): void {
    const maxLine = this.#server.options.maxLine;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1 && !this.#closed; nl = chunk.indexOf(10, start)) {
      let line = chunk.subarray(start, nl);
      if (this.#partialBytes > 0) {
        line = Buffer.concat([...this.#partial, line], this.#partialBytes + line.length);
        this.#partial = [];
        this.#partialBytes = 0;
      }
      start = nl + 1;
      if (line.length > maxLine) return this.#tooLong();
      this.#handle(line);
    }
    if (this.#closed || start === chunk.length) return;
    this.#partialBytes += chunk.length - start;
    if (this.#partialBytes > maxLine) return this.#tooLong();
    this.#partial.push(chunk.subarray(start));
  }

  /** The client half-closed: answer what it asked, then close our side (a partial line is dropped). */
  #onEnd(): void {
    if (this.#closed) return; // already ending: see #tooLong
    const out = this.#out;
    this.#close();
    this.#socket.end(Buffer.concat(out));
  }

  /** Answers one line: join, post, or an error reply. */
  #handle(line: Buffer): void {
    const decoded = decodeFromClient(line);
    if (!decoded.ok) return this.#reply(decoded.error);
    const request = decoded.value;
    if (request === null) return; // a blank line
    if (request.kind === 'join') {
      const group = this.#server.groups.getOrCreate(request.groupName);
      if (group === undefined) return this.#reply(tooManyGroups(this.#server.options.maxGroups));
      this.#subscriptions.push(group.subscribe(this));
    } else {
      const group = this.#server.groups.get(request.groupName);
      if (group === undefined) return this.#reply(groupDoesNotExist(request.groupName));
      group.post(request.message);
    }
  }

  /**
   * Queues an error for this client. While it reads, the posts it is owed go first, so that it
   * sees everything in the order it happened. While it does not, stop reading it too, as the
   * book's server awaits this send: its errors cannot pile up.
   */
  #reply(text: string): void {
    if (this.#writable) this.#take(Infinity);
    else this.#socket.pause();
    const reply = encodeFromServer({ kind: 'error', message: text });
    this.#out.push(reply);
    this.#outBytes += reply.length;
    this.wake();
  }

  /**
   * Sends the too-long error after the queued replies, then closes. Input is still read and
   * discarded until the client closes or LINGER_MS pass: closing with unread input would reset
   * the connection, and the reset could destroy the error before the client reads it.
   */
  #tooLong(): void {
    const out = [...this.#out, encodeFromServer({ kind: 'error', message: lineTooLong(this.#server.options.maxLine) })];
    this.#close();
    this.#socket.end(Buffer.concat(out));
    this.#socket.resume();
    setTimeout(() => this.#socket.destroy(), LINGER_MS).unref();
  }

  /** Stops serving: drops subscriptions and pending output. The socket may still be ending. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of this.#subscriptions) sub.group.unsubscribe(sub);
    this.#subscriptions.length = 0;
    this.#partial = [];
    this.#out = [];
    this.#outBytes = 0;
  }
}

/** The group names in use; groups are never removed. */
class GroupTable {
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

/**
 * The chat server: a listener, its connections and the group table.
 *
 * @example
 * ```ts
 * const server = new ChatServer({ capacity: 1000, maxLine: 65536, maxGroups: 10000 });
 * const address = await server.listen('127.0.0.1', 8088);
 * // ...later
 * server.close();
 * ```
 */
export class ChatServer {
  readonly options: ChatServerOptions;
  readonly groups: GroupTable;
  readonly #listener: net.Server;
  /** Every open socket's connection, so that close() can end them all. */
  readonly #connections = new Set<Connection>();
  /** Connections with something to write, flushed together once per loop turn (setImmediate). */
  readonly #dirty = new Set<Connection>();
  #flushScheduled = false;

  constructor(options: ChatServerOptions) {
    this.options = options;
    this.groups = new GroupTable(options);
    // Half-open, so that a client's FIN still gets the answers to its last lines (see #onEnd).
    this.#listener = net.createServer({ allowHalfOpen: true }, (socket) => this.#connections.add(new Connection(socket, this)));
  }

  /** Starts listening; resolves to the bound address as `host:port` (`[host]:port` for IPv6). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#listener.once('error', reject);
      this.#listener.listen(port, host, () => {
        const a = this.#listener.address() as net.AddressInfo;
        resolve(a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
      });
    });
  }

  /** Stops accepting and closes every connection. */
  close(): void {
    this.#listener.close();
    for (const connection of [...this.#connections]) connection.destroy();
  }

  /** Marks `connection` for the next flush. */
  schedule(connection: Connection): void {
    this.#dirty.add(connection);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      for (const c of this.#dirty) c.flush();
      this.#dirty.clear();
    });
  }

  /** Drops a connection whose socket has closed. */
  forget(connection: Connection): void {
    this.#connections.delete(connection);
    this.#dirty.delete(connection);
  }
}

/**
 * The command line, parsed: where to listen, and the limits.
 *
 * @example
 * ```ts
 * const args: ServerArgs = { host: '127.0.0.1', port: 8088, capacity: 1000, maxLine: 65536, maxGroups: 10000 };
 * ```
 */
export interface ServerArgs extends ChatServerOptions {
  readonly host: string;
  readonly port: number;
}

const USAGE = 'usage: node_net_chat_server [ADDRESS] [--capacity N] [--max-line BYTES] [--max-groups N]';

/**
 * Parses the command line (without node and the script): `[ADDRESS] [--capacity N]
 * [--max-line BYTES] [--max-groups N]`, ADDRESS being `host:port` or `[ipv6]:port`.
 *
 * @example
 * ```ts
 * parseServerArgs(['127.0.0.1:0', '--capacity', '16']);
 * // { ok: true, value: { host: '127.0.0.1', port: 0, capacity: 16, maxLine: 65536, maxGroups: 10000 } }
 * ```
 */
export function parseServerArgs(argv: readonly string[]): { ok: true; value: ServerArgs } | { ok: false; error: string } {
  const parsed = parseChatServerArgs(argv);
  if (!parsed.ok) return parsed;
  const { host, port, capacity, maxLine, maxGroups } = parsed.value;
  return { ok: true, value: { host, port, capacity, maxLine, maxGroups } };
}

/** The CLI: parse, listen, announce the address, stop on SIGINT/SIGTERM. */
async function main(argv: readonly string[]): Promise<void> {
  const args = parseServerArgs(argv);
  if (!args.ok) {
    process.stderr.write(`${args.error}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const server = new ChatServer(args.value);
  let address: string;
  try {
    address = await server.listen(args.value.host, args.value.port);
  } catch (e) {
    process.stderr.write(`cannot listen on ${argv[0] ?? '127.0.0.1:8088'}: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const stop = (): void => server.close(); // the loop then empties and the process exits 0
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Last: whoever waits for this line may signal us at once.
  process.stdout.write(`chat server listening on ${address}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
