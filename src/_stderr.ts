// The runtime's own warnings on stderr. On a worker thread inside blockOn, Node's loop does not
// run, and a worker's process.stderr hands each write to the parent thread through that loop:
// only the first write would get out before blockOn returns. There, fd 2 is written directly
// (past a Worker's `stderr: true` capture, which would be stuck just the same).
import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/** Writes `text` to stderr now, from any thread. */
export function warn(text: string): void {
  if (!isMainThread) {
    try {
      writeSync(2, text);
      return;
    } catch {
      // A non-blocking stderr that is full, or closed: the stream takes it, as on the main thread.
    }
  }
  process.stderr.write(text);
}
