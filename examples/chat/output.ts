/**
 * Synchronous writes to stdout and stderr for the `wakeloop` command and its demos. While
 * `blockOn` holds the thread, Node's loop does not run, so `process.stdout` could leave a write
 * queued until the program ends; `fs.writeSync` is done when it returns. Nothing here loads the
 * addon.
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

/**
 * Prints a status line on stdout. A server's log line must not end it: once stdout is closed
 * (`wakeloop echo-server | head -1`) each write fails with EPIPE and the line is dropped. The
 * write is synchronous, so lines printed inside blockOn (Node's loop stalled) go out at once.
 *
 * @example
 * ```ts
 * say('listening on 127.0.0.1:7000');
 * ```
 */
export function say(line: string): void {
  logSync(1, `${line}\n`);
}

/**
 * Prints a line on stderr, dropped as {@link say} drops it if stderr is closed.
 *
 * @example
 * ```ts
 * sayError('echo-server: every worker thread ended');
 * ```
 */
export function sayError(line: string): void {
  logSync(2, `${line}\n`);
}
