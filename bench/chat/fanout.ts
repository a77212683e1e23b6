// The chat fan-out benchmark on its own: the wakeloop chat server against the node:net one
// (bench/chat/node_net_chat_server.ts), in one run, for one or more windows (posts in flight).
// `npm run bench -- --only chat-fanout` runs the same workload (window 64) inside the full table.
//
//   node dist/bench/chat/fanout.js [--windows 16,64,256] [--members 100] [--size 64]
//                                  [--duration S] [--repeats N] [--warmup S] [--wait-quiet S]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildC } from '../build_c.js';
import { contenders } from '../contenders.js';
import { resultsDir } from '../paths.js';
import { machineInfo } from '../proc_stats.js';
import { installCleanup, pinning, stopAll } from '../processes.js';
import { workloads } from '../workloads.js';
import { measureFanout, type FanoutShape } from './measure_fanout.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      windows: { type: 'string', default: '16,64,256' },
      members: { type: 'string', default: '100' },
      size: { type: 'string', default: '64' },
      duration: { type: 'string', default: '5' },
      repeats: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      'wait-quiet': { type: 'string', default: '0' },
    },
  });
  const num = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!(n >= 0)) throw new Error(`--${name} must be a number`);
    return n;
  };
  const windows = String(values.windows).split(',').map(Number);
  const o = { duration: num('duration'), repeats: Math.max(1, Math.round(num('repeats'))), warmup: num('warmup') || 0.5, waitQuiet: num('wait-quiet') };
  installCleanup();
  const built = buildC('chat_loadgen');
  if (!built.ok) throw new Error(built.error);
  const workload = workloads.find((w) => w.name === 'chat-fanout')!;
  const cs = contenders.filter((c) => c.servers.chat !== undefined);
  const rows: unknown[] = [];
  console.log(`chat fan-out: ${values.members} members, ${values.size} B posts; ${o.repeats} x ${o.duration} s per cell, median; ` +
    (pinning.enabled ? `servers on CPU ${pinning.server}, load generator on CPU ${pinning.loadgen}` : 'not pinned'));
  for (const window of windows) {
    const shape: FanoutShape = { members: num('members'), size: num('size'), window };
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

main().catch(async (err: unknown) => {
  console.error(`fanout: ${(err as Error).stack ?? err}`);
  await stopAll();
  process.exit(1);
});
