/**
 * Synchronous writes to stdout and stderr for the chat programs. While `blockOn` holds the
 * thread, Node's loop does not run, so `process.stdout` could leave a write queued until the
 * program ends; `fs.writeSync` is done when it returns.
 *
 * @module
 */
import { writeSync } from 'node:fs';

/** Writes all of `text` to `fd`, retrying while a non-blocking pipe is full (EAGAIN). */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (error) {
      // Whoever reads our output made it non-blocking; it will drain. Anything else is fatal.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

/**
 * Writes `text` as writeAllSync does but never throws: a server's log line must not kill it.
 * Node ignores SIGPIPE, so a stdout nobody reads any more (`chat-server | head -1`) fails each
 * write with EPIPE; the line is then dropped. Returns false if it was not written.
 *
 * @example
 * ```ts
 * logSync(1, 'chat server stats: connections=0 tasks=2 subscriptions=0 groups=0 held-posts=0 arena-bytes=0\n');
 * ```
 */
export function logSync(fd: number, text: string): boolean {
  try {
    writeAllSync(fd, text);
    return true;
  } catch {
    return false;
  }
}
