// `wakeloop select-demo`, its command line: reads the options, runs the three versions of
// select_demo.ts one after the other and prints a report for each.
import { parseArgs } from 'node:util';
import { Executor } from '../src/index.js';
import { integer, readCommandLine, say } from './command_line.js';
import { DEFAULTS, VERSIONS, runVersion, type DemoOptions, type Report, type Version } from './select_demo.js';

const TITLES: Record<Version, string> = {
  naive: 'naive: select(parse frame with readExact, channel.recv()), a new parse future every loop',
  'read-task': 'read task: a task parses and forwards frames; select(frames.recv(), channel.recv(), its JoinHandle)',
  bufreader: 'BufReader: select(reader.readFrame(), channel.recv()); readFrame is cancel-safe',
};

/**
 * The report of one version, a few lines, numbered `n`.
 *
 * @example
 * ```ts
 * console.log(formatReport(report, 1));
 * ```
 */
export function formatReport(r: Report, n: number): string {
  const f = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `${n}. ${TITLES[r.version]}`,
    `   messages sent ${f(r.sent)}, received intact ${f(r.intact)}, corrupted ${f(r.corrupted)}, lost ${f(r.sent - r.intact)}`,
    `   bytes lost ${f(r.bytesLost)} of ${f(r.sentBytes)}` +
      (r.version === 'naive' && r.bytesLost > 0
        ? ` (${f(r.swallowed)} dropped inside cancelled parse futures${r.swallowed < r.bytesLost ? '; after that the stream was out of step' : ''})`
        : ''),
    `   channel messages handled meanwhile: ${f(r.ticks)}`,
  ];
  return lines.join('\n');
}

const USAGE = 'usage: wakeloop select-demo [--messages N] [--piece BYTES] [--pause MS] [--tick MS]';

/** Reads the command line; throws a UsageError (or parseArgs' TypeError) saying what is wrong. */
function parseOptions(argv: string[]): DemoOptions {
  const d = (n: number) => ({ type: 'string' as const, default: String(n) });
  const { values } = parseArgs({
    args: argv,
    options: { messages: d(DEFAULTS.messages), piece: d(DEFAULTS.pieceBytes), pause: d(DEFAULTS.pauseMs), tick: d(DEFAULTS.tickMs) },
  });
  return {
    messages: integer('messages', values.messages, 1, 1_000_000),
    pieceBytes: integer('piece', values.piece, 1, 65_536),
    pauseMs: integer('pause', values.pause, 0, 60_000),
    tickMs: integer('tick', values.tick, 0, 60_000),
  };
}

/**
 * CLI entry: runs the three versions and prints a report for each. Returns 1 if a fixed version
 * lost data, 2 for bad options. Lines nobody reads any more (`select-demo | head -1`) are
 * dropped; the demo runs to its end.
 *
 * @example
 * ```ts
 * process.exitCode = main(['--messages', '50']);
 * ```
 */
export function main(argv: string[]): number {
  const o = readCommandLine('select-demo', USAGE, argv, parseOptions);
  if (typeof o === 'number') return o;
  say(
    `${o.messages} length-prefixed messages are written to a socket on 127.0.0.1 in ${o.pieceBytes}-byte pieces, ` +
      `${o.pauseMs} ms apart,\nwhile another task sends on a channel every ${o.tickMs} ms. ` +
      'The handler selects between the two.\n',
  );
  const executor = new Executor();
  let failed = false;
  try {
    VERSIONS.forEach((version, i) => {
      const r = executor.blockOn(runVersion(version, o));
      say(`${formatReport(r, i + 1)}\n`);
      if (version !== 'naive' && r.bytesLost > 0) failed = true;
    });
  } finally {
    executor.close();
  }
  say('The naive parser is not cancel-safe: readExact() holds bytes it took from the socket, and select() drops it.');
  return failed ? 1 : 0;
}
