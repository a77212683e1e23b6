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
import { asksForHelp } from '../../examples/command_line.js';
import { parseChatServerArgs } from '../../examples/chat/server_args.js';
import { Connection } from './node_net_chat_connection.js';
import { GroupTable } from './node_net_chat_group.js';
import { isProgram } from '../is_program.js';

/**
 * The server's limits. They bound memory, loosely: members that stop reading can make the groups
 * hold up to maxGroups × capacity × maxLine bytes of posts, plus per connection up to `maxLine`
 * of unfinished input; at most `maxJoins` Joins per connection; connections are not capped.
 *
 * @example
 * ```ts
 * const options: ChatServerOptions = { capacity: 1000, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 };
 * ```
 */
export interface ChatServerOptions {
  /** Posts a group retains for subscribers that fall behind. */
  readonly capacity: number;
  /** Longest accepted line, in bytes before its `\r\n` or `\n`. */
  readonly maxLine: number;
  /** Most groups that may exist. */
  readonly maxGroups: number;
  /** Most Joins one connection may make. */
  readonly maxJoins: number;
}

/**
 * The chat server: a listener, its connections and the group table.
 *
 * @example
 * ```ts
 * const server = new ChatServer({ capacity: 1000, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 });
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
 * const args: ServerArgs = { host: '127.0.0.1', port: 8088, capacity: 1000, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 };
 * ```
 */
export interface ServerArgs extends ChatServerOptions {
  readonly host: string;
  readonly port: number;
}

const USAGE = 'usage: node_net_chat_server [ADDRESS] [--capacity N] [--max-line BYTES] [--max-groups N] [--max-joins N]';

/**
 * Parses the command line (without node and the script): `[ADDRESS] [--capacity N]
 * [--max-line BYTES] [--max-groups N] [--max-joins N]`, ADDRESS being `host:port` or `[ipv6]:port`.
 *
 * @example
 * ```ts
 * parseServerArgs(['127.0.0.1:0', '--capacity', '16']);
 * // { ok: true, value: { host: '127.0.0.1', port: 0, capacity: 16, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 } }
 * ```
 */
export function parseServerArgs(argv: readonly string[]): { ok: true; value: ServerArgs } | { ok: false; error: string } {
  const parsed = parseChatServerArgs(argv);
  if (!parsed.ok) return parsed;
  const { host, port, capacity, maxLine, maxGroups, maxJoins } = parsed.value;
  return { ok: true, value: { host, port, capacity, maxLine, maxGroups, maxJoins } };
}

/** The CLI: parse, listen, announce the address, stop on SIGINT/SIGTERM. */
async function main(argv: readonly string[]): Promise<void> {
  if (asksForHelp(argv)) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
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

if (isProgram(import.meta.url)) {
  await main(process.argv.slice(2));
}
