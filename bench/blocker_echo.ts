// The floor under wakeloop's echo server: the same echo written on the public IoBlocker and sys
// calls, with no executor, tasks or futures: one readiness loop, as the C server's. What it
// costs above C is the N-API calls and the JS around them; what wakeloop costs above it is the
// task layer.
//
//   node dist/bench/blocker_echo.js --host 127.0.0.1 --port P     (port 0: any free port)
//
// Prints "listening on HOST:PORT"; stops cleanly on SIGTERM or SIGINT. A blocked block() runs no
// JS, so the loop hands the thread back to Node's loop every SLICE_MS for its signal handlers.
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { IoBlocker, IoError, formatAddress, sys } from '../src/index.js';

const EAGAIN = -constants.errno.EAGAIN;
const SLICE_MS = 100;
const LISTENER = 0; // the listener's event id; a connection's is its fd (never 0 here)

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } },
});

function check(what: string, rc: number): number {
  if (rc < 0) throw new IoError(what, rc);
  return rc;
}

const listenFd = check('socket', sys.socket(values.host!.includes(':') ? 6 : 4));
sys.setReuseAddr(listenFd, true);
check('bind', sys.bind(listenFd, values.host!, Number(values.port)));
check('listen', sys.listen(listenFd, 4096)); // the kernel caps it at somaxconn

// epoll whatever WAKELOOP_BACKEND says: the loop registers each fd once and relies on edge
// triggering, where the poll backend reports a direction once and must be re-armed.
const blocker = new IoBlocker({ backend: 'epoll' });
const events = blocker.events;
blocker.register(listenFd, LISTENER, { readable: true });
const scratch = new Uint8Array(64 * 1024);
/** Per connection fd: the unsent tail of its last echo (reading stops until it is flushed). */
const tails = new Map<number, Uint8Array>();
const open = new Set<number>();

function drop(fd: number): void {
  blocker.deregister(fd);
  sys.close(fd);
  tails.delete(fd);
  open.delete(fd);
}

function accept(): void {
  for (;;) {
    const fd = sys.accept(listenFd);
    if (fd < 0) return; // EAGAIN, an aborted connection or out of fds: the next edge retries
    sys.setNoDelay(fd, true);
    blocker.register(fd, fd, { readable: true, writable: true });
    open.add(fd);
  }
}

/** Writes the pending tail; true when nothing is left, false while the peer is not reading. */
function flush(fd: number): boolean {
  const tail = tails.get(fd);
  if (tail === undefined) return true;
  const n = sys.write(fd, tail, 0, tail.length);
  if (n === EAGAIN) return false;
  if (n < 0) {
    drop(fd);
    return false;
  }
  if (n < tail.length) {
    tails.set(fd, tail.subarray(n));
    return false;
  }
  tails.delete(fd);
  return true;
}

/** Echoes until the socket is drained (a short read, with edge triggering) or the peer stalls. */
function echo(fd: number, signals: number): void {
  if (!flush(fd)) return; // a tail still waits, or the write failed and dropped fd
  const halfClosed = (signals & IoBlocker.READ_CLOSED) !== 0;
  for (;;) {
    const n = sys.read(fd, scratch, 0, scratch.length);
    if (n === EAGAIN) return;
    if (n <= 0) return drop(fd);
    const w = sys.write(fd, scratch, 0, n);
    if (w < 0 && w !== EAGAIN) return drop(fd);
    if (w < n) {
      tails.set(fd, scratch.slice(Math.max(w, 0), n));
      return;
    }
    // A short read drained the socket, except after a half-close (data and FIN share an edge).
    if (n < scratch.length && !halfClosed) return;
  }
}

function serve(): void {
  const sliceEnd = performance.now() + SLICE_MS;
  while (performance.now() < sliceEnd) {
    const n = blocker.block(SLICE_MS);
    for (let i = 0; i < n; i++) {
      const id = events[2 * i];
      if (id === LISTENER) accept();
      else if (open.has(id)) echo(id, events[2 * i + 1]);
    }
  }
  setImmediate(serve); // Node's loop runs the signal handlers meanwhile
}

function stop(): void {
  for (const fd of open) drop(fd);
  blocker.deregister(listenFd);
  sys.close(listenFd);
  blocker.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const local = sys.localAddress(listenFd);
if (typeof local === 'number') throw new IoError('getsockname', local);
console.log(`listening on ${formatAddress(local)}`);
serve();
