/**
 * `wakeloop chat-client ADDRESS`: the async-chat client of Programming Rust, on wakeloop. One
 * task sends the commands typed on stdin, another prints what the server sends, both on one
 * executor; the first to finish ends the program, as the book's `race` does: end of input, or
 * the server closing. Output goes through the reactor too (see `async_output.ts`), so a stalled
 * terminal or pipe holds back only the printing, never the signals that end the client.
 *
 * @module
 */
import {
  BufReader,
  Executor,
  TcpStream,
  type Future,
  select,
  signal,
  type Task,
} from '../../src/index.js';
import { parseArgs } from 'node:util';
import { UsageError, readCommandLine } from '../command_line.js';
import { HELP_TEXT, formatFromServer, parseCommand, unrecognizedCommand } from './client_commands.js';
import { AsyncOutput } from './async_output.js';
import { logSync } from './output.js';
import { decodeFromServer, encodeFromClient } from './protocol.js';
import { splitAddress } from './server_args.js';
import { Stdin } from './stdin.js';

/** The longest line either side may send us: generous, as the book sets no limit at all. */
const MAX_LINE = 16 << 20;
/** Stdin is UTF-8, as Rust's `lines()` requires; invalid bytes end the program. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The exit status for a signal that ended the client: 128 + its number, as a shell reports it. */
const SIGNAL_STATUS: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGQUIT: 131, SIGTERM: 143 };

/** A line the client cannot accept: the program prints it and exits 1. */
class ClientError extends Error {}

/**
 * Where the client writes: stdout lines (help, messages, errors from the server) and stderr
 * lines (unrecognized commands, failures). Each write is ready once its line is out; a write
 * dropped midway (the program ending) leaves the rest of its line for `flush()`.
 *
 * @example
 * ```ts
 * const stdout = new AsyncOutput(1, 'stdout');
 * const stderr = new AsyncOutput(2, 'stderr');
 * const io: ClientOutput = {
 *   out: (line) => stdout.write(`${line}\n`),
 *   err: (line) => stderr.write(`${line}\n`),
 *   flush: () => stdout.flush(),
 * };
 * ```
 */
export interface ClientOutput {
  out(line: string): Future<void>;
  err(line: string): Future<void>;
  flush(): Future<void>;
}

/**
 * The client: connects, prints the help, then sends commands and prints replies until end of
 * input or until the server closes. Resolves to the exit status: 0 then, 1 if the connection
 * fails or the server sends a line it cannot parse, 128 + N on signal N (SIGHUP, SIGINT,
 * SIGQUIT, SIGTERM).
 *
 * @example
 * ```ts
 * const status = new Executor().blockOn(chatClient('localhost:8088', output));
 * ```
 */
export function* chatClient(address: string, io: ClientOutput): Task<number> {
  // The signals race the whole session, so they end it wherever it waits, printing included.
  // SIGHUP and SIGQUIT too: a terminal that goes away, or Ctrl-\, must not leave stdin (and a
  // terminal's stdout with it) non-blocking either. The dropped session's finally restores it.
  const first = yield* select(session(address, io), signal('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'));
  return first.index === 0 ? first.value : SIGNAL_STATUS[first.value];
}

/** Connects, prints the help, then runs the book's two halves until one ends. */
function* session(address: string, io: ClientOutput): Task<number> {
  let socket: TcpStream | null = null;
  let stdin: Stdin | null = null;
  try {
    socket = yield* TcpStream.connect(address);
    socket.setNoDelay(true);
    yield* io.out(HELP_TEXT);
    stdin = new Stdin();
    yield* select(sendCommands(socket, stdin, io), handleReplies(socket, io));
    yield* io.flush(); // end of input may have cut a reply's printing short: finish that line
    return 0;
  } catch (error) {
    yield* io.err(`Error: ${(error as Error).message}`);
    return 1;
  } finally {
    // After the printing above: on a terminal, stdin's blocking mode is stdout's too.
    stdin?.close();
    socket?.close();
  }
}

/** The book's `send_commands`: each line of input that makes a request is sent as JSON. */
function* sendCommands(socket: TcpStream, stdin: Stdin, io: ClientOutput): Task<void> {
  const lines = new BufReader(stdin, { maxLineBytes: MAX_LINE });
  for (;;) {
    const bytes = yield* lines.readLine();
    if (bytes === null) return; // end of input: done, without waiting for replies in flight
    let line: string;
    try {
      line = utf8.decode(bytes);
    } catch {
      throw new ClientError('stream did not contain valid UTF-8');
    }
    const command = parseCommand(line);
    if (command.kind === 'unrecognized') yield* io.err(unrecognizedCommand(command.line));
    else if (command.kind !== 'ignored') yield* socket.writeAll(encodeFromClient(command));
  }
}

/** The book's `handle_replies`: prints each packet from the server until it closes. */
function* handleReplies(socket: TcpStream, io: ClientOutput): Task<void> {
  const replies = new BufReader(socket, { maxLineBytes: MAX_LINE });
  for (;;) {
    const line = yield* replies.readLine();
    if (line === null) return;
    const packet = decodeFromServer(line);
    if (!packet.ok) throw new ClientError(packet.error);
    yield* io.out(formatFromServer(packet.value));
  }
}

const USAGE = 'usage: wakeloop chat-client ADDRESS\n  ADDRESS is HOST:PORT, e.g. 127.0.0.1:8088 or localhost:8088';

/** Reads the command line: one HOST:PORT. Throws a UsageError (or parseArgs' TypeError). */
function parseOptions(argv: string[]): { address: string } {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new UsageError('missing ADDRESS');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const [address] = positionals;
  if (splitAddress(address) === null) throw new UsageError(`bad address '${address}', expected HOST:PORT`);
  return { address };
}

/**
 * CLI entry: `wakeloop chat-client ADDRESS` (`host:port`; a host name is resolved). Returns
 * the exit status as {@link chatClient} does, 0 for `--help`, or 2 for a bad command line
 * (an address not written HOST:PORT included).
 *
 * @example
 * ```ts
 * process.exitCode = main(['127.0.0.1:8088']);
 * ```
 */
export function main(argv: string[]): number {
  const o = readCommandLine('chat-client', USAGE, argv, parseOptions);
  if (typeof o === 'number') return o;
  const executor = new Executor();
  try {
    return executor.blockOn(onTerminal(o.address));
  } catch (error) {
    logSync(2, `Error: ${(error as Error).message}\n`);
    return 1;
  } finally {
    executor.close();
  }
}

/** {@link chatClient} printing to this process's stdout and stderr. */
function* onTerminal(address: string): Task<number> {
  const stdout = new AsyncOutput(1, 'stdout');
  try {
    const stderr = new AsyncOutput(2, 'stderr');
    try {
      return yield* chatClient(address, {
        out: (line) => stdout.write(`${line}\n`),
        err: (line) => stderr.write(`${line}\n`),
        flush: () => stdout.flush(),
      });
    } finally {
      stderr.close();
    }
  } finally {
    stdout.close();
  }
}
