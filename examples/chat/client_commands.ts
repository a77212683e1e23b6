/**
 * The book's chat client, minus the I/O: what a typed line means, the help it prints on start,
 * and how it shows what the server sends. Pure, so the wakeloop client and tests share it.
 *
 * @module
 */
import type { FromClient, FromServer } from './protocol.js';

/**
 * What one input line asks for: a request to send, nothing (blank lines, a bare `join` or
 * `post`, a `join` with more after the group), or an unknown command to complain about.
 *
 * @example
 * ```ts
 * const command: Command = parseCommand(line);
 * if (command.kind === 'join' || command.kind === 'post') socket.write(encodeFromClient(command));
 * else if (command.kind === 'unrecognized') console.error(unrecognizedCommand(command.line));
 * ```
 */
export type Command = FromClient | { readonly kind: 'ignored' } | { readonly kind: 'unrecognized'; readonly line: string };

/**
 * The help the client prints (then a newline) when it starts, line for line the book's.
 *
 * @example
 * ```ts
 * console.log(HELP_TEXT);
 * ```
 */
export const HELP_TEXT =
  'Commands:\n' +
  'join GROUP\n' +
  'post GROUP MESSAGE...\n' +
  'Type Control-D (on Unix) or Control-Z (on Windows) to close the connection.';

// Rust's char::is_whitespace (Unicode White_Space). JS's \s differs: it lacks U+0085 and has U+FEFF.
const SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Leading whitespace, then a token (a run of non-whitespace). */
const TOKEN = new RegExp(`^[${SPACE}]*([^${SPACE}]+)`);
const LEADING_SPACE = new RegExp(`^[${SPACE}]+`);

/**
 * Parses a line typed at the client (without its line ending), as the book's client does:
 * `join GROUP` joins (a line with anything after GROUP is ignored, as in the book);
 * `post GROUP MESSAGE...` posts MESSAGE with its leading whitespace trimmed, inner and trailing
 * whitespace kept (`post GROUP` posts an empty message); a blank line or a bare `join`/`post`
 * is ignored; any other first word is unrecognized.
 *
 * @example
 * ```ts
 * parseCommand('post dogs  I love dogs! '); // { kind: 'post', groupName: 'dogs', message: 'I love dogs! ' }
 * parseCommand('leave dogs');               // { kind: 'unrecognized', line: 'leave dogs' }
 * ```
 */
export function parseCommand(line: string): Command {
  const command = nextToken(line);
  if (command === null) return IGNORED;
  const [word, rest] = command;
  if (word === 'post') {
    const group = nextToken(rest);
    if (group === null) return IGNORED;
    return { kind: 'post', groupName: group[0], message: group[1].replace(LEADING_SPACE, '') };
  }
  if (word === 'join') {
    const group = nextToken(rest);
    if (group === null || group[1].replace(LEADING_SPACE, '') !== '') return IGNORED;
    return { kind: 'join', groupName: group[0] };
  }
  return { kind: 'unrecognized', line };
}

/** The one 'ignored' result, shared. */
const IGNORED: Command = { kind: 'ignored' };

/** Splits off the first token of `input`: `[token, rest]`, the rest starting at the whitespace after it. */
function nextToken(input: string): [string, string] | null {
  const m = TOKEN.exec(input);
  return m === null ? null : [m[1], input.slice(m[0].length)];
}

/**
 * The complaint the client writes to stderr for an unrecognized line: the line quoted as
 * Rust's `{:?}` quotes a str.
 *
 * @example
 * ```ts
 * unrecognizedCommand('say "hi"'); // 'Unrecognized command: "say \\"hi\\""'
 * ```
 */
export function unrecognizedCommand(line: string): string {
  return `Unrecognized command: ${debugQuote(line)}`;
}

/** Characters Rust's str Debug writes as `\u{...}`: non-printable ones (except the space) and grapheme extenders. */
const ESCAPED = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}\p{Grapheme_Extend}]/u;
/** The characters Rust's str Debug writes with a backslash and a letter. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\0': '\\0', '\t': '\\t', '\r': '\\r', '\n': '\\n', '\\': '\\\\', '"': '\\"' };

/**
 * Quotes `text` as Rust's `format!("{:?}", text)` does: double quotes, `\"` `\\` `\n` `\r`
 * `\t` `\0`, and `\u{hex}` for control, format, separator (but the space), unassigned and
 * combining characters. Which characters count as printable follows this Node's Unicode
 * tables, which can differ from a given Rust release on very new code points.
 *
 * @example
 * ```ts
 * debugQuote('a\tb\u{1b}'); // '"a\\tb\\u{1b}"'
 * ```
 */
export function debugQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (ch !== ' ' && ESCAPED.test(ch)) out += `\\u{${ch.codePointAt(0)!.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * The line the client prints to stdout for a packet from the server.
 *
 * @example
 * ```ts
 * formatFromServer({ kind: 'message', groupName: 'dogs', message: 'hi' }); // 'message posted to dogs: hi'
 * formatFromServer({ kind: 'error', message: "Group 'cats' does not exist" }); // "error from server: Group 'cats' does not exist"
 * ```
 */
export function formatFromServer(packet: FromServer): string {
  return packet.kind === 'message'
    ? `message posted to ${packet.groupName}: ${packet.message}`
    : `error from server: ${packet.message}`;
}
