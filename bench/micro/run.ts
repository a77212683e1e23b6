// Runs the micro-benchmarks with tinybench (one Bench per row, each on a fresh Executor), measures
// bytes allocated per operation, prints the table and writes bench/results/micro-<date>.json.
//
//   npm run bench:micro                                   # all rows, 1 s each
//   node --expose-gc dist/bench/micro/run.js --only mpsc,mutex --time 500
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { Executor } from '../../src/index.js';
import { UsageError, integer, readCommandLine } from '../../examples/command_line.js';
import { resultsDir } from '../paths.js';
import { disturbance, interference, machineInfo, snapshot } from '../proc_stats.js';
import { ALLOC_METHOD, allocatedBytes, bytesPerOp, calibrationRun, type AllocResult } from './_alloc.js';
import { microBenches } from './all.js';
import type { MicroBench } from './_micro.js';

/** One row of the results. */
interface Row {
  name: string;
  op: string;
  opsPerIteration: number;
  samples: number;
  opsPerSec: number;
  nsPerOp: { mean: number; p50: number; min: number; max: number; sd: number };
  /** Relative margin of error of the mean at 95 %, in percent (tinybench's rme). */
  rmePercent: number;
  alloc: AllocResult;
  zeroAllocDesigned: boolean;
  otherCpu: number;
  stealCpu: number;
  disturbed?: string;
}

const USAGE = `usage: node --expose-gc dist/bench/micro/run.js [--only TEXT[,TEXT]]... [--time MS]   (npm run bench:micro -- ...)
  --only TEXT   rows whose name contains TEXT, e.g. ${[...new Set(microBenches.map((b) => b.name.split(/[: ]/)[0]))].join(', ')}
  --time MS     measuring time per row (default 1000)`;

/** The command line, checked: the rows to run and the time for each. */
function parseOptions(argv: string[]): { timeMs: number; only: string[]; selected: MicroBench[] } {
  const { values } = parseArgs({
    args: argv,
    options: {
      time: { type: 'string', default: '1000' },
      only: { type: 'string', multiple: true, default: [] },
    },
  });
  const timeMs = integer('time', values.time, 1, 600_000);
  const only = values.only.flatMap((s) => s.split(',')).filter(Boolean);
  const selected = microBenches.filter((b) => only.length === 0 || only.some((s) => b.name.includes(s)));
  if (selected.length === 0) throw new UsageError(`--only ${only.join(',')}: no benchmark name contains that`);
  return { timeMs, only, selected };
}

const options = readCommandLine('bench:micro', USAGE, process.argv.slice(2), parseOptions);
if (typeof options === 'number') process.exit(options);
const { timeMs, only, selected } = options;
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('note: run with --expose-gc (npm run bench:micro does) so the allocation count of each row starts after a full GC\n');
}

function measure(b: MicroBench, backendOut: { name: string }): Row {
  const executor = new Executor();
  backendOut.name = executor.backend;
  try {
    const run = b.setup(executor);
    const bench = new Bench({ name: b.name, time: timeMs, warmupTime: Math.min(250, timeMs / 4), throws: true });
    bench.add(b.name, () => run(b.ops), { async: false });
    const before = snapshot();
    bench.runSync();
    const after = snapshot();
    const result = bench.tasks[0]!.result;
    if (result.state !== 'completed') throw new Error(`${b.name}: tinybench ended in state ${result.state}`);
    const lat = result.latency; // ms per iteration
    const ns = (ms: number) => (ms * 1e6) / b.ops;
    const alloc = bytesPerOp(run, b.ops * 20);
    const i = interference(before, after, [], 0);
    return {
      name: b.name,
      op: b.op,
      opsPerIteration: b.ops,
      samples: lat.samplesCount,
      opsPerSec: 1e9 / ns(lat.mean),
      nsPerOp: { mean: ns(lat.mean), p50: ns(lat.p50), min: ns(lat.min), max: ns(lat.max), sd: ns(lat.sd) },
      rmePercent: lat.rme,
      alloc,
      zeroAllocDesigned: b.zeroAlloc === true,
      otherCpu: i.otherCpu,
      stealCpu: i.stealCpu,
      disturbed: disturbance(i),
    };
  } finally {
    executor.close();
  }
}

function fmt(v: number, digits = 0): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: Row[]): string {
  const head = ['benchmark', 'ops/s', 'ns/op', '±%', 'p50 ns/op', 'B/op', 'notes'];
  const body = rows.map((r) => {
    const notes: string[] = [];
    if (r.zeroAllocDesigned) notes.push('designed 0 B/op');
    if (r.disturbed) notes.push(`disturbed: others ${fmt(r.otherCpu * 100)}% of a CPU, steal ${fmt(r.stealCpu * 100)}%`);
    return [
      r.name,
      fmt(r.opsPerSec),
      fmt(r.nsPerOp.mean, r.nsPerOp.mean < 100 ? 1 : 0),
      fmt(r.rmePercent, 1),
      fmt(r.nsPerOp.p50, r.nsPerOp.p50 < 100 ? 1 : 0),
      fmt(r.alloc.bytesPerOp, Math.abs(r.alloc.bytesPerOp) < 10 ? 2 : 0),
      notes.join('; '),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((cells) => cells[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((s, c) => (c === 0 || c === cells.length - 1 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').trim();
const loadavgBefore = loadavg();
const started = new Date();
const backend = { name: '' };
for (let i = 0; i < 20; i++) calibrationRun(100_000); // hot first, as the rows are after tinybench
allocatedBytes(() => {}); // warm the measuring code itself
const calibration = bytesPerOp(calibrationRun, 100_000);
const rows: Row[] = [];
for (const b of selected) {
  process.stderr.write(`${b.name} ...\n`);
  rows.push(measure(b, backend));
}
const loadavgAfter = loadavg();

console.log(table(rows));
console.log(
  `\nns/op = tinybench's mean time per iteration / ops per iteration; ±% = its relative margin of error (95 %).` +
    `\nB/op = ${ALLOC_METHOD}.` +
    `\ncalibration: one { x } literal per op measured ${fmt(calibration.bytesPerOp, 2)} B/op (32 expected).` +
    `\n${backend.name} backend, node ${process.version}; /proc/loadavg before: ${loadavgBefore}; after: ${loadavgAfter}`,
);

const stamp = started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `micro-${stamp}.json`);
const json = {
  date: started.toISOString(),
  options: { timeMs, only, exposeGc: typeof globalThis.gc === 'function', backend: backend.name },
  machine: machineInfo(),
  loadavgBefore,
  loadavgAfter,
  allocMethod: ALLOC_METHOD,
  calibration,
  rows,
};
writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
console.log(`wrote ${file}`);
