// Argument checks shared by the public API: each throws a TypeError or RangeError that names
// the function, the argument and what it got.
import { PENDING } from './future.js';
import { describe } from './task.js';

/**
 * Throws a TypeError if `value`, about to be sent on a channel, is PENDING: whoever polls for it
 * would read "not ready yet" and wait for good, or lose it.
 */
export function checkNotPending(where: string, value: unknown): void {
  if (value === PENDING) {
    throw new TypeError(`${where}: PENDING cannot be sent: it is not a value, but what poll() returns for "not ready yet"`);
  }
}

/** Throws a TypeError unless `value` is an integer (a number with no fraction). */
export function checkInteger(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${where}: ${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${where}: ${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * Throws unless `value` is a number of milliseconds >= 0, finite unless `infiniteOk` (a thread's
 * wait with no deadline). NaN is a TypeError, as it is not a number of anything.
 */
export function checkDuration(where: string, name: string, value: unknown, infiniteOk = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${where}: ${name} must be a number of milliseconds, got ${describe(value)}`);
  }
  if (value < 0 || (!infiniteOk && value === Infinity)) {
    throw new RangeError(`${where}: ${name} must be ${infiniteOk ? '' : 'finite and '}>= 0, got ${value}`);
  }
  return value;
}

/**
 * Throws a TypeError unless `options` is an options object (an array is a mistake, not options)
 * whose own keys are all in `known`: a misspelt option (`reuseport`) would otherwise be ignored.
 */
export function checkOptions(where: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  }
  const unknown = unknownKey(options, known);
  if (unknown !== undefined) throw new TypeError(`${where}: unknown option '${unknown}' (the options are ${known.join(', ')})`);
}

/** The first own key of `object` that is not in `known`, or undefined if there is none. */
export function unknownKey(object: object, known: readonly string[]): string | undefined {
  return Object.keys(object).find((key) => !known.includes(key));
}

/** Throws unless `value` names a backend: a TypeError for a non-string, a RangeError for another name. */
export function checkBackend(where: string, value: unknown): asserts value is 'epoll' | 'poll' {
  if (typeof value !== 'string') throw new TypeError(`${where}: backend must be 'epoll' or 'poll', got ${describe(value)}`);
  if (value !== 'epoll' && value !== 'poll') throw new RangeError(`${where}: backend must be 'epoll' or 'poll', got ${JSON.stringify(value)}`);
}

/** Throws a TypeError unless `value` is a boolean (so `1` or `'yes'` is not quietly false). */
export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/**
 * Throws unless `value` is a Uint8Array (a Buffer is one) whose memory was not transferred away
 * (a detached array reads as empty, which a read would report as end of stream).
 */
export function checkBytes(where: string, name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${where}: ${name} must be a Uint8Array or Buffer, got ${describe(value)}`);
  }
  if (value.byteLength === 0 && isDetached(value.buffer)) throw new TypeError(`${where}: ${name} is detached`);
  return value;
}

/** Node 20 has no `ArrayBuffer.prototype.detached`; only a detached buffer refuses a view. */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** Checks an (offset, length) window of `buf`, defaulting to the whole rest of it. */
export function checkRange(where: string, buf: Uint8Array, offset: unknown, length: unknown): [number, number] {
  const off = offset === undefined ? 0 : checkInteger(where, 'offset', offset, 0, buf.length);
  const len = length === undefined ? buf.length - off : checkInteger(where, 'length', length, 0, buf.length - off);
  return [off, len];
}
