// `wakeloop handshake`: two worker threads act out a TCP client and server, one state change at a
// time, passing the turn with Parker/Unparker and meeting at the end on a WaitGroup.
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Parker } from '../src/sync/parker.js';
import { WaitGroup } from '../src/sync/wait_group.js';
import { UsageError, asksForHelp } from './command_line.js';
import type { HandshakeRole } from './handshake_worker.js';

/** The seed's client start delay and TIME_WAIT (2MSL) timeout. */
const DEFAULT_MS = 1000;
/**
 * The shortest TIME_WAIT that keeps the output causal: the server prints its last CLOSED right
 * after the client enters TIME_WAIT, and that must happen before the client's timeout ends.
 * The start delay has no floor: the client starts counting only once the server listens.
 */
const MIN_TIME_WAIT_MS = 50;
/** How long, beyond the start delay, a side waits for an answer before it calls the handshake broken. */
const STALL_MS = 10_000;

const USAGE = `usage: wakeloop handshake [--start-delay MS] [--time-wait MS]

Two worker threads act out the TCP state machines of a client and a server, handing the turn
to each other with Parker/Unparker, and finish on a WaitGroup.

  --start-delay MS  how long the client waits, once the server listens, before connecting
                    (default ${DEFAULT_MS})
  --time-wait MS    the client's TIME_WAIT timeout, at least ${MIN_TIME_WAIT_MS} (default ${DEFAULT_MS})
`;

/** Waited on for 1 ms between EAGAIN retries of a write to a non-blocking stdout. */
const retryPause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes one line to stdout (fd 1) synchronously, so lines from several threads land in the
 * order they were written (worker `console.log` is relayed through the main thread later).
 * Retries when a non-blocking stdout pipe is momentarily full; drops the line if stdout closed.
 *
 * @example
 * ```ts
 * import { writeLine } from './handshake.js';
 *
 * writeLine('[Server] CLOSED');
 * ```
 */
export function writeLine(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return; // nobody reads stdout any more (`| head -1`): drop the line
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(retryPause, 0, 0, 1);
    }
  }
}

/** Parses one `MS` value: a whole number of milliseconds, at least `min`. */
function parseMs(flag: string, text: string | undefined, min: number): number {
  if (text === undefined) return DEFAULT_MS;
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new UsageError(`${flag} must be a whole number of milliseconds, got '${text}'`);
  }
  if (ms < min) {
    throw new UsageError(
      `${flag} must be at least ${min} ms, got ${ms}: a shorter TIME_WAIT can end before the server has printed CLOSED, and the lines come out of order`,
    );
  }
  return ms;
}

/** The parsed command line. */
interface Options {
  startDelayMs: number;
  timeWaitMs: number;
}

/** Parses the arguments after `handshake`; throws UsageError for anything unexpected. */
function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'start-delay': { type: 'string' },
        'time-wait': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    if (String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((err as Error).message);
    }
    throw err;
  }
  return {
    startDelayMs: parseMs('--start-delay', values['start-delay'], 0),
    timeWaitMs: parseMs('--time-wait', values['time-wait'], MIN_TIME_WAIT_MS),
  };
}

/**
 * Runs the handshake demo and resolves to the exit code: 0 after the 15 lines, 2 for a bad
 * command line (message on stderr), 1 if a worker failed (the handshake broke).
 *
 * The server worker prints CLOSED and LISTEN, then parks; the client worker waits until the
 * server listens, sleeps `--start-delay`, and from then on each side prints its next state,
 * unparks the other and parks, so every line is caused by the one before it. The client's
 * TIME_WAIT is a `parkTimeout` nobody ends early. Both workers and this thread then wait on
 * one WaitGroup, and this thread prints the last line. A broken handshake (a side that gets no
 * answer within 10 s past the start delay, an unpark of a closed parker, an unpark during
 * TIME_WAIT) fails a worker; both are then terminated and the code is 1. The workers run compiled JS
 * (`handshake_worker.js` next to this file, in `dist/examples/`).
 *
 * @example
 * ```ts
 * import { main } from './handshake.js';
 *
 * process.exitCode = await main(['--start-delay', '50', '--time-wait', '50']);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  if (!Array.isArray(argv) || !argv.every((arg) => typeof arg === 'string')) {
    throw new TypeError('main(argv): argv must be an array of strings');
  }
  if (asksForHelp(argv)) {
    writeLine(USAGE.trimEnd()); // whatever else the line holds, as every command does
    return 0;
  }
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    writeSync(2, `wakeloop handshake: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  return run(options);
}

/** Starts the two workers and waits for the finish line; resolves to the exit code. */
async function run({ startDelayMs, timeWaitMs }: Options): Promise<number> {
  const client = new Parker();
  const server = new Parker();
  const listening = new Parker();
  const finishLine = new WaitGroup();
  const roles: HandshakeRole[] = [
    {
      role: 'server',
      parker: server.toCloneable(),
      peer: client.unparker().toCloneable(),
      listening: listening.unparker().toCloneable(),
      finishLine: finishLine.toCloneable(),
      stallMs: startDelayMs + STALL_MS,
    },
    {
      role: 'client',
      parker: client.toCloneable(),
      peer: server.unparker().toCloneable(),
      listening: listening.toCloneable(),
      finishLine: finishLine.toCloneable(),
      stallMs: startDelayMs + STALL_MS,
      startDelayMs,
      timeWaitMs,
    },
  ];
  const script = new URL('./handshake_worker.js', import.meta.url);
  const workers = roles.map((role) => new Worker(script, { workerData: role }));
  const exited = workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code === 0) resolve();
          else reject(new Error(`a worker exited with code ${code}`));
        });
      }),
  );
  // A failed worker never reaches the finish line: stop waiting as soon as one fails.
  const failed = Promise.all(exited).then(() => new Promise<never>(() => {}));
  try {
    await Promise.race([finishLine.waitAsync(), failed]);
    writeLine('TCP connection disconnected');
    await Promise.all(exited);
    return 0;
  } catch (err) {
    await Promise.all(workers.map((worker) => worker.terminate()));
    writeSync(2, `wakeloop handshake: the handshake broke: ${(err as Error).message}\n`);
    return 1;
  }
}
