// Whether a module is the program node was started with, or a module imported by a test (or by
// another program): the bench's entry points run their main() only in the first case.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * True when the module at `moduleUrl` is the program node was started with (`node
 * dist/bench/run.js`), not a module a test or another program imports.
 *
 * @example
 * ```ts
 * if (isProgram(import.meta.url)) await main(process.argv.slice(2));
 * ```
 */
export function isProgram(moduleUrl: string): boolean {
  try {
    return process.argv[1] !== undefined && moduleUrl === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false; // argv[1] is not a file
  }
}
