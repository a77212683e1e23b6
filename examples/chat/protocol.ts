/**
 * The async-chat wire protocol of the Programming Rust book, byte for byte: one JSON value per
 * line, serde's externally tagged enums (`{"Join":{...}}`), compact JSON answers ending in `\n`.
 * Pure: no I/O and no wakeloop imports, so a node:net server and a wakeloop server share it.
 * The rules are those of `shared/chat-protocol.md`.
 *
 * @module
 */
import { Buffer } from 'node:buffer';

/**
 * A request from a client: join a group, or post a message to one (the book's `FromClient`).
 *
 * @example
 * ```ts
 * const request: FromClient = { kind: 'post', groupName: 'dogs', message: 'I love dogs!' };
 * ```
 */
export type FromClient =
  | { readonly kind: 'join'; readonly groupName: string }
  | { readonly kind: 'post'; readonly groupName: string; readonly message: string };

/**
 * A packet from the server: a post relayed from a group, or an error report (the book's
 * `FromServer`; the error's text is `message`, as the book names it).
 *
 * @example
 * ```ts
 * const packet: FromServer = { kind: 'error', message: groupDoesNotExist('cats') };
 * ```
 */
export type FromServer =
  | { readonly kind: 'message'; readonly groupName: string; readonly message: string }
  | { readonly kind: 'error'; readonly message: string };

/**
 * What a decode returns: the value, or the full error text to report.
 *
 * @example
 * ```ts
 * const r: Decoded<FromClient | null> = decodeFromClient(line);
 * if (!r.ok) reply(r.error);
 * ```
 */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * The default cap on one request line, in bytes before its `\n` (`--max-line`).
 *
 * @example
 * ```ts
 * if (line.length > DEFAULT_MAX_LINE) socket.end(encodeFromServer({ kind: 'error', message: lineTooLong(DEFAULT_MAX_LINE) }));
 * ```
 */
export const DEFAULT_MAX_LINE = 65536;

/**
 * How many posts a group retains for subscribers that fall behind (the book's broadcast
 * channel capacity; tokio rounds it up to 1024, the protocol says 1000).
 *
 * @example
 * ```ts
 * const group = new Group(name, DEFAULT_GROUP_CAPACITY);
 * ```
 */
export const DEFAULT_GROUP_CAPACITY = 1000;

/**
 * The default cap on the number of groups (`--max-groups`); a Join that would create one more
 * is answered with {@link tooManyGroups}.
 *
 * @example
 * ```ts
 * if (groups.size >= DEFAULT_MAX_GROUPS) return tooManyGroups(DEFAULT_MAX_GROUPS);
 * ```
 */
export const DEFAULT_MAX_GROUPS = 10_000;

/**
 * The error text for a Post to a group nobody ever joined.
 *
 * @example
 * ```ts
 * groupDoesNotExist('cats'); // "Group 'cats' does not exist"
 * ```
 */
export function groupDoesNotExist(name: string): string {
  return `Group '${name}' does not exist`;
}

/**
 * The error text a lagging subscriber gets where `count` posts to `group` were lost
 * (count first, group last, a full stop: the book's code, not its slide).
 *
 * @example
 * ```ts
 * droppedMessages(16311, 'dogs'); // "Dropped 16311 messages from dogs."
 * ```
 */
export function droppedMessages(count: number, group: string): string {
  return `Dropped ${count} messages from ${group}.`;
}

/**
 * The error text sent before closing a connection whose line exceeds `limit` bytes.
 *
 * @example
 * ```ts
 * lineTooLong(65536); // "line too long (limit 65536 bytes)"
 * ```
 */
export function lineTooLong(limit: number): string {
  return `line too long (limit ${limit} bytes)`;
}

/**
 * The error text for a Join that would create a group beyond the server's limit.
 *
 * @example
 * ```ts
 * tooManyGroups(10000); // "too many groups (limit 10000)"
 * ```
 */
export function tooManyGroups(limit: number): string {
  return `too many groups (limit ${limit})`;
}

// Invalid UTF-8 throws instead of becoming U+FFFD; a BOM is kept so JSON.parse rejects it, as
// serde_json does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** A UTF-16 surrogate without its other half: JSON.parse accepts `"\ud800"`, serde does not. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Decodes one request line (with or without its `\n`) the way the book's server would, with
 * wakeloop's stricter rules: a blank line gives `value: null` (to be ignored); any other line
 * that is not exactly one well-formed request gives `ok: false` and the error text to send
 * back, `invalid request: <what was wrong>`. Keys may come in any order, unknown keys are
 * ignored, and serde's array form (`{"Post":["dogs","hi"]}`) is accepted. Unlike serde, a key
 * given twice (a field or the variant) keeps its last value, as JSON.parse does.
 *
 * @example
 * ```ts
 * const r = decodeFromClient(Buffer.from('{"Join":{"group_name":"dogs"}}\n'));
 * // r = { ok: true, value: { kind: 'join', groupName: 'dogs' } }
 * ```
 */
