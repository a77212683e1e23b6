// What a pool and its workers say to each other: tasks go out through each worker's port,
// results come back through one shared ThreadChannel, and errors cross as plain data.
import { pathToFileURL } from 'node:url';
import { describe } from '../task.js';
import type { ThreadChannelForm } from './channel.js';

/**
 * A task as posted to a worker.
 *
 * @example
 * ```ts
 * const msg: PoolTaskMessage = { id: 1, url: 'file:///app/tasks.js', name: 'sum', args: [1, 2] };
 * ```
 */
export interface PoolTaskMessage {
  id: number;
  url: string;
  name: string;
  args: unknown[];
}

/**
 * An error as it crosses threads.
 *
 * @example
 * ```ts
 * const info: ErrorInfo = { name: 'RangeError', message: 'too big', code: 'E_SIZE' };
 * ```
 */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  code?: string | number;
  /** An Error `cause`, a few levels deep. */
  cause?: ErrorInfo;
  /** A `cause` that is a string, number, boolean or null. */
  causeValue?: Primitive;
  /** The error's other own properties with such values (`errno`, `syscall`, `path`, your own). */
  fields?: Record<string, Primitive>;
  /** An AggregateError's errors (its first few Errors). */
  errors?: ErrorInfo[];
}

/** A value a field of an error report may carry. */
type Primitive = string | number | boolean | null;

/** How deep causes and aggregated errors are followed, and how many errors an aggregate keeps. */
const NESTED_DEPTH = 3;
const AGGREGATED_ERRORS = 10;
/** How many other properties an error report carries, and how long a string one may be. */
const FIELDS = 20;
const FIELD_CHARS = 1000;
/** Properties carried on their own (or, for an AggregateError, rebuilt from `errors`). */
const OWN_PARTS = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

/**
 * What workers send back: a task's value or error, or the worker's last word before it exits
 * (with `code` when the thread ends without its normal stop: process.exit(), an uncaught error).
 *
 * @example
 * ```ts
 * const msg: PoolResult = { t: 'done', id: 1, value: 3 };
 * ```
 */
export type PoolResult =
  | { t: 'done'; id: number; value: unknown }
  | { t: 'failed'; id: number; error: ErrorInfo }
  | { t: 'exited'; worker: number; error?: ErrorInfo; code?: number };

/**
 * What a pool worker posts back on its control port when its main module cannot load.
 *
 * @example
 * ```ts
 * const failure: PoolBootFailure = { t: 'boot-failed', error: { name: 'Error', message: 'No native build was found' } };
 * ```
 */
export interface PoolBootFailure {
  t: 'boot-failed';
  error: ErrorInfo;
}

/**
 * A pool worker's `workerData`: its index and the shared results channel.
 *
 * @example
 * ```ts
 * const data: PoolWorkerData = { index: 0, results: channel.toCloneable() };
 * ```
 */
export interface PoolWorkerData {
  index: number;
  results: ThreadChannelForm;
}

/**
 * An error as plain, cloneable data (v8's clone would keep only built-in names).
 *
 * @example
 * ```ts
 * results.send({ t: 'failed', id, error: errorInfo(e) });
 * ```
 */
export function errorInfo(error: unknown, depth = 0): ErrorInfo {
  try {
    if (!(error instanceof Error)) return { name: 'Error', message: `a pool task threw a non-Error value: ${String(error)}` };
    const code = (error as { code?: unknown }).code;
    const info: ErrorInfo = {
      name: String(error.name),
      message: String(error.message),
      stack: error.stack === undefined ? undefined : String(error.stack),
      code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
    };
    try {
      const fields = primitiveFields(error);
      if (fields !== undefined) info.fields = fields;
      if (isPrimitive(error.cause)) info.causeValue = cut(error.cause);
    } catch {
      // A getter that throws: the error itself is still reported.
    }
    if (depth < NESTED_DEPTH) {
      try {
        if (error.cause instanceof Error) info.cause = errorInfo(error.cause, depth + 1);
        if (error instanceof AggregateError && Array.isArray(error.errors)) {
          const errors = error.errors.filter((e): e is Error => e instanceof Error).slice(0, AGGREGATED_ERRORS);
          info.errors = errors.map((e) => errorInfo(e, depth + 1));
        }
      } catch {
        // A getter that throws: the error itself is still reported.
      }
    }
    return info;
  } catch {
    // A null-prototype object, a throwing toString or getter: the report itself must not fail.
    return { name: 'Error', message: `a pool task threw a value that cannot be described (${tagOf(error)})` };
  }
}

