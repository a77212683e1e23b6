// The chat server's command line, shared by wakeloop's server and the node:net reference server
// (pure: no I/O, no wakeloop imports).
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULT_GROUP_CAPACITY, DEFAULT_MAX_GROUPS, DEFAULT_MAX_JOINS, DEFAULT_MAX_LINE } from './protocol.js';

/** The largest `--capacity`: wakeloop's `broadcast()` takes no more (2^30). */
const MAX_CAPACITY = 2 ** 30;
/** The largest `--max-line`: wakeloop's `BufReader` takes no more (2^31 - 1). */
const MAX_LINE = 2 ** 31 - 1;
/** The largest `--max-groups`: a V8 `Map` holds no more entries (2^24). */
const MAX_GROUPS = 2 ** 24;

/** The options with their defaults and limits, for a usage text. */
export const SERVER_OPTIONS_HELP =
  `  --capacity N        posts a group keeps for members that fall behind (default ${DEFAULT_GROUP_CAPACITY}, at most 2^30)\n` +
  `  --max-line BYTES    longest request line (default ${DEFAULT_MAX_LINE}, at most 2^31 - 1)\n` +
  `  --max-groups N      groups at once (default ${DEFAULT_MAX_GROUPS}, at most 2^24)\n` +
  `  --max-joins N       Joins one connection may make (default ${DEFAULT_MAX_JOINS}, at most 2^24)`;

/** `[ADDRESS] [--capacity N] [--max-line BYTES] [--max-groups N] [--max-joins N]`, parsed. */
export interface ParsedServerArgs {
  /** As given: `host:port` or `[ipv6]:port` (default 127.0.0.1:8088). */
  address: string;
  host: string;
  port: number;
  capacity: number;
  maxLine: number;
  maxGroups: number;
  /** Joins one connection may make. */
  maxJoins: number;
}

/**
 * Parses the chat server's command line; an error result carries a message for the user.
 *
 * @example
 * ```ts
 * parseChatServerArgs(['[::1]:0', '--capacity', '16']);
 * // { ok: true, value: { address: '[::1]:0', host: '::1', port: 0, capacity: 16, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 } }
 * ```
 */
export function parseChatServerArgs(argv: readonly string[]): { ok: true; value: ParsedServerArgs } | { ok: false; error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { capacity: { type: 'string' }, 'max-line': { type: 'string' }, 'max-groups': { type: 'string' }, 'max-joins': { type: 'string' } },
    });
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) return { ok: false, error: `unexpected argument '${positionals[1]}'` };
  const address = positionals[0] ?? '127.0.0.1:8088';
  const hostPort = splitAddress(address);
  if (hostPort === null) return { ok: false, error: `bad address '${address}', expected HOST:PORT` };
  const capacity = positiveInteger('capacity', values.capacity, DEFAULT_GROUP_CAPACITY, MAX_CAPACITY);
  const maxLine = positiveInteger('max-line', values['max-line'], DEFAULT_MAX_LINE, MAX_LINE);
  const maxGroups = positiveInteger('max-groups', values['max-groups'], DEFAULT_MAX_GROUPS, MAX_GROUPS);
  const maxJoins = positiveInteger('max-joins', values['max-joins'], DEFAULT_MAX_JOINS, MAX_GROUPS);
  for (const n of [capacity, maxLine, maxGroups, maxJoins]) if (typeof n === 'string') return { ok: false, error: n };
  return {
    ok: true,
    value: { address, ...hostPort, capacity: +capacity, maxLine: +maxLine, maxGroups: +maxGroups, maxJoins: +maxJoins },
  };
}

/**
 * Splits `host:port` or `[ipv6]:port` (port 0 to 65535, in decimal digits); null if `address`
 * is not written that way, as wakeloop's bind and connect read it: brackets hold an IPv6
 * address and nothing else, and zone ids (`%eth0`) are not taken. The host is not looked up.
 *
 * @example
 * ```ts
 * splitAddress('[::1]:8088'); // { host: '::1', port: 8088 }
 * splitAddress('[127.0.0.1]:8088'); // null
 * ```
 */
export function splitAddress(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]%]+)\]|([^:[\]%]+)):(\d{1,5})$/.exec(address);
  if (m === null || Number(m[3]) > 65535) return null;
  if (m[1] !== undefined && isIP(m[1]) !== 6) return null;
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** `text` as an integer in 1..max, `fallback` if absent, or an error text. */
function positiveInteger(flag: string, text: string | undefined, fallback: number, max: number): number | string {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n === 0) return `--${flag} must be a positive integer, got '${text}'`;
  return n <= max ? n : `--${flag} must be at most ${max}, got '${text}'`;
}
