// The raw, non-blocking syscalls, for hand-written futures. Each returns a number: >= 0 on
// success, or a negative errno (-EAGAIN when it would block); none throws on an errno. Bad
// arguments (a negative fd, a non-buffer, an out-of-range offset) throw TypeError/RangeError.
import { binding } from './_binding.js';

/**
 * Raw socket calls: `socket(family)`, `bind(fd, address, port)`, `listen`, `accept`, `connect`,
 * `read(fd, buf, offset, length)`, `write`, `writev(fd, bufs)`, `shutdown`, `close`, and socket
 * options. Sockets are created non-blocking and close-on-exec; writes to sockets never raise
 * SIGPIPE (MSG_NOSIGNAL); a write to a pipe or tty whose reader is gone relies, as Node's own
 * `fs.writeSync` does, on Node ignoring SIGPIPE (a `process.on('SIGPIPE')` listener removed again
 * restores the default action, which kills the process).
 * The calls do not change an fd's mode: on a blocking fd made elsewhere (stdin, say) `read`
 * blocks the thread as read(2) does, so make such an fd non-blocking before polling it.
 * `close` throws a RangeError for the fds of a live `IoBlocker` (close the blocker instead).
 * The sockets `socket` and `accept` make belong to the thread that made them: when it ends
 * (a worker terminated, say), those still open are closed; one whose number now names another
 * file (it was closed some other way, then reused) is left alone. Close them with `close`, from
 * any thread, but not while the thread that made them may be ending.
 *
 * @example
 * ```ts
 * const n = sys.read(fd, buf, 0, buf.length);
 * if (n === -os.constants.errno.EAGAIN) { ...wait for readiness... }
 * ```
 */
export const sys = {
  socket: binding.socket,
  bind: binding.bind,
  listen: binding.listen,
  accept: binding.accept,
  connect: binding.connect,
  read: binding.read,
  write: binding.write,
  writev: binding.writev,
  shutdown: binding.shutdown,
  close: binding.close,
  socketError: binding.socketError,
  setNoDelay: binding.setNoDelay,
  setResetOnClose: binding.setResetOnClose,
  setReuseAddr: binding.setReuseAddr,
  setReusePort: binding.setReusePort,
  setNonBlocking: binding.setNonBlocking,
  localAddress: binding.localAddress,
  peerAddress: binding.peerAddress,
} as const;
