// `wakeloop echo-server`: echoes every byte on every connection until SIGINT or SIGTERM.
// Three ways to run the same echo task: on a blockOn loop that owns the thread (default), inside
// Node's event loop (--attached), or on N worker threads sharing the port (--threads N).
import { parseArgs } from 'node:util';
import {
  Executor,
  IoError,
  ResolveError,
  TcpListener,
  TcpStream,
  attach,
  formatAddress,
  listenSignals,
  resolve,
  serveOnThreads,
  spawn,
  sys,
  toPromise,
  type ServeContext,
  type SocketAddress,
  type Task,
} from '../src/index.js';
import { UsageError, hostFlag, integer, readCommandLine, say, sayError } from './command_line.js';

/** Echoes what the peer sends until it closes; a reset or similar ends only this connection. */
export function* echo(stream: TcpStream): Task<void> {
  try {
    for (;;) {
      const data = yield* stream.read(); // a view of the shared read buffer, written at once
      if (data.length === 0) return;
      yield* stream.writeAll(data);
    }
  } catch (error) {
    if (!(error instanceof IoError)) throw error;
  } finally {
    stream[Symbol.dispose]();
  }
}

/** Accepts connections on `listener`, one echo task each, until cancelled. */
function* acceptLoop(listener: TcpListener): Task<void> {
  for (;;) {
    const stream = yield* listener.accept();
    stream.setNoDelay(true);
    spawn(echo(stream));
  }
}

/**
 * Serves on host:port until SIGINT or SIGTERM, then stops accepting and closes the listener.
 * The connections' tasks are still running: closing the executor cancels them, and each one's
 * `finally` closes its stream.
 */
export function* echoServer(host: string, port: number, log = say): Task<void> {
  const listener = yield* TcpListener.bind({ host, port });
  // The handlers are installed before the address is announced: whoever reads the line may
  // signal at once, and the signal's default action would kill the process.
  using signals = listenSignals('SIGINT', 'SIGTERM');
  log(`listening on ${formatAddress(listener.localAddress)}`);
  const accepting = spawn(acceptLoop(listener));
  const which = yield* signals.recv();
  accepting.cancel();
  listener.close();
  log(`${which}: closed the listener`);
}

/**
 * One worker's server for `--threads N` (run by serveOnThreads in each thread): listens on the
 * shared port with SO_REUSEPORT and serves until the supervisor stops the worker, which cancels
 * this task (the finally closes the listener) and then closes the connections.
 *
 * @example
 * ```ts
 * serveOnThreads({ threads: 2, module: new URL('./echo_server.js', import.meta.url), exportName: 'echoWorker', args: ['127.0.0.1', 7000] });
 * ```
 */
export function* echoWorker(ctx: ServeContext, host: string, port: number): Task<void> {
  const listener = yield* TcpListener.bind({ host, port }, { reusePort: true });
  try {
    ctx.ready(formatAddress(listener.localAddress));
    yield* acceptLoop(listener);
  } finally {
    listener.close();
  }
}

const USAGE = 'usage: wakeloop echo-server [--host 127.0.0.1] [--port 7000] [--attached | --threads N]';

/** What the command line asks for. */
interface Options {
  host: string;
  port: number;
  attached: boolean;
  /** Worker threads for `--threads N`, or undefined to serve on this thread. */
  threads?: number;
}

/** Reads the command line; throws a UsageError (or parseArgs' TypeError) saying what is wrong. */
function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '7000' },
      attached: { type: 'boolean', default: false },
      threads: { type: 'string' },
    },
  });
  const options: Options = { host: hostFlag('host', values.host!), port: integer('port', values.port!, 0, 65535), attached: values.attached! };
  if (values.threads !== undefined) {
    options.threads = integer('threads', values.threads, 1, 256);
    if (options.attached) throw new UsageError('--attached and --threads do not combine (the workers run blockOn)');
  }
  return options;
}

/**
 * CLI entry: `wakeloop echo-server [--host 127.0.0.1] [--port 7000] [--attached | --threads N]`.
 * Resolves to the exit code: 0 after SIGINT or SIGTERM, 1 if it cannot listen (the port is
 * taken, say), 2 for a bad command line.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['--port', '7000', '--threads', '2']);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const o = readCommandLine('echo-server', USAGE, argv, parseOptions);
  if (typeof o === 'number') return o;
  try {
    if (o.threads !== undefined) return await serveThreads(o.host, o.port, o.threads);
    return o.attached ? await serveAttached(o.host, o.port) : serveBlocking(o.host, o.port);
  } catch (error) {
    if (!(error instanceof IoError || error instanceof ResolveError)) throw error;
    sayError(`echo-server: ${error.message}`);
    return 1;
  }
}

/** The default: the server task on a blockOn loop that owns the thread. */
function serveBlocking(host: string, port: number): number {
  const executor = new Executor();
  try {
    executor.blockOn(echoServer(host, port));
    say(`closed ${executor.taskCount} connection(s)`);
  } finally {
    executor.close(); // cancels the connections' tasks
  }
  return 0;
}

