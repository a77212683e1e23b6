// `wakeloop http-and-echo`: one process, one thread, two servers on Node's event loop: a wakeloop
// echo server (the executor attached to Node's loop) and a node:http server. GET /echo?text=...
// is an ordinary async handler that awaits a wakeloop task, which asks the echo server over a
// wakeloop TcpStream; the wakeloop side awaits Promises (the http server listening, a signal).
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import {
  Executor,
  IoError,
  ResolveError,
  TcpListener,
  TcpStream,
  attach,
  formatAddress,
  fromPromise,
  listenSignals,
  spawn,
  toPromise,
  type AddressInput,
  type SocketAddress,
  type Task,
} from '../src/index.js';
import { hostFlag, integer, readCommandLine, say, sayError } from './command_line.js';
import { echo } from './echo_server.js';

/**
 * Sends `text` to the echo server at `address` over a wakeloop connection; returns the echo.
 *
 * @example
 * ```ts
 * const echoed = await toPromise(askEcho('127.0.0.1:7000', 'hi'));
 * ```
 */
export function* askEcho(address: AddressInput, text: string): Task<string> {
  const stream = yield* TcpStream.connect(address);
  try {
    yield* stream.writeAll(Buffer.from(text));
    stream.shutdown('write'); // the echo server answers, then sees EOF and closes
    const parts: Buffer[] = [];
    for (;;) {
      const data = yield* stream.read(); // a view of the shared read buffer: copy it now
      if (data.length === 0) return Buffer.concat(parts).toString();
      parts.push(Buffer.from(data));
    }
  } finally {
    stream.close();
  }
}

/** The HTTP side: plain Node code. `/echo` awaits a wakeloop task like any Promise. */
async function handle(req: http.IncomingMessage, res: http.ServerResponse, echoAt: SocketAddress, executor: Executor): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/echo') {
    const echoed = await toPromise(askEcho(echoAt, url.searchParams.get('text') ?? ''), executor);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed }));
  } else if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('node:http here, next to a wakeloop echo server\n');
  } else {
    res.writeHead(404).end();
  }
}

/** Accepts echo connections until cancelled. */
function* acceptLoop(listener: TcpListener): Task<void> {
  for (;;) {
    const stream = yield* listener.accept();
    stream.setNoDelay(true);
    spawn(echo(stream));
  }
}

/** The wakeloop main task: starts both servers, waits for a signal, closes both. */
function* serveBoth(host: string, echoPort: number, httpPort: number): Task<string> {
  const listener = yield* TcpListener.bind({ host, port: echoPort });
  const accepting = spawn(acceptLoop(listener));
  const executor = Executor.current(); // for the HTTP handlers, which run outside any task
  const web = http.createServer((req, res) => {
    handle(req, res, listener.localAddress, executor).catch((error: unknown) => {
      res.writeHead(502).end(`echo failed: ${(error as Error).message}\n`);
    });
  });
  try {
    web.listen(httpPort, host);
    yield* fromPromise(once(web, 'listening')); // a Promise awaited by a wakeloop task; rejects on 'error'
    const bound = web.address() as AddressInfo; // the address Node bound, as the echo line shows wakeloop's
    // The handlers are installed before the addresses are announced: whoever reads the lines
    // may signal at once, and the signal's default action would kill the process.
    using signals = listenSignals('SIGINT', 'SIGTERM');
    say(`echo listening on ${formatAddress(listener.localAddress)}`);
    say(`http listening on ${formatAddress({ address: bound.address, port: bound.port, family: bound.family === 'IPv6' ? 6 : 4 })}`);
    return yield* signals.recv();
  } finally {
    accepting.cancel();
    listener.close();
    web.close();
    web.closeAllConnections();
  }
}

const USAGE = 'usage: wakeloop http-and-echo [--host 127.0.0.1] [--echo-port 7000] [--http-port 8080]';

/** Reads the command line; throws a UsageError (or parseArgs' TypeError) saying what is wrong. */
function parseOptions(argv: string[]): { host: string; echoPort: number; httpPort: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      'echo-port': { type: 'string', default: '7000' },
      'http-port': { type: 'string', default: '8080' },
    },
  });
  return {
    host: hostFlag('host', values.host!),
    echoPort: integer('echo-port', values['echo-port']!, 0, 65535),
    httpPort: integer('http-port', values['http-port']!, 0, 65535),
  };
}

/**
 * CLI entry: `wakeloop http-and-echo [--host 127.0.0.1] [--echo-port 7000] [--http-port 8080]`.
 * Resolves to the exit code: 0 after SIGINT or SIGTERM, 1 if a server cannot listen, 2 for a
 * bad command line.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['--echo-port', '7000', '--http-port', '8080']);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const o = readCommandLine('http-and-echo', USAGE, argv, parseOptions);
  if (typeof o === 'number') return o;
  const executor = new Executor({ backend: 'epoll' }); // attach() needs epoll, whatever WAKELOOP_BACKEND says
  try {
    const attachment = attach(executor);
    let which: string;
    try {
      which = await toPromise(serveBoth(o.host, o.echoPort, o.httpPort), executor);
    } finally {
      attachment.detach();
    }
    say(`${which}: closed both servers`);
    say(`closed ${executor.taskCount} echo connection(s)`);
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!(error instanceof IoError || error instanceof ResolveError || code === 'EADDRINUSE' || code === 'EACCES')) throw error;
    sayError(`http-and-echo: ${(error as Error).message}`);
    return 1;
  } finally {
    executor.close(); // cancels the echo connections; their finally closes each stream
  }
}
