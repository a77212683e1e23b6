/**
 * The chat client's own fds (stdin, stdout, stderr) on the reactor. They are shared with the
 * processes that gave them (a terminal's are one open file), so their non-blocking mode is
 * undone when the client lets them go.
 *
 * @module
 */
import { AsyncFd, IoError, sys } from '../../src/index.js';

/**
 * Makes `fd` non-blocking and registers it with the running executor's reactor. A regular file
 * or /dev/null cannot be polled; the reactor takes it as always ready. Undone by {@link unwatch}.
 *
 * @example
 * ```ts
 * const afd = watchNonBlocking(0, 'stdin');
 * ```
 */
export function watchNonBlocking(fd: number, name: string): AsyncFd {
  const rc = sys.setNonBlocking(fd, true);
  if (rc < 0) throw new IoError('fcntl O_NONBLOCK', rc, `on ${name}`);
  try {
    return new AsyncFd(fd);
  } catch (error) {
    sys.setNonBlocking(fd, false);
    throw error;
  }
}

/**
 * Deregisters the fd (it stays open) and makes it blocking again, the way programs normally
 * find it.
 *
 * @example
 * ```ts
 * unwatch(afd);
 * ```
 */
export function unwatch(afd: AsyncFd): void {
  afd.deregister();
  sys.setNonBlocking(afd.fd, false);
}