/** `--attached`: the same server task, run by Node's loop (wakeloop's signal() works there too). */
async function serveAttached(host: string, port: number): Promise<number> {
  const executor = new Executor({ backend: 'epoll' }); // attach() needs epoll, whatever WAKELOOP_BACKEND says
  try {
    const attachment = attach(executor);
    try {
      await toPromise(echoServer(host, port), executor);
    } finally {
      attachment.detach();
    }
    say(`closed ${executor.taskCount} connection(s)`);
  } finally {
    executor.close();
  }
  return 0;
}

/**
 * `--threads N`: this thread supervises from Node's loop (attached: worker events and
 * process.on('SIGINT') are delivered, which they would not be inside blockOn); N workers serve.
 */
async function serveThreads(host: string, port: number, threads: number): Promise<number> {
  const executor = new Executor({ backend: 'epoll' });
  const attachment = attach(executor);
  let onSignal!: (name: string) => void;
  const stop = new Promise<string>((done) => (onSignal = done));
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let reservation: { fd: number; address: SocketAddress } | undefined;
  try {
    reservation = await toPromise(reservePort(host, port), executor);
    const { address } = reservation;
    const server = serveOnThreads({
      threads,
      module: new URL(import.meta.url),
      exportName: 'echoWorker',
      args: [address.address, address.port],
    });
    try {
      await server.ready;
    } catch (error) {
      await server.stop();
      throw error;
    } finally {
      sys.close(reservation.fd); // every worker's listener holds the port now
      reservation = undefined;
    }
    say(`listening on ${formatAddress(address)} (${threads} thread${threads === 1 ? '' : 's'})`);
    const which = await Promise.race([stop, server.exited.then(() => null)]);
    const exits = await server.stop();
    if (which === null) {
      sayError('echo-server: every worker thread ended');
      return 1;
    }
    say(`${which}: stopped ${threads} worker thread(s)`);
    say(`closed ${exits.reduce((n, e) => n + (e.openTasks ?? 0), 0)} connection(s)`);
    return exits.every((e) => e.expected) ? 0 : 1;
  } finally {
    if (reservation !== undefined) sys.close(reservation.fd);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    attachment.detach();
    executor.close();
  }
}

/**
 * Makes sure no other program serves host:port, then reserves it for the workers: port 0 becomes
 * a real port every worker can join. A probe without SO_REUSEPORT binds first: it fails with
 * EADDRINUSE if anyone listens there, where a SO_REUSEPORT socket would silently join another
 * program's SO_REUSEPORT listeners and split its connections. Then, on the port the probe got,
 * the reservation: a SO_REUSEPORT socket, bound but not listening, which takes no connections
 * (only listening sockets share them). The port is free between the two binds for a moment.
 */
function* reservePort(host: string, port: number): Task<{ fd: number; address: SocketAddress }> {
  const [addr] = yield* resolve(host);
  const probe = bindSocket(addr.family, addr.address, port, false);
  sys.close(probe.fd);
  return bindSocket(addr.family, addr.address, probe.address.port, true);
}

/** A new socket bound (not listening) to address:port, with SO_REUSEPORT if `reusePort`. */
function bindSocket(family: 4 | 6, address: string, port: number, reusePort: boolean): { fd: number; address: SocketAddress } {
  const fd = sys.socket(family);
  if (fd < 0) throw new IoError('socket', fd);
  // SO_REUSEADDR, as TcpListener.bind sets it: an earlier server's connections in TIME_WAIT
  // would otherwise keep the port from binding for a minute.
  let rc = sys.setReuseAddr(fd, true);
  if (rc >= 0 && reusePort) rc = sys.setReusePort(fd, true);
  if (rc >= 0) rc = sys.bind(fd, address, port);
  const local = rc >= 0 ? sys.localAddress(fd) : rc;
  if (typeof local === 'number') {
    sys.close(fd);
    throw new IoError('bind', local, formatAddress({ address, port, family }));
  }
  return { fd, address: local };
}
