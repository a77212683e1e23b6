/**
 * What every `wakeloop` demo does the same way with its command line and its output:
 * util.parseArgs reads the options; `--help` prints the usage on stdout (exit 0); an unknown
 * option or a bad value prints the problem and the usage on stderr (exit 2); numbers are plain
 * decimal digits; status lines are dropped, not fatal, once nobody reads stdout.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { parseAddress } from '../src/index.js';
import { say, sayError } from './chat/output.js';

/** The demos' status lines, from the module the `wakeloop` command itself prints with. */
export { say, sayError };

/** A bad command line: its message is printed above the usage, and the exit code is 2. */
export class UsageError extends Error {}

/**
 * True if `argv` asks for the usage (`--help` or `-h` before any `--`), whatever else it holds.
 *
 * @example
 * ```ts
 * asksForHelp(['--port', '0', '--help']); // true
 * ```
 */
export function asksForHelp(argv: readonly string[]): boolean {
  // Not strict: only the tokens matter here, the demo's own parseArgs call judges the rest.
  const { tokens } = parseArgs({ args: [...argv], strict: false, allowPositionals: true, tokens: true });
  return tokens.some((t) => t.kind === 'option' && (t.name === 'help' || t.name === 'h'));
}

/**
 * Reads `command`'s command line with `parse` (which calls util.parseArgs and checks values,
 * throwing a UsageError). Returns what `parse` returns, or the exit code when there is nothing
 * to run: 0 after printing `usage` for `--help`, 2 after printing the problem and `usage` on
 * stderr. Other errors propagate.
 *
 * @example
 * ```ts
 * const options = readCommandLine('socket-read', USAGE, argv, parseOptions);
 * if (typeof options === 'number') return options;
 * ```
 */
export function readCommandLine<T extends object>(command: string, usage: string, argv: string[], parse: (argv: string[]) => T): T | number {
  if (asksForHelp(argv)) {
    say(usage);
    return 0;
  }
  try {
    return parse(argv);
  } catch (error) {
    // util.parseArgs throws a TypeError whose code says what is wrong (ERR_PARSE_ARGS_*).
    const badArgs = String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_');
    if (!(error instanceof UsageError || badArgs)) throw error;
    sayError(`${command}: ${(error as Error).message}\n${usage}`);
    return 2;
  }
}

/**
 * `text` as an integer from `min` to `max`, written in plain decimal digits: '', '0x10', '1e3',
 * ' 7 ', '7.0' and '-1' are refused with a UsageError naming `--flag` and the range.
 *
 * @example
 * ```ts
 * const port = integer('port', values.port, 0, 65535);
 * ```
 */
export function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

/**
 * The value of a host flag (`--host`): a name or a numeric address, written as `{ host }` takes
 * it (an IPv6 address without brackets); whether it resolves shows when the server binds.
 *
 * @example
 * ```ts
 * const host = hostFlag('host', values.host);
 * ```
 */
export function hostFlag(flag: string, text: string): string {
  if (text === '') throw new UsageError(`--${flag} must not be empty`);
  try {
    return parseAddress({ host: text, port: 0 }, `--${flag}`).host;
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}
