// Number options of the bench's command lines, checked the same way in each tool.
import { UsageError } from '../examples/command_line.js';

/**
 * The number `--name` was given as (`s`), checked by `ok` (which `what` describes), or
 * `fallback` when it was not given. Throws a UsageError naming the option for anything else.
 *
 * @example
 * ```ts
 * numberOption('repeats', '3', 1, wholeAtLeastOne, 'a whole number, 1 or more'); // 3
 * ```
 */
export function numberOption(name: string, s: string | undefined, fallback: number, ok: (n: number) => boolean, what: string): number {
  if (s === undefined) return fallback;
  const n = s.trim() === '' ? NaN : Number(s);
  if (!ok(n)) throw new UsageError(`--${name} must be ${what} (got "${s}")`);
  return n;
}

/** A finite number above 0 (seconds of a run or a warm-up). */
export const positive = (n: number): boolean => Number.isFinite(n) && n > 0;

/** A whole number, 1 or more (repeats, members, a window). */
export const wholeAtLeastOne = (n: number): boolean => Number.isInteger(n) && n >= 1;

/** A finite number, 0 or more (seconds to wait for quiet). */
export const nonNegative = (n: number): boolean => Number.isFinite(n) && n >= 0;
