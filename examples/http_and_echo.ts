// `wakeloop http-and-echo`: one process, one thread, two servers on Node's event loop: a wakeloop
// echo server (the executor attached to Node's loop) and a node:http server. GET /echo?text=...
// is an ordinary async handler that awaits a wakeloop task, which asks the echo server over a
// wakeloop TcpStream; the wakeloop side awaits Promises (the http server listening, a signal).
import http from 'node:http';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import {
  TcpListener,
  TcpStream,
  attach,
  formatAddress,
  fromPromise,
  spawn,
  toPromise,
  type SocketAddress,
  type Task,
} from '../src/index.js';
import { echo } from './echo_server.js';

/**
 * Sends `text` to the echo server at `address` over a wakeloop connection; returns the echo.
 *
 * @example
 * ```ts
 * const echoed = await toPromise(askEcho({ address: '127.0.0.1', port: 7000, family: 4 }, 'hi'));
 * ```
 */
export function* askEcho(address: SocketAddress, text: string): Task<string> {
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
async function handle(req: http.IncomingMessage, res: http.ServerResponse, echoAt: SocketAddress): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/echo') {
    const echoed = await toPromise(askEcho(echoAt, url.searchParams.get('text') ?? ''));
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

/** A Promise of the first SIGINT or SIGTERM (Node's own signal handling works while attached). */
function nextSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (name: string) => {
      process.off('SIGINT', on).off('SIGTERM', on);
      resolve(name);
    };
    process.on('SIGINT', on).on('SIGTERM', on);
  });
}

/** The wakeloop main task: starts both servers, waits for a signal, closes both. */
function* serveBoth(host: string, echoPort: number, httpPort: number): Task<string> {
  const listener = yield* TcpListener.bind({ host, port: echoPort });
  const accepting = spawn(acceptLoop(listener));
  const web = http.createServer((req, res) => {
    handle(req, res, listener.localAddress).catch((error: unknown) => {
      res.writeHead(502).end(`echo failed: ${(error as Error).message}\n`);
    });
  });
  try {
    web.listen(httpPort, host);
    yield* fromPromise(once(web, 'listening')); // a Promise awaited by a wakeloop task
    const { port } = web.address() as { port: number };
    console.log(`echo listening on ${formatAddress(listener.localAddress)}`);
    console.log(`http listening on ${formatAddress({ address: host, port, family: host.includes(':') ? 6 : 4 })}`);
    return yield* fromPromise(nextSignal());
  } finally {
    accepting.cancel();
    listener.close();
    web.close();
    web.closeAllConnections();
  }
}

/** CLI entry: `wakeloop http-and-echo [--host 127.0.0.1] [--echo-port 7000] [--http-port 8080]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      'echo-port': { type: 'string', default: '7000' },
      'http-port': { type: 'string', default: '8080' },
    },
  });
  const ports = [values['echo-port']!, values['http-port']!].map(Number);
  for (const [i, port] of ports.entries()) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      const flag = i === 0 ? '--echo-port' : '--http-port';
      process.stderr.write(`http-and-echo: ${flag} must be an integer from 0 to 65535, got '${i === 0 ? values['echo-port'] : values['http-port']}'\n`);
      return 2;
    }
  }
  const attachment = attach(); // this thread's default executor, the one spawn() and toPromise() use
  try {
    const which = await toPromise(serveBoth(values.host!, ports[0], ports[1]));
    const open = attachment.executor.taskCount;
    console.log(`${which}: closed both servers`);
    console.log(`closed ${open} echo connection(s)`);
    return 0;
  } finally {
    attachment.detach();
    attachment.executor.close(); // cancels the echo connections; their finally closes each stream
  }
}
