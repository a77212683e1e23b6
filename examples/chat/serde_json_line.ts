/**
 * The strict JSON-line reader behind `protocol.ts`: one line of bytes to one JSON value under
 * serde_json's rules (valid UTF-8, one value per line, no lone surrogate), then serde's externally
 * tagged enums read from that value, with error texts in serde's words. A key given twice,
 * which JSON.parse hides, is found by `serde_json_keys.ts`. Pure: no I/O and no wakeloop imports.
 *
 * @module
 */
import type { Decoded } from './protocol.js';
import { type LineKeys, mayRepeatKeys, scanKeys } from './serde_json_keys.js';

// Invalid UTF-8 throws instead of becoming U+FFFD; a BOM is kept so JSON.parse rejects it, as
// serde_json does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** A UTF-16 surrogate without its other half: JSON.parse accepts `"\ud800"`, serde does not. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Returned by parseLine for a line holding only whitespace.
 *
 * @example
 * ```ts
 * if (parseLine(line, 'invalid request: ') === BLANK) return { ok: true, value: null };
 * ```
 */
export const BLANK = Symbol('blank');

/**
 * A line read by parseLine: its value and, if a key may be given twice where serde looks, the
 * keys as serde reads them (JSON.parse keeps only the last of two); else null.
 *
 * @example
 * ```ts
 * const parsed: ParsedLine = { ok: true, value: { Join: { group_name: 'dogs' } }, keys: null };
 * ```
 */
export type ParsedLine =
  | { readonly ok: true; readonly value: unknown; readonly keys: LineKeys | null }
  | { readonly ok: false; readonly error: string };

/**
 * Bytes -> one JSON value: UTF-8, whitespace trimming, one value per line, no lone surrogates.
 *
 * @example
 * ```ts
 * parseLine(Buffer.from('{"Join":{"group_name":"dogs"}}\n'), 'invalid request: ');
 * // { ok: true, value: { Join: { group_name: 'dogs' } }, keys: null }
 * ```
 */
export function parseLine(line: Uint8Array, prefix: string): ParsedLine | typeof BLANK {
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
  return { ok: true, value, keys: mayRepeatKeys(text, value) ? scanKeys(text) : null };
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

/**
 * An enum variant found in a line: its name and what came with it.
 *
 * @example
 * ```ts
 * const join: Variant = { name: 'Join', payload: { group_name: 'dogs' } };
 * ```
 */
export interface Variant {
  readonly name: string;
  readonly payload: unknown;
  /** The payload's keys in order, when a key may be given twice (see ParsedLine). */
  readonly fieldKeys?: LineKeys['inner'] | null;
}

/**
 * Reads serde's externally tagged form: an object with exactly one key, the variant name; `keys`
 * (from parseLine) counts a key given twice.
 *
 * @example
 * ```ts
 * variant({ Join: { group_name: 'dogs' } }, ['Join', 'Post'], 'invalid request: ');
 * // { ok: true, value: { name: 'Join', payload: { group_name: 'dogs' }, fieldKeys: null } }
 * ```
 */
export function variant(value: unknown, names: readonly string[], prefix: string, keys: LineKeys | null = null): Decoded<Variant> {
  const expected = `\`${names[0]}\` or \`${names[1]}\``;
  if (!isObject(value)) {
    return { ok: false, error: `${prefix}invalid type: ${typeName(value)}, expected an object with one key, ${expected}` };
  }
  const distinct = Object.keys(value);
  const count = keys?.outer ?? distinct.length;
  if (count !== 1) {
    return { ok: false, error: `${prefix}expected an object with one key, ${expected}, found ${count} keys` };
  }
  const name = distinct[0];
  if (!names.includes(name)) return { ok: false, error: `${prefix}unknown variant \`${name}\`, expected ${expected}` };
  return { ok: true, value: { name, payload: value[name], fieldKeys: keys?.inner ?? null } };
}

/**
 * Reads a struct variant's string fields, from an object (any order, extras ignored) or an array.
 *
 * @example
 * ```ts
 * fields({ name: 'Post', payload: ['dogs', 'hi'] }, ['group_name', 'message'], 'invalid request: ');
 * // { ok: true, value: ['dogs', 'hi'] }
 * ```
 */
export function fields(v: Variant, names: readonly string[], prefix: string): Decoded<string[]> {
  const { name, payload } = v;
  if (Array.isArray(payload)) {
    if (payload.length !== names.length) {
      const n = names.length;
      return { ok: false, error: `${prefix}invalid length ${payload.length}, expected ${n} element${n === 1 ? '' : 's'} for \`${name}\`` };
    }
    for (let i = 0; i < payload.length; i++) {
      if (typeof payload[i] !== 'string') return wrongType(prefix, names[i], typeName(payload[i]));
    }
    return { ok: true, value: payload as string[] };
  }
  if (!isObject(payload)) {
    return { ok: false, error: `${prefix}invalid type for \`${name}\`: expected an object or an array, found ${typeName(payload)}` };
  }
  if (v.fieldKeys) {
    // serde reads in order: a field given twice fails at its second key, after the first value.
    let seen = 0; // a bit per name
    for (const [key, type] of v.fieldKeys) {
      const i = names.indexOf(key);
      if (i < 0) continue; // not a field of this variant: ignored, as serde does
      if (seen & (1 << i)) return { ok: false, error: `${prefix}duplicate field \`${key}\`` };
      if (type !== 'string') return wrongType(prefix, key, type);
      seen |= 1 << i;
    }
  }
  // serde reports a mistyped field (met while reading) before a missing one (found at the end).
  for (const field of names) {
    if (Object.hasOwn(payload, field) && typeof payload[field] !== 'string') return wrongType(prefix, field, typeName(payload[field]));
  }
  for (const field of names) {
    if (!Object.hasOwn(payload, field)) return { ok: false, error: `${prefix}missing field \`${field}\`` };
  }
  return { ok: true, value: names.map((field) => payload[field] as string) };
}

/** The error for a field whose value, of JSON type `found`, is not a string. */
function wrongType(prefix: string, field: string, found: string): Decoded<never> {
  return { ok: false, error: `${prefix}invalid type for \`${field}\`: expected a string, found ${found}` };
}

/** A JSON object (not null, not an array). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON name of a parsed value's type, for error texts (never the value itself).
 *
 * @example
 * ```ts
 * typeName([1, 2]); // "array"
 * ```
 */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}
