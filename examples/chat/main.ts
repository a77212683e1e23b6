/**
 * `wakeloop chat-server [ADDRESS]`: the async-chat server of Programming Rust, on wakeloop.
 * `main` binds, then an accept loop spawns one `serve` task per connection, all sharing one
 * group table, until SIGINT or SIGTERM; then every connection is closed and it exits 0.
 * SIGUSR2 prints a line of counts (connections, tasks, subscriptions, groups) for diagnostics.
 * What it prints is a log: a line that cannot be written (nobody reads stdout) is dropped.
 *
 * @module
 */
import {
  Executor,
  TcpListener,
  formatAddress,
  listenSignals,
  spawn,
  type Task,
  type TcpStream,
} from '../../src/index.js';
import { serve, type ConnectionLimits } from './connection.js';
import { GroupTable } from './group_table.js';
import { asksForHelp } from '../command_line.js';
import { logSync } from './output.js';
import { SERVER_OPTIONS_HELP, parseChatServerArgs } from './server_args.js';

/**
 * What the command line asks for: where to listen, and the server's limits. They bound memory,
 * loosely: members that stop reading can make the groups hold up to
 * maxGroups × capacity × maxLine bytes of posts (each group keeps its last `capacity` posts until
 * every member has taken them), plus per group with members an arena of at most 64 KiB, per
 * connection up to `maxLine` of unfinished input, and per Join a task (at most `maxJoins` per
 * connection). Connections are not capped.
 *
 * @example
 * ```ts
 * const args: ChatServerArgs = { address: '127.0.0.1:8088', capacity: 1000, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 };
 * ```
 */
export interface ChatServerArgs {
  /** `host:port` or `[ipv6]:port`; port 0 picks a free port. */
  readonly address: string;
  /** Posts a group retains for members that fall behind (the broadcast capacity). */
  readonly capacity: number;
  /** Longest request line, in bytes before its `\r\n` or `\n`. */
  readonly maxLine: number;
  /** Most groups that may exist. */
  readonly maxGroups: number;
  /** Most Joins one connection may make. */
  readonly maxJoins: number;
}

const USAGE = 'usage: wakeloop chat-server [ADDRESS] [--capacity N] [--max-line BYTES] [--max-groups N] [--max-joins N]\n' +
  '  ADDRESS is HOST:PORT (default 127.0.0.1:8088; port 0 picks a free one)\n' +
  SERVER_OPTIONS_HELP;

/**
 * Parses `[ADDRESS] [--capacity N] [--max-line BYTES] [--max-groups N] [--max-joins N]`.
 *
 * @example
 * ```ts
 * parseServerArgs(['127.0.0.1:0', '--capacity', '16']);
 * // { ok: true, value: { address: '127.0.0.1:0', capacity: 16, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 } }
 * ```
 */
export function parseServerArgs(argv: readonly string[]): { ok: true; value: ChatServerArgs } | { ok: false; error: string } {
  const parsed = parseChatServerArgs(argv);
  if (!parsed.ok) return parsed;
  const { address, capacity, maxLine, maxGroups, maxJoins } = parsed.value;
  return { ok: true, value: { address, capacity, maxLine, maxGroups, maxJoins } };
}

/** Live connections, for the SIGUSR2 line and the shutdown message. */
interface Counts {
  connections: number;
}

/**
 * The server: binds, serves until SIGINT or SIGTERM, then stops accepting. The connections'
 * tasks are still running when it returns: closing the executor cancels them, and each
 * `serve` closes its stream and its subscriptions on the way out.
 *
 * @example
 * ```ts
 * new Executor().blockOn(chatServer(args, (line) => console.log(line)));
 * ```
 */
export function* chatServer(args: ChatServerArgs, log: (line: string) => void, counts: Counts = { connections: 0 }): Task<void> {
  const listener = yield* TcpListener.bind(args.address);
  const groups = new GroupTable(args);
  const accepting = spawn(acceptLoop(listener, groups, args, counts));
  // The listener installs the handlers now, before the address is announced: a test (or a
  // bench) may send a signal as soon as it reads the line, and none is missed between waits.
  using signals = listenSignals('SIGINT', 'SIGTERM', 'SIGUSR2');
  log(`chat server listening on ${formatAddress(listener.localAddress)}`);
  while ((yield* signals.recv()) === 'SIGUSR2') {
    const tasks = Executor.current().taskCount;
    const held = groups.held;
    log(
      `chat server stats: connections=${counts.connections} tasks=${tasks} subscriptions=${groups.subscriptions} ` +
        `groups=${groups.size} held-posts=${held.posts} arena-bytes=${held.arenaBytes}`,
    );
  }
  accepting.cancel();
  listener.close();
}

/** The book's main loop: one `serve` task per connection, all sharing the group table. */
function* acceptLoop(listener: TcpListener, groups: GroupTable, limits: ConnectionLimits, counts: Counts): Task<void> {
  for (;;) {
    const stream = yield* listener.accept();
    stream.setNoDelay(true); // each packet goes out at once, as the book's client does too
    spawn(connection(stream, groups, limits, counts));
  }
}

/** Runs `serve`, counting the connection, and reports what fails inside it (the book's log_error). */
function* connection(stream: TcpStream, groups: GroupTable, limits: ConnectionLimits, counts: Counts): Task<void> {
  counts.connections++;
  try {
    yield* serve(stream, groups, limits);
  } catch (error) {
    logSync(2, `Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    counts.connections--;
  }
}

/**
 * CLI entry: `wakeloop chat-server [ADDRESS] [--capacity N] [--max-line BYTES] [--max-groups N]`.
 * Returns the exit status: 0 after a signal or `--help`, 1 if it cannot listen, 2 for a bad
 * command line.
 *
 * @example
 * ```ts
 * process.exitCode = main(['127.0.0.1:8088']);
 * ```
 */
export function main(argv: string[]): number {
  if (asksForHelp(argv)) {
    logSync(1, `${USAGE}\n`);
    return 0;
  }
  const args = parseServerArgs(argv);
  if (!args.ok) {
    logSync(2, `chat-server: ${args.error}\n${USAGE}\n`);
    return 2;
  }
  const log = (line: string) => logSync(1, `${line}\n`);
  const counts = { connections: 0 };
  const executor = new Executor();
  try {
    executor.blockOn(chatServer(args.value, log, counts));
  } catch (error) {
    executor.close();
    logSync(2, `chat-server: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const open = counts.connections;
  executor.close();
  log(`chat server stopped; closed ${open} connection(s)`);
  return 0;
}
