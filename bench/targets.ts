// The performance targets wakeloop is held to, checked against a bench run: each one met, missed
// or not measured (a workload or contender left out). `node dist/bench/targets.js FILE...` checks
// saved runs, and with several files says in how many of them (--quick runs left out) each
// target was met.
//
//   npm run bench:targets -- bench/results/2026-11-22T16-28-44Z.json
//   node dist/bench/targets.js bench/results/*.json      (after a tsc build)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, readCommandLine } from '../examples/command_line.js';
import { contenders } from './contenders.js';
import { isProgram } from './is_program.js';
import { median } from './measure.js';
import { relative, type Results, type WorkloadResults } from './report.js';
import { workloads } from './workloads.js';

/** Which figure of a workload's median a target compares. */
type Figure =
  | 'throughput' // relative(): the workload's headline figure, > 1 better
  | 'cpu' // server CPU per message, ours / the reference's
  | 'p99' // p99 round-trip latency, ours / the reference's
  | 'value'; // the headline figure itself (idle memory: KiB per connection)

/**
 * One target: `figure` of `contender` on `workload`, against `reference` (a ratio) or alone
 * (`value`), must be at least (`atLeast`) or at most (`atMost`) `bound`.
 */
export interface Target {
  workload: string;
  contender: string;
  reference?: string;
  figure: Figure;
  atLeast?: number;
  atMost?: number;
}

const ECHO_ROUNDS = ['pingpong1', 'pingpong16', 'pingpong256'];

/** The targets: throughput, CPU, latency and memory against node:net and C, per workload. */
export const targets: Target[] = [
  { workload: 'pingpong256', contender: 'wakeloop', reference: 'node-net', figure: 'throughput', atLeast: 1.5 },
  ...['pingpong256', 'pipelined', 'bulk'].map((workload): Target => ({ workload, contender: 'wakeloop', reference: 'c', figure: 'throughput', atLeast: 0.9 })),
  ...[...ECHO_ROUNDS, 'pipelined', 'bulk'].map((workload): Target => ({ workload, contender: 'wakeloop', reference: 'node-net', figure: 'cpu', atMost: 0.65 })),
  ...ECHO_ROUNDS.map((workload): Target => ({ workload, contender: 'wakeloop', reference: 'node-net', figure: 'p99', atMost: 1.1 })),
  { workload: 'idle', contender: 'wakeloop', figure: 'value', atMost: 2 },
  { workload: 'chat-fanout', contender: 'wakeloop', reference: 'node-net', figure: 'throughput', atLeast: 1.5 },
  { workload: 'pingpong256', contender: 'wakeloop-attached', reference: 'node-net', figure: 'throughput', atLeast: 1.5 },
  // "Within 10% of blockOn": being faster than blockOn is no miss.
  ...['pingpong256', 'pipelined'].map((workload): Target => ({ workload, contender: 'wakeloop-attached', reference: 'wakeloop', figure: 'throughput', atLeast: 0.9 })),
];

/** A target checked against one run: the figure measured, or undefined if the run lacks it. */
export interface TargetCheck {
  target: Target;
  /** What the target asks, in words: "pingpong256: wakeloop vs node:net, throughput >= 1.50x". */
  what: string;
  measured: number | undefined;
  verdict: 'met' | 'missed' | 'not measured';
}

const nameOf = (contender: string) => contenders.find((c) => c.name === contender)?.label ?? contender;

/** The target in words. */
export function describeTarget(t: Target): string {
  const bound = t.atLeast !== undefined ? `>= ${t.atLeast.toFixed(2)}` : `<= ${t.atMost!.toFixed(2)}`;
  if (t.figure === 'value') return `${t.workload}: ${nameOf(t.contender)}, ${workloads.find((w) => w.name === t.workload)?.unit ?? 'value'} ${bound}`;
  const figure = { throughput: 'throughput', cpu: 'server CPU per message', p99: 'p99 latency' }[t.figure];
  return `${t.workload}: ${nameOf(t.contender)} vs ${nameOf(t.reference!)}, ${figure} ${bound}x`;
}

/** The figure a target compares, from a workload's medians; undefined where it is missing. */
function measure(t: Target, wr: WorkloadResults): number | undefined {
  const ours = wr.cells.find((c) => c.contender === t.contender && c.status === 'ok' && c.median);
  if (ours === undefined) return undefined;
  if (t.figure === 'value') return ours.median!.value;
  const ref = wr.cells.find((c) => c.contender === t.reference && c.status === 'ok' && c.median);
  if (ref === undefined) return undefined;
  if (t.figure === 'throughput') return relative(wr, ours, t.reference!);
  const [a, b] = t.figure === 'cpu' ? [ours.median!.cpuPerMsgUs, ref.median!.cpuPerMsgUs] : [ours.median!.p99Us, ref.median!.p99Us];
  return a != null && b != null && b > 0 ? a / b : undefined;
}

