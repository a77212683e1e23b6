// The options every bench tool takes for its measured runs (--duration, --repeats, --warmup,
// --wait-quiet), and number options in general, checked the same way in each tool.
import { parseArgs, type ParseArgsConfig } from 'node:util';
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

/** How long and how often a tool measures each cell. */
export interface Timing {
  duration: number;
  repeats: number;
  warmup: number;
  waitQuiet: number;
}

/** The parseArgs declarations of the timing options, to spread into a tool's own. */
export const TIMING_OPTIONS = {
  duration: { type: 'string' },
  repeats: { type: 'string' },
  warmup: { type: 'string' },
  'wait-quiet': { type: 'string' },
} as const;

/**
 * Checks the timing options parseArgs found (`values`), with the tool's defaults for those not
 * given; throws a UsageError naming the first that is wrong.
 *
 * @example
 * ```ts
 * timing(values, { duration: 5, repeats: 3, warmup: 1 }); // waitQuiet: 0 unless given
 * ```
 */
export function timing(values: Partial<Record<keyof typeof TIMING_OPTIONS, string>>, defaults: Omit<Timing, 'waitQuiet'>): Timing {
  return {
    duration: numberOption('duration', values.duration, defaults.duration, positive, 'a positive number of seconds'),
    // A whole number: 0.4 used to round to 0 repeats (an empty result, exit 0), 1.5 to 2.
    repeats: numberOption('repeats', values.repeats, defaults.repeats, wholeAtLeastOne, 'a whole number, 1 or more'),
    warmup: numberOption('warmup', values.warmup, defaults.warmup, positive, 'a positive number of seconds'),
    waitQuiet: numberOption('wait-quiet', values['wait-quiet'], 0, nonNegative, 'a number of seconds, 0 or more'),
  };
}

/**
 * parseArgs in strict mode, its errors (an unknown option, a missing value) as UsageErrors.
 *
 * @example
 * ```ts
 * const { values } = parseOrUsage({ args, options: { ...TIMING_OPTIONS } });
 * ```
 */
export function parseOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
