// `wakeloop socket-read`: a hand-written SocketRead future reads a real socket while a writer
// sends in pieces with pauses. Between pieces the read is pending and the thread sleeps in the
// kernel (epoll_wait) until the reactor wakes the task.
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import {
  AsyncFd,
  Future,
  PENDING,
  TcpListener,
  TcpStream,
  blockOn,
  sleep,
  spawn,
  sys,
  type Context,
  type Poll,
  type Task,
  type Waker,
} from '../src/index.js';
import { integer, readCommandLine, say } from './command_line.js';

const EAGAIN = constants.errno.EAGAIN;

/** Counts the wakes the reactor delivers before passing them on to the task. */
class CountingWaker implements Waker {
  wakes = 0;
  constructor(public inner: Waker) {}
  wake(): void {
    this.wakes++;
    this.inner.wake();
  }
}

/**
 * Reads what a socket has. Poll tries the syscall; on EAGAIN it tells the reactor to wake this
 * task when the fd is readable again, and returns PENDING.
 */
export class SocketRead extends Future<Uint8Array> {
  polls = 0;
  readonly #waker = new CountingWaker({ wake() {} });
  readonly #buf = new Uint8Array(4096);

  constructor(private readonly socket: AsyncFd) {
    super();
  }

  get wakes(): number {
    return this.#waker.wakes;
  }

  /** Makes the future reusable for the next read (a future is awaited once). */
  again(): this {
    this.rearm();
    return this;
  }

  poll(cx: Context): Poll<Uint8Array> {
    this.polls++;
    this.#waker.inner = cx.waker;
    for (;;) {
      const n = sys.read(this.socket.fd, this.#buf, 0, this.#buf.length);
      if (n >= 0) return this.#buf.slice(0, n);
      if (n !== -EAGAIN) throw new Error(`read failed: errno ${-n}`);
      this.socket.clearReadable();
      // Not ready: store the waker with the reactor. If readiness raced in, try again at once.
      if (!this.socket.pollReadable({ waker: this.#waker })) return PENDING;
    }
  }
}

function* writer(stream: TcpStream, pieces: string[], pauseMs: number): Task<void> {
  for (const piece of pieces) {
    yield* sleep(pauseMs);
    yield* stream.writeAll(new TextEncoder().encode(piece));
  }
  stream.shutdown('write');
}

/** Runs the demo and returns the lines it printed. */
export function* socketReadDemo(pauseMs: number, log: (line: string) => void): Task<{ polls: number; wakes: number; text: string }> {
  const listener = yield* TcpListener.bind('127.0.0.1:0');
  const client = yield* TcpStream.connect(listener.localAddress);
  // The connection is complete on the client side, so it waits in the listener's queue: take
  // its raw fd with a plain accept, and let SocketRead drive it.
  const fd = sys.accept(listener.fd);
  listener.close();
  if (fd < 0) throw new Error(`accept failed: errno ${-fd}`);
  const pieces = ['Hello, ', 'wakeloop ', 'from a ', 'real socket!'];
  const sending = spawn(writer(client, pieces, pauseMs));

  const socket = new AsyncFd(fd);
  const read = new SocketRead(socket);
  const start = performance.now();
  let text = '';
  log(`writer sends ${pieces.length} pieces, ${pauseMs} ms apart`);
  for (;;) {
    const chunk = yield* read.again();
    const ms = (performance.now() - start).toFixed(0);
    if (chunk.length === 0) {
      log(`+${ms} ms: end of stream`);
      break;
    }
    const piece = new TextDecoder().decode(chunk);
    text += piece;
    log(`+${ms} ms: read ${chunk.length} bytes ${JSON.stringify(piece)} (polled ${read.polls}, woken ${read.wakes} so far)`);
  }
  yield* sending;
  socket.deregister(); // deregister before close
  sys.close(fd);
  client.close();
  log(`read ${JSON.stringify(text)}`);
  log(`SocketRead was polled ${read.polls} times and woken ${read.wakes} times by the reactor:`);
  // With no pause the pieces can arrive together, and one wake (or none) may find them all.
  if (read.wakes > 1) log(`between pieces it returned PENDING and the thread slept in the kernel until data arrived.`);
  else if (read.wakes === 1) log(`the pieces arrived together: it returned PENDING and slept in the kernel once, for the first.`);
  else log(`the data was there before it looked: it never returned PENDING.`);
  return { polls: read.polls, wakes: read.wakes, text };
}

const USAGE = 'usage: wakeloop socket-read [--pause MS]\n  --pause MS  the writer\'s pause between pieces, 0 to 60000 (default 300)';

/** Reads the command line; throws a UsageError (or parseArgs' TypeError) saying what is wrong. */
function parseOptions(argv: string[]): { pause: number } {
  const { values } = parseArgs({ args: argv, options: { pause: { type: 'string', default: '300' } } });
  return { pause: integer('pause', values.pause!, 0, 60_000) };
}

/**
 * CLI entry: `wakeloop socket-read [--pause MS]`. Returns the exit code: 0, or 2 for a bad
 * command line.
 *
 * @example
 * ```ts
 * process.exitCode = main(['--pause', '50']);
 * ```
 */
export function main(argv: string[]): number {
  const o = readCommandLine('socket-read', USAGE, argv, parseOptions);
  if (typeof o === 'number') return o;
  blockOn(socketReadDemo(o.pause, say));
  return 0;
}
