// The runtime's own warnings on stderr. On a worker thread inside blockOn, Node's loop does not
// run, and a worker's process.stderr hands each write to the parent thread through that loop:
// only the first write would get out before blockOn returns. There, fd 2 is written directly
// (past a Worker's `stderr: true` capture, which would be stuck just the same); an attached
// executor's turns, and plain code, run in Node's loop and write through process.stderr.
import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { coop } from './_coop.js';

/** Writes `text` to stderr now, from any thread. */
export function warn(text: string): void {
  if (isMainThread || !coop.holdsThread) {
    process.stderr.write(text);
    return;
  }
  // A pipe may be non-blocking (Node makes it so): a write can be short, or fail with EAGAIN.
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(2, bytes, written);
  } catch {
    process.stderr.write(bytes.subarray(written)); // the stream takes the rest, as it would all
  }
}