export function decodeFromClient(line: Uint8Array): Decoded<FromClient | null> {
  const parsed = parseLine(line, 'invalid request: ');
  if (parsed === BLANK) return { ok: true, value: null };
  if (!parsed.ok) return parsed;
  const v = variant(parsed.value, ['Join', 'Post'], 'invalid request: ');
  if (!v.ok) return v;
  if (v.value.name === 'Join') {
    const f = fields(v.value, ['group_name'], 'invalid request: ');
    return f.ok ? { ok: true, value: { kind: 'join', groupName: f.value[0] } } : f;
  }
  const f = fields(v.value, ['group_name', 'message'], 'invalid request: ');
  return f.ok ? { ok: true, value: { kind: 'post', groupName: f.value[0], message: f.value[1] } } : f;
}

/**
 * Decodes one line from the server for the client. Anything but a well-formed packet, a blank
 * line included (serde fails on it too), gives `ok: false` with an `invalid reply: ...` text,
 * after which the client exits with status 1.
 *
 * @example
 * ```ts
 * const r = decodeFromServer(Buffer.from('{"Error":"Group \'cats\' does not exist"}\n'));
 * // r = { ok: true, value: { kind: 'error', message: "Group 'cats' does not exist" } }
 * ```
 */
export function decodeFromServer(line: Uint8Array): Decoded<FromServer> {
  const parsed = parseLine(line, 'invalid reply: ');
  if (parsed === BLANK) return { ok: false, error: 'invalid reply: empty line' };
  if (!parsed.ok) return parsed;
  const v = variant(parsed.value, ['Message', 'Error'], 'invalid reply: ');
  if (!v.ok) return v;
  if (v.value.name === 'Error') {
    const text = v.value.payload;
    if (typeof text === 'string') return { ok: true, value: { kind: 'error', message: text } };
    return { ok: false, error: `invalid reply: invalid type for \`Error\`: expected a string, found ${typeName(text)}` };
  }
  const f = fields(v.value, ['group_name', 'message'], 'invalid reply: ');
  return f.ok ? { ok: true, value: { kind: 'message', groupName: f.value[0], message: f.value[1] } } : f;
}

/**
 * Encodes a server packet as serde_json writes it: compact, keys in the book's order, strings
 * escaped exactly as `JSON.stringify` does, then `\n`. A server encodes each post once and
 * hands the same bytes to every subscriber. The result is a Buffer from `Buffer.from(string)`,
 * which measured about 1.5 times as fast as TextEncoder for a short post on Node 20 (it
 * allocates from a pool): a result under 4 KiB is a slice of Node's shared 8 KiB pool, so
 * keeping one for long keeps its slab alive. The strings must be well-formed UTF-16 (what
 * {@link decodeFromClient} returns always is): a lone surrogate would be written as a `\ud800`
 * escape, which serde rejects.
 *
 * @example
 * ```ts
 * encodeFromServer({ kind: 'message', groupName: 'dogs', message: 'hi' });
 * // bytes of '{"Message":{"group_name":"dogs","message":"hi"}}\n'
 * ```
 */
export function encodeFromServer(packet: FromServer): Uint8Array {
  const json =
    packet.kind === 'message'
      ? `{"Message":{"group_name":${JSON.stringify(packet.groupName)},"message":${JSON.stringify(packet.message)}}}\n`
      : `{"Error":${JSON.stringify(packet.message)}}\n`;
  return Buffer.from(json, 'utf8');
}

/**
 * Encodes a client request as the book's client sends it (serde_json, compact, then `\n`).
 *
 * @example
 * ```ts
 * encodeFromClient({ kind: 'post', groupName: 'dogs', message: 'hi' });
 * // bytes of '{"Post":{"group_name":"dogs","message":"hi"}}\n'
 * ```
 */
export function encodeFromClient(request: FromClient): Uint8Array {
  const json =
    request.kind === 'join'
      ? `{"Join":{"group_name":${JSON.stringify(request.groupName)}}}\n`
      : `{"Post":{"group_name":${JSON.stringify(request.groupName)},"message":${JSON.stringify(request.message)}}}\n`;
  return Buffer.from(json, 'utf8');
}

