// `wakeloop echo-server`: echoes every byte on every connection until SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import {
  Executor,
  IoError,
  TcpListener,
  TcpStream,
  formatAddress,
  signal,
  spawn,
  type Task,
} from '../src/index.js';

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
export function* echoServer(host: string, port: number, log = (line: string) => console.log(line)): Task<void> {
  const listener = yield* TcpListener.bind({ host, port });
  log(`listening on ${formatAddress(listener.localAddress)}`);
  const accepting = spawn(acceptLoop(listener));
  const which = yield* signal('SIGINT', 'SIGTERM');
  accepting.cancel();
  listener.close();
  log(`${which}: closed the listener`);
}

/** CLI entry: `wakeloop echo-server [--host 127.0.0.1] [--port 7000]`. */
export function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '7000' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`echo-server: --port must be an integer from 0 to 65535, got '${values.port}'\n`);
    return 2;
  }
  const executor = new Executor();
  executor.blockOn(echoServer(values.host!, port));
  const open = executor.taskCount;
  executor.close();
  console.log(`closed ${open} connection(s)`);
  return 0;
}
