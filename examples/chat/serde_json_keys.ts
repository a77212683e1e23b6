/**
 * The keys serde sees and JSON.parse hides: JSON.parse keeps the last of a key given twice,
 * while serde rejects a struct field given twice (`duplicate field`) and an enum object with a
 * second key. Only the two levels serde reads matter: the outer object (the variant) and the
 * object that is its value (the fields); deeper values are ignored, duplicates and all, as
 * serde's `IgnoredAny` does. Pure: no I/O and no wakeloop imports.
 *
 * @module
 */

/**
 * The keys of a line as serde reads them.
 *
 * @example
 * ```ts
 * const keys: LineKeys = { outer: 1, inner: [['message', 'string'], ['message', 'number']] };
 * ```
 */
export interface LineKeys {
  /** How many keys the outer object has, a key given twice counted twice. */
  readonly outer: number;
  /** The keys of the outer object's first value, if it is an object: in order, each with its value's JSON type. */
  readonly inner: ReadonlyArray<readonly [key: string, type: string]>;
}

/**
 * Whether `text`, which JSON.parse read as `value`, may give a key twice: a quick test, false for
 * the lines clients send (no whitespace between tokens), so that only the others are scanned. An
 * object of strings, or of objects or arrays of strings, written without whitespace is exactly
 * plainLength long plus what its escapes add; whitespace or a key given twice make it longer.
 *
 * @example
 * ```ts
 * const text = '{"Join":{"group_name":"a\\"b"}}';
 * mayRepeatKeys(text, JSON.parse(text)); // false
 * ```
 */
export function mayRepeatKeys(text: string, value: unknown): boolean {
  return isObject(value) && text.length !== plainLength(value, true) + escapeExtra(text);
}

/** How much longer `text` is for its escapes than the characters they stand for. */
function escapeExtra(text: string): number {
  let extra = 0;
  for (let i = text.indexOf('\\'); i >= 0; i = text.indexOf('\\', i)) {
    const unicode = text.charCodeAt(i + 1) === 0x75; // `\uXXXX` stands for one UTF-16 unit
    extra += unicode ? 5 : 1;
    i += unicode ? 6 : 2;
  }
  return extra;
}

/**
 * The length of the JSON text of `value` without whitespace or escapes, if it is an object or
 * array of strings (and, at the top, of such objects and arrays); -1 for any other shape.
 */
function plainLength(value: Record<string, unknown> | unknown[], top: boolean): number {
  let n = 1; // the opening brace or bracket; each member adds its comma or the closing one
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string') return -1;
      n += item.length + 3; // two quotes, and a comma or the bracket
    }
    return value.length === 0 ? 2 : n;
  }
  let members = 0;
  for (const key in value) {
    const item = value[key];
    let size: number;
    if (typeof item === 'string') size = item.length + 2;
    else if (top && typeof item === 'object' && item !== null) size = plainLength(item as Record<string, unknown> | unknown[], false);
    else return -1;
    if (size < 0) return -1;
    n += key.length + 4 + size; // two quotes, a colon, and a comma or the brace
    members++;
  }
  return members === 0 ? 2 : n;
}

/**
 * Scans `text`, which must be valid JSON (JSON.parse accepted it), for the keys serde reads.
 * Iterative, so deep nesting costs no stack.
 *
 * @example
 * ```ts
 * scanKeys('{"Post":{"message":"a","message":5}}');
 * // { outer: 1, inner: [['message', 'string'], ['message', 'number']] }
 * ```
 */
export function scanKeys(text: string): LineKeys {
  const inner: [string, string][] = [];
  let outer = 0;
  /** Per open object or array, whether it is an object; Invariant: its length is the depth. */
  const objects: boolean[] = [];
  /** Whether the next string is a key: after `{`, or after `,` in an object. */
  let keyNext = false;
  /** Whether the depth-2 object open now is the outer object's first value. */
  let fields = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (keyNext && objects.length === 1) outer++;
      else if (keyNext && fields && objects.length === 2) inner.push([keyText(text, i, end), typeAt(text, end)]);
      keyNext = false;
      i = end - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      objects.push(c === OPEN_BRACE);
      keyNext = c === OPEN_BRACE;
      if (objects.length === 2) fields = c === OPEN_BRACE && outer === 1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      objects.pop();
    } else if (c === COMMA) {
      keyNext = objects[objects.length - 1];
    }
  }
  return { outer, inner };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The index just past the string literal that opens at `start`. */
function stringEnd(text: string, start: number): number {
  for (let quote = text.indexOf('"', start + 1); ; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1; // not itself escaped
  }
}

/** The key written as `text[start, end)`, escapes decoded. */
function keyText(text: string, start: number, end: number): string {
  const raw = text.slice(start, end);
  return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
}

/** The JSON type of the value after the key that ends at `end` (past its `:`). */
function typeAt(text: string, end: number): string {
  let i = text.indexOf(':', end) + 1;
  while (text.charCodeAt(i) <= 0x20) i++; // JSON's whitespace is all below '!'
  switch (text[i]) {
    case '"': return 'string';
    case '{': return 'object';
    case '[': return 'array';
    case 't': case 'f': return 'boolean';
    case 'n': return 'null';
    default: return 'number';
  }
}

/** A JSON object (not null, not an array). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