/** Returned by parseLine for a line holding only whitespace. */
const BLANK = Symbol('blank');

/** Bytes -> one JSON value: UTF-8, whitespace trimming, one value per line, no lone surrogates. */
function parseLine(line: Uint8Array, prefix: string): Decoded<unknown> | typeof BLANK {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return { ok: false, error: `${prefix}invalid UTF-8` };
  }
  text = trimJsonWhitespace(text);
  if (text === '') return BLANK;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const what = startsWithValue(text) ? 'expected one JSON value per line' : 'invalid JSON';
    return { ok: false, error: prefix + what };
  }
  // Only a \u escape can make a lone surrogate: the text itself came from valid UTF-8.
  if (text.includes('\\u') && hasLoneSurrogate(value)) {
    return { ok: false, error: `${prefix}lone UTF-16 surrogate in a string` };
  }
  return { ok: true, value };
}

/** Strips JSON's four whitespace characters (the ones serde skips) from both ends. */
function trimJsonWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isJsonSpace(text.charCodeAt(start))) start++;
  while (end > start && isJsonSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Space, tab, line feed or carriage return: all that JSON calls whitespace. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Whether `text` (which JSON.parse rejected) begins with a complete JSON value: then the
 * fault is what follows it, e.g. `{"Join":...}{"Post":...}`.
 */
function startsWithValue(text: string): boolean {
  const end = endOfFirstValue(text);
  if (end <= 0 || end >= text.length) return false;
  try {
    JSON.parse(text.slice(0, end));
    return true;
  } catch {
    return false;
  }
}

/** Where the first value of `text` would end: a scalar's first delimiter, or the bracket or quote closing it. */
function endOfFirstValue(text: string): number {
  if (!'{["'.includes(text[0])) return text.search(/[\s,{}[\]"]/);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return -1;
}

/** Looks at every key and string in `value`, without recursion (nesting can be deep). */
function hasLoneSurrogate(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, item] of Object.entries(v)) {
        if (LONE_SURROGATE.test(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/** An enum variant found in a line: its name and what came with it. */
interface Variant {
  readonly name: string;
  readonly payload: unknown;
}

/** Reads serde's externally tagged form: an object with exactly one key, the variant name. */
function variant(value: unknown, names: readonly string[], prefix: string): Decoded<Variant> {
  const expected = `\`${names[0]}\` or \`${names[1]}\``;
  if (!isObject(value)) {
    return { ok: false, error: `${prefix}invalid type: ${typeName(value)}, expected an object with one key, ${expected}` };
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    return { ok: false, error: `${prefix}expected an object with one key, ${expected}, found ${keys.length} keys` };
  }
  const name = keys[0];
  if (!names.includes(name)) return { ok: false, error: `${prefix}unknown variant \`${name}\`, expected ${expected}` };
  return { ok: true, value: { name, payload: value[name] } };
}

/** Reads a struct variant's string fields, from an object (any order, extras ignored) or an array. */
function fields(v: Variant, names: readonly string[], prefix: string): Decoded<string[]> {
  const { name, payload } = v;
  if (Array.isArray(payload)) {
    if (payload.length !== names.length) {
      const n = names.length;
      return { ok: false, error: `${prefix}invalid length ${payload.length}, expected ${n} element${n === 1 ? '' : 's'} for \`${name}\`` };
    }
    for (let i = 0; i < payload.length; i++) {
      if (typeof payload[i] !== 'string') return wrongType(prefix, names[i], payload[i]);
    }
    return { ok: true, value: payload as string[] };
  }
  if (!isObject(payload)) {
    return { ok: false, error: `${prefix}invalid type for \`${name}\`: expected an object or an array, found ${typeName(payload)}` };
  }
  // serde reports a mistyped field (met while reading) before a missing one (found at the end).
  for (const field of names) {
    if (Object.hasOwn(payload, field) && typeof payload[field] !== 'string') return wrongType(prefix, field, payload[field]);
  }
  for (const field of names) {
    if (!Object.hasOwn(payload, field)) return { ok: false, error: `${prefix}missing field \`${field}\`` };
  }
  return { ok: true, value: names.map((field) => payload[field] as string) };
}

/** The error for a field that is not a string. */
function wrongType(prefix: string, field: string, found: unknown): Decoded<never> {
  return { ok: false, error: `${prefix}invalid type for \`${field}\`: expected a string, found ${typeName(found)}` };
}

/** A JSON object (not null, not an array). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON name of a parsed value's type, for error texts (never the value itself). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}
