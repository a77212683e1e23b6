/**
 * `wakeloop chat-client ADDRESS`: the async-chat client of Programming Rust, on wakeloop. One
 * task sends the commands typed on stdin, another prints what the server sends, both on one
 * executor; the first to finish ends the program, as the book's `race` does: end of input, or
 * the server closing. Stdout is written through the reactor too (see `stdio.ts`), so a reader
 * that stops reading holds up the replies, not the thread: Ctrl-C still ends the program.
 *
 * @module
 */
import {
  BufReader,
  Executor,
  IoError,
  TcpStream,
  listenSignals,
  select,
  type SignalName,
  type Task,
} from '../../src/index.js';
import { parseArgs } from 'node:util';
import { UsageError, readCommandLine } from '../command_line.js';
import { HELP_TEXT, formatFromServer, parseCommand, unrecognizedCommand } from './client_commands.js';
import { writeAllSync } from './output.js';
import { decodeFromServer, encodeFromClient } from './protocol.js';
import { splitAddress } from './server_args.js';
import { Output, Stdin } from './stdio.js';

/** The longest line either side may send us: generous, as the book sets no limit at all. */
const MAX_LINE = 16 << 20;
/** Stdin is UTF-8, as Rust's `lines()` requires; invalid bytes end the program. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A line the client cannot accept: the program prints it and exits 1. */
class ClientError extends Error {}

/** Prints a line on stderr before or after the session (failures), when stdio blocks again. */
function err(line: string): void {
  writeAllSync(2, `${line}\n`);
}

/** The exit status for a signal that ended the client: 128 + its number, as a shell reports it. */
const SIGNAL_STATUS: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Stderr through the reactor, or null without one (`2>&-`): its lines are then dropped. */
function openStderr(): Output | null {
  try {
    return new Output(2);
  } catch (error) {
    if (error instanceof IoError) return null;
    throw error;
  }
}

/**
 * The client on stdin and stdout: connects, prints the help, then sends commands and prints
 * replies until end of input or until the server closes. Resolves to the exit status: 0 then,
 * 1 if the connection fails or the server sends a line it cannot parse, 128 + N on signal N
 * (SIGINT, SIGTERM).
 *
 * @example
 * ```ts
 * const status = new Executor().blockOn(chatClient('localhost:8088'));
 * ```
 */
export function* chatClient(address: string): Task<number> {
  let socket: TcpStream;
  try {
    socket = yield* TcpStream.connect(address);
  } catch (error) {
    err(`Error: ${(error as Error).message}`);
    return 1;
  }
  try {
    socket.setNoDelay(true);
    // SIGHUP too: the terminal going away must not leave its files non-blocking either.
    using signals = listenSignals('SIGINT', 'SIGTERM', 'SIGHUP');
    const stdin = new Stdin();
    const stdout = new Output(1);
    const stderr = openStderr();
    try {
      // select() polls in order: the help goes out before the first command is read.
      const first = yield* select(handleReplies(socket, stdout), sendCommands(socket, stdin, stderr), signals.recv());
      if (first.index === 2) return SIGNAL_STATUS[first.value as SignalName];
      // Replies still on the way are not waited for, but a line already part-way out is ended.
      const last = yield* select(finishLines(stdout, stderr), signals.recv());
      return last.index === 1 ? SIGNAL_STATUS[last.value as SignalName] : 0;
    } finally {
      // Before exiting: a terminal or a shared pipe must get its blocking mode back.
      stderr?.close();
      stdout.close();
      stdin.close();
    }
  } catch (error) {
    err(`Error: ${(error as Error).message}`);
    return 1;
  } finally {
    socket.close();
  }
}

/** The book's `send_commands`: each line of input that makes a request is sent as JSON. */
function* sendCommands(socket: TcpStream, stdin: Stdin, stderr: Output | null): Task<void> {
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
    if (command.kind === 'unrecognized') {
      if (stderr !== null) yield* stderr.write(`${unrecognizedCommand(command.line)}\n`);
    } else if (command.kind !== 'ignored') {
      yield* socket.writeAll(encodeFromClient(command));
    }
  }
}

/** The help, then the book's `handle_replies`: prints each packet from the server until it closes. */
function* handleReplies(socket: TcpStream, stdout: Output): Task<void> {
  yield* stdout.write(`${HELP_TEXT}\n`);
  const replies = new BufReader(socket, { maxLineBytes: MAX_LINE });
  for (;;) {
    const line = yield* replies.readLine();
    if (line === null) return;
    const packet = decodeFromServer(line);
    if (!packet.ok) throw new ClientError(packet.error);
    yield* stdout.write(`${formatFromServer(packet.value)}\n`);
  }
}

/** Ends the lines that select() left part-way on stdout and stderr. */
function* finishLines(stdout: Output, stderr: Output | null): Task<void> {
  yield* stdout.finish();
  if (stderr !== null) yield* stderr.finish();
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
    return executor.blockOn(chatClient(o.address));
  } catch (error) {
    err(`Error: ${(error as Error).message}`);
    return 1;
  } finally {
    executor.close();
  }
}