/** The first FIELDS own enumerable properties of `error` whose values are primitives, if any. */
function primitiveFields(error: Error): Record<string, Primitive> | undefined {
  let fields: Record<string, Primitive> | undefined;
  let n = 0;
  for (const key of Object.keys(error)) {
    if (OWN_PARTS.has(key) || key === '__proto__') continue; // assigned, it would set the prototype
    const value: unknown = (error as unknown as Record<string, unknown>)[key];
    if (!isPrimitive(value)) continue; // objects and functions may not clone, or be large
    (fields ??= {})[key] = cut(value);
    if (++n === FIELDS) break;
  }
  return fields;
}

function isPrimitive(value: unknown): value is Primitive {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function cut(value: Primitive): Primitive {
  return typeof value === 'string' && value.length > FIELD_CHARS ? `${value.slice(0, FIELD_CHARS)}... (cut)` : value;
}

/** Object.prototype.toString's tag of any value, such as "[object Object]"; never throws. */
function tagOf(value: unknown): string {
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return `a ${typeof value}`; // a revoked Proxy
  }
}

/** The longest error message a short failure report carries (see MIN_RESULT_CAPACITY). */
export const SHORT_MESSAGE_CHARS = 1000;
/**
 * The smallest result ring a pool accepts: room for a short failure report (its message cut to
 * SHORT_MESSAGE_CHARS), so a task's end can always be reported, whatever its error.
 */
export const MIN_RESULT_CAPACITY = 4096;

/** The longest string `code` a short failure report carries. */
const SHORT_CODE_CHARS = 100;

/**
 * The short form of a failure report: no stack, the message cut to SHORT_MESSAGE_CHARS, a
 * string `code` to SHORT_CODE_CHARS.
 *
 * @example
 * ```ts
 * results.send({ t: 'failed', id, error: shortErrorInfo(errorInfo(e)) });
 * ```
 */
export function shortErrorInfo(info: ErrorInfo): ErrorInfo {
  const cut = info.message.length > SHORT_MESSAGE_CHARS;
  const message = cut ? `${info.message.slice(0, SHORT_MESSAGE_CHARS)}... (cut: the whole error did not fit the pool's result ring)` : info.message;
  const code = typeof info.code === 'string' && info.code.length > SHORT_CODE_CHARS ? `${info.code.slice(0, SHORT_CODE_CHARS)}... (cut)` : info.code;
  return { name: info.name.slice(0, 100), message, code };
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

/**
 * Rebuilds an error sent as {@link ErrorInfo}: a built-in class (RangeError, AggregateError...)
 * when the name is one, else an Error carrying the name; the worker's stack, `code`, `cause`
 * (an Error or a primitive), an AggregateError's `errors` and other primitive fields are kept.
 *
 * @example
 * ```ts
 * throw rebuildError(msg.error);
 * ```
 */
export function rebuildError(info: ErrorInfo): Error {
  const cause = info.cause !== undefined ? rebuildError(info.cause) : info.causeValue;
  const options = info.cause === undefined && !('causeValue' in info) ? undefined : { cause };
  const error =
    info.name === 'AggregateError'
      ? new AggregateError((info.errors ?? []).map(rebuildError), info.message, options)
      : new (BUILTIN_ERRORS[info.name] ?? Error)(info.message, options);
  if (error.name !== info.name) error.name = info.name;
  if (info.stack !== undefined) error.stack = info.stack;
  if (info.code !== undefined) (error as { code?: unknown }).code = info.code;
  if (info.fields !== undefined) Object.assign(error, info.fields);
  return error;
}

/**
 * The URL a task message carries: from a URL, a file: or data: URL string, or an absolute path.
 *
 * @example
 * ```ts
 * moduleHref('/app/tasks.js'); // 'file:///app/tasks.js'
 * ```
 */
export function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module === 'string') {
    if (module.startsWith('/')) return pathToFileURL(module).href;
    if (/^(file|data):/.test(module)) return new URL(module).href;
  }
  throw new TypeError(`pool.spawn(): module must be a URL or an absolute path, got ${describe(module)}`);
}
