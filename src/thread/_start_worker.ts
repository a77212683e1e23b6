// Starting the Node worker behind a ThreadWorker: its script checked as Node would, and the
// parent's flags handed over the way Node's own inheritance does, which accepts them all.
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { describe } from '../task.js';
import type { ThreadWorkerOptions } from './worker.js';
import { checkOptions } from '../_validate.js';

/**
 * The script as Node's Worker takes it: a URL, or a path that is absolute or starts with ./ or
 * ../ (a file: or data: URL string becomes a URL). A path or file: URL must name a file: Node
 * would only report a missing one through the worker's 'error' event, which kills the process
 * when nothing listens. Throws a TypeError naming what it got.
 *
 * @example
 * ```ts
 * workerScript('file:///app/worker.js'); // URL { href: 'file:///app/worker.js' }
 * ```
 */
export function workerScript(script: unknown): URL | string {
  const entry = scriptForm(script);
  if (entry instanceof URL && entry.protocol !== 'file:') return entry; // data: is not a file
  const path = entry instanceof URL ? fileURLToPath(entry) : resolve(entry); // from the cwd, as Node does
  if (statSync(path, { throwIfNoEntry: false })?.isFile()) return entry;
  const got = script instanceof URL ? `URL ${script.href}` : describe(script);
  const where = path === script ? '' : ` (${path})`;
  throw new TypeError(`new ThreadWorker(script): script must name an existing file, got ${got}${where}`);
}

/** The script as a URL or a path Node takes, or a TypeError naming what it got. */
function scriptForm(script: unknown): URL | string {
  if (script instanceof URL && /^(file|data):$/.test(script.protocol)) return script;
  if (typeof script === 'string') {
    if (/^(file|data):/.test(script)) return new URL(script);
    if (isAbsolute(script) || /^\.\.?\//.test(script)) return script;
  }
  const what = 'a file: or data: URL, or a path to compiled JS that is absolute or starts with ./ or ../';
  const got = script instanceof URL ? `URL ${script.href}` : describe(script);
  throw new TypeError(`new ThreadWorker(script): script must be ${what}, got ${got}`);
}

/**
 * Throws a TypeError naming what the constructor got in `options`.
 *
 * @example
 * ```ts
 * checkWorkerOptions({ name: 'pool-0' }); // fine; checkWorkerOptions(5) throws
 * ```
 */
export function checkWorkerOptions(options: unknown): void {
  checkOptions('new ThreadWorker(script, options)', options, ['workerData', 'transferList', 'name']);
  const { name, transferList } = options as ThreadWorkerOptions;
  if (name !== undefined && typeof name !== 'string') {
    throw new TypeError(`new ThreadWorker(): options.name must be a string, got ${describe(name)}`);
  }
  if (transferList !== undefined && !Array.isArray(transferList)) {
    throw new TypeError(`new ThreadWorker(): options.transferList must be an array, got ${describe(transferList)}`);
  }
}

/**
 * Starts the Node worker with `execArgv` left out, so Node hands the worker the flags it can
 * take and keeps the process-wide ones (--max-old-space-size, --expose-gc, --title...), which an
 * explicit execArgv would make it refuse (ERR_WORKER_INVALID_EXEC_ARGV). `--input-type` is
 * inherited too, and then the worker refuses a script file (ERR_INPUT_TYPE_NOT_ALLOWED): under
 * it the worker starts from an evaluated `import()` of the script instead, which it allows.
 *
 * @example
 * ```ts
 * const worker = startWorker(new URL('./pool_worker.js', import.meta.url), { workerData });
 * ```
 */
export function startWorker(script: URL | string, options: WorkerOptions): Worker {
  if (!process.execArgv.some((arg) => arg.startsWith('--input-type'))) return new Worker(script, options);
  const href = script instanceof URL ? script.href : pathToFileURL(resolve(script)).href;
  return new Worker(`import(${JSON.stringify(href)});`, { ...options, eval: true });
}