/** Checks every target against a run; a figure the run could not compute (NaN) counts as missing. */
export function checkTargets(r: Results): TargetCheck[] {
  return targets.map((target) => {
    const wr = r.workloads.find((w) => w.workload.name === target.workload);
    const x = wr === undefined ? undefined : measure(target, wr);
    const measured = x !== undefined && Number.isFinite(x) ? x : undefined;
    const met = measured !== undefined && (target.atLeast !== undefined ? measured >= target.atLeast : measured <= target.atMost!);
    return { target, what: describeTarget(target), measured, verdict: measured === undefined ? 'not measured' : met ? 'met' : 'missed' };
  });
}

/**
 * A figure with three decimals, rounded away from the target's bound where it is not exact: a
 * figure that missed must not print as the bound itself (0.6504 against <= 0.65 printed 0.650).
 * Bounds have at most two decimals, so a figure that met it never prints past it either.
 */
function shown(x: number | undefined, t: Target): string {
  if (x === undefined) return '-';
  const thousandths = x * 1000;
  const rounded = t.atMost !== undefined ? Math.ceil(thousandths - 1e-9) : Math.floor(thousandths + 1e-9);
  return (rounded / 1000).toFixed(3);
}

/**
 * The checks as lines for the terminal: a count of those met, one line per target measured, and
 * how many the run did not measure (a run with --only or --contenders leaves most out).
 */
export function targetLines(checks: TargetCheck[]): string[] {
  const measured = checks.filter((c) => c.verdict !== 'not measured');
  const met = measured.filter((c) => c.verdict === 'met').length;
  const left = checks.length - measured.length;
  return [
    `targets: ${met} of ${measured.length} measured met`,
    ...measured.map((c) => `  ${c.verdict.padEnd(6)} ${c.what}: ${shown(c.measured, c.target)}`),
    ...(left > 0 ? [`  (${left} not measured: their workload or a contender they compare was not in this run)`] : []),
  ];
}

/** The checks as a Markdown table. */
export function targetTable(checks: TargetCheck[]): string[] {
  return ['| target | measured | verdict |', '|---|---|---|', ...checks.map((c) => `| ${c.what} | ${shown(c.measured, c.target)} | ${c.verdict} |`)];
}

/**
 * Several runs at once: per target, in how many runs it was measured and met, and the lowest,
 * median and highest figure.
 */
export function acrossRuns(runs: Results[]): string[] {
  const header = `target (over ${runs.length} run${runs.length === 1 ? '' : 's'})`;
  const checked = runs.map(checkTargets); // per run, in the order of `targets`
  const rows = targets.map((target, i) => {
    const figures = checked.map((checks) => checks[i]!.measured).filter((x): x is number => x !== undefined);
    const met = checked.filter((checks) => checks[i]!.verdict === 'met').length;
    const range = figures.length === 0 ? '-' : [Math.min(...figures), median(figures), Math.max(...figures)].map((x) => shown(x, target)).join(' / ');
    return [describeTarget(target), `${met} of ${figures.length}`, range];
  });
  const all = [[header, 'met', 'min / median / max'], ...rows];
  const widths = [0, 1].map((col) => Math.max(...all.map((row) => row[col]!.length)));
  return all.map((row) => `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
}

const USAGE =
  'usage: node dist/bench/targets.js RESULTS.json...   (npm run bench:targets -- RESULTS.json...)\n' +
  '  one file: its verdicts; several: per target, in how many runs it was met, and the lowest, median and highest figure';

/** The command line: one or more result files, no options. */
function parseFiles(argv: string[]): { files: string[] } {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new UsageError('no RESULTS.json given');
  return { files: positionals };
}

function main(argv: string[]): void {
  const options = readCommandLine('targets', USAGE, argv, parseFiles);
  if (typeof options === 'number') {
    process.exitCode = options;
    return;
  }
  const { files } = options;
  const read = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Results);
  // The micro-benchmarks' JSON files sit beside the runs' in bench/results/: they hold no workloads.
  const all = read.filter((r) => Array.isArray(r.workloads));
  if (all.length === 0) {
    console.error('targets: none of the files is a bench run (bench/results/<date>.json)');
    process.exitCode = 1;
    return;
  }
  if (all.length < read.length) console.log(`(${read.length - all.length} file(s) that are not bench runs left out)`);
  if (all.length === 1) {
    console.log(`${all[0]!.date}\n${targetLines(checkTargets(all[0]!)).join('\n')}`);
    return;
  }
  // A --quick run's 2-second cells are a smoke test, not a measurement to count.
  const runs = all.filter((r) => !r.quick);
  console.log(acrossRuns(runs).join('\n'));
  if (runs.length < all.length) console.log(`(${all.length - runs.length} --quick run(s) left out)`);
}

if (isProgram(import.meta.url)) main(process.argv.slice(2));
