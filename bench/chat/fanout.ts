// The chat fan-out benchmark on its own: the wakeloop chat server against the node:net one
// (bench/chat/node_net_chat_server.ts), in one run, for one or more windows (posts in flight).
// `npm run bench -- --only chat-fanout` runs the same workload (window 64) inside the full table.
//
//   node dist/bench/chat/fanout.js [--windows 16,64,256] [--members 100] [--size 64]
//                                  [--duration S] [--repeats N] [--warmup S] [--wait-quiet S]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../examples/command_line.js';
import { buildC } from '../build_c.js';
import { contenders } from '../contenders.js';
import { isProgram } from '../is_program.js';
import { TIMING_OPTIONS, numberOption, parseOrUsage, timing, wholeAtLeastOne, type Timing } from '../timing_options.js';
import { resultsDir } from '../paths.js';
import { machineInfo } from '../proc_stats.js';
import { installCleanup, pinning, stopAll } from '../processes.js';
import { workloads } from '../workloads.js';
import { measureFanout, type FanoutShape } from './measure_fanout.js';

const USAGE = `usage: node dist/bench/chat/fanout.js [options]
  --windows 16,64,256  posts in flight, one measured cell each (whole numbers, 1 or more)
  --members N          chat members in the group (default 100)
  --size B             bytes per post (default 64)
  --duration S         seconds per measured run (default 5)
  --repeats N          measured runs per cell, the median is reported (default 3)
  --warmup S           seconds of unmeasured warm-up per server (default 1)
  --wait-quiet S       seconds to wait per run for other processes to go quiet (default 0)`;

/** The checked command line of the fan-out tool. */
export interface FanoutOptions extends Timing {
  help: boolean;
  windows: number[];
  members: number;
  size: number;
}

/**
 * Parses the fan-out tool's arguments; a UsageError for anything it cannot run as given (it
 * used to turn `--warmup 0` into 0.5 s, round `--repeats 1.5` and run `--windows x` as NaN).
 *
 * @example
 * ```ts
 * parseFanoutOptions(['--windows', '64', '--repeats', '1']).windows; // [64]
 * ```
 */
export function parseFanoutOptions(args: string[]): FanoutOptions {
  const { values } = parseOrUsage({
    args,
    options: {
      windows: { type: 'string' },
      members: { type: 'string' },
      size: { type: 'string' },
      ...TIMING_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const whole = (name: 'members' | 'size', fallback: number) =>
    numberOption(name, values[name], fallback, wholeAtLeastOne, 'a whole number, 1 or more');
  const windows = (values.windows ?? '16,64,256').split(',').map((w) => numberOption('windows', w, NaN, wholeAtLeastOne, 'whole numbers, 1 or more'));
  return {
    help: values.help,
    windows,
    members: whole('members', 100),
    size: whole('size', 64),
    ...timing(values, { duration: 5, repeats: 3, warmup: 1 }),
  };
}

async function main(): Promise<void> {
  let options: FanoutOptions;
  try {
    options = parseFanoutOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`fanout: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const { windows, members, size, help: _, ...o } = options;
  installCleanup();
  const built = buildC('chat_loadgen');
  if (!built.ok) throw new Error(built.error);
  const workload = workloads.find((w) => w.name === 'chat-fanout')!;
  const cs = contenders.filter((c) => c.servers.chat !== undefined);
  const rows: unknown[] = [];
  console.log(`chat fan-out: ${members} members, ${size} B posts; ${o.repeats} x ${o.duration} s per cell, median; ` +
    (pinning.enabled ? `servers on CPU ${pinning.server}, load generator on CPU ${pinning.loadgen}` : 'not pinned'));
  for (const window of windows) {
    const shape: FanoutShape = { members, size, window };
    const cells = await measureFanout(workload, shape, cs, o, (c, what) => process.stderr.write(`window ${window} · ${c.label} · ${what}\n`));
    const value = (name: string) => cells.find((cell) => cell.contender === name)?.median?.value;
    const ratio = (value('wakeloop') ?? NaN) / (value('node-net') ?? NaN);
    for (const cell of cells) {
      const m = cell.median;
      const label = contenders.find((c) => c.name === cell.contender)!.label;
      const runs = cell.runs.map((r) => (r.value / 1e6).toFixed(2)).join(' ');
      const disturbed = cell.runs.filter((r) => r.disturbed).length;
      console.log(
        `window ${String(window).padStart(4)}  ${label.padEnd(9)} ` +
          (m
            ? `${(m.value / 1e6).toFixed(2)} M deliveries/s  p50 ${(m.p50Us / 1000).toFixed(2)} ms  p99 ${(m.p99Us / 1000).toFixed(2)} ms  ` +
              `server CPU ${(m.serverCpu * 100).toFixed(0)}%  loadgen CPU ${(m.loadgenCpu * 100).toFixed(0)}%  runs [${runs}]` +
              (disturbed ? `  disturbed ${disturbed}/${cell.runs.length}` : '')
            : `${cell.status}: ${cell.reason}`),
      );
    }
    console.log(`window ${String(window).padStart(4)}  wakeloop / node:net = ${ratio.toFixed(2)}`);
    rows.push({ window, shape, cells, ratio });
  }
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `chat-fanout-${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(file, JSON.stringify({ machine: machineInfo(), options: { ...o, windows }, rows }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

if (isProgram(import.meta.url)) {
  main().catch(async (err: unknown) => {
    console.error(`fanout: ${(err as Error).stack ?? err}`);
    await stopAll();
    process.exit(1);
  });
}
