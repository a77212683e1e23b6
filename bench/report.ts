// Turns the measured cells into the text table (stdout), the Markdown table and the JSON file.
import { C_REFERENCE, NODE_REFERENCE, type Contender } from './contenders.js';
import type { Cell } from './measure.js';
import type { machineInfo } from './proc_stats.js';
import { checkTargets, targetTable } from './targets.js';
import { higherIsBetter, type Workload } from './workloads.js';

export interface WorkloadResults {
  workload: Workload;
  cells: Cell[];
}

export interface Results {
  date: string;
  quick: boolean;
  options: { duration: number; warmup: number; repeats: number; waitQuiet: number; only: string[]; contenders: string[] };
  machine: ReturnType<typeof machineInfo> & { pinned: string; disturbedBeforeStart?: string };
  contenders: Pick<Contender, 'name' | 'label' | 'color' | 'cpus'>[];
  workloads: WorkloadResults[];
}

/**
 * Performance of a cell relative to a reference contender: > 1 is better, whatever the metric.
 * Higher is better: ours / the reference's. Lower is better (idle memory growth): the
 * reference's / ours, 0 when the reference did not grow. Undefined where no ratio means anything
 * (a denominator of 0 or less, a figure missing); versus() says why in words.
 */
export function relative(wr: WorkloadResults, cell: Cell, refName: string): number | undefined {
  const figures = headlines(wr, cell, refName);
  if (figures === undefined) return undefined;
  const [ref, value] = figures;
  if (cell.contender === refName) return 1;
  if (higherIsBetter(wr.workload)) return ref > 0 && value >= 0 ? value / ref : undefined;
  return value > 0 && ref >= 0 ? ref / value : undefined;
}

/** The reference's and the cell's median headline figures, or undefined if either is missing. */
function headlines(wr: WorkloadResults, cell: Cell, refName: string): [ref: number, value: number] | undefined {
  const ref = wr.cells.find((c) => c.contender === refName)?.median?.value;
  const value = cell.median?.value;
  if (ref === undefined || value === undefined || !Number.isFinite(ref) || !Number.isFinite(value)) return undefined;
  return [ref, value];
}

/**
 * The "vs" column: relative() as a ratio, or, for a growth with no ratio (ours 0 or less, or the
 * reference's below 0), which side grew; "-" when a figure is missing.
 */
export function versus(wr: WorkloadResults, cell: Cell, refName: string, refLabel: string): string {
  const x = relative(wr, cell, refName);
  if (x !== undefined) return ratio(x);
  const figures = headlines(wr, cell, refName);
  if (higherIsBetter(wr.workload) || figures === undefined) return '-';
  const [ref, value] = figures;
  if (value <= 0 && ref > 0) return `better (${value === 0 ? 'no growth' : 'shrank'})`;
  if (ref < 0 && value > 0) return `worse (${refLabel} shrank)`;
  return 'neither grew';
}

const group = (n: number, digits: number) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatValue(w: Workload, v: number): string {
  if (w.metric === 'rss') return `${v.toFixed(2)} ${w.unit}`;
  return `${group(v, v >= 1000 ? 0 : 1)} ${w.unit}`;
}

const time = (us: number) => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '-');
const ratio = (x: number) => (x >= 10 || x < 0.1 ? x.toPrecision(2) : x.toFixed(2));

const HEADER = ['workload', 'contender', 'result', 'p50', 'p99', 'server CPU', 'srv CPU%', 'gen CPU%', 'vs node:net', 'vs C', 'notes'];

function rows(r: Results): string[][] {
  const label = (name: string) => r.contenders.find((c) => c.name === name)?.label ?? name;
  const out: string[][] = [];
  for (const wr of r.workloads) {
    const w = wr.workload;
    for (const cell of wr.cells) {
      const m = cell.median;
      const notes = [...cell.notes];
      if (cell.status !== 'ok') notes.unshift(`${cell.status}: ${cell.reason}`);
      const disturbed = cell.runs.filter((run) => run.disturbed);
      if (disturbed.length) notes.push(`disturbed ${disturbed.length}/${cell.runs.length}: ${disturbed[0]!.disturbed}`);
      if (cell.runs.length > 1 && m && m.value > 0) {
        const values = cell.runs.map((run) => run.value);
        notes.push(`spread ${(((Math.max(...values) - Math.min(...values)) / m.value) * 100).toFixed(1)}%`);
      }
      out.push([
        w.name,
        label(cell.contender),
        m ? formatValue(w, m.value) : cell.status,
        m ? time(m.p50Us) : '',
        m ? time(m.p99Us) : '',
        m?.cpuPerMsgUs != null ? `${m.cpuPerMsgUs.toFixed(2)} µs/${w.perWhat}` : '',
        m ? pct(m.serverCpu) : '',
        m ? pct(m.loadgenCpu) : '',
        m ? versus(wr, cell, NODE_REFERENCE, label(NODE_REFERENCE)) : '',
        m ? versus(wr, cell, C_REFERENCE, label(C_REFERENCE)) : '',
        notes.join('; '),
      ]);
    }
  }
  return out;
}

/** The plain-text table for the terminal. */
export function textTable(r: Results): string {
  const all = [HEADER, ...rows(r)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(HEADER), widths.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** How much faster than every other contender C must be driven to rule the load generator out. */
const CLEAR_MARGIN = 1.1;

/**
 * One line per workload saying whether the load generator could have been the limit: it must
 * drive the C server clearly faster than any other contender.
 */
export function loadgenCheck(r: Results): string[] {
  const out: string[] = [];
  for (const wr of r.workloads) {
    if (!higherIsBetter(wr.workload)) continue;
    const c = wr.cells.find((cell) => cell.contender === C_REFERENCE)?.median;
    // A contender allowed more CPUs than C (--threads 2) also takes the load generator's CPU.
    const sameCpus = (name: string) => r.contenders.find((x) => x.name === name)?.cpus === undefined;
    const others = wr.cells.filter((cell) => cell.contender !== C_REFERENCE && cell.median && sameCpus(cell.contender));
    if (!c || others.length === 0) continue;
    const best = others.reduce((a, b) => (b.median!.value > a.median!.value ? b : a));
    const margin = c.value / best.median!.value;
    out.push(
      `${wr.workload.name}: loadgen drove C at ${formatValue(wr.workload, c.value)} (loadgen CPU ${pct(c.loadgenCpu)}), ` +
        `${margin.toFixed(2)}x the best other contender (${best.contender}): ` +
        (margin >= CLEAR_MARGIN
          ? 'the load generator is not their bottleneck'
          : c.loadgenCpu >= 0.9
            ? 'not a clear margin, and the load generator was saturated: it caps the throughput here, compare server CPU per message'
            : 'not a clear margin, with the load generator not saturated: round-trip latency sets the rate here'),
    );
  }
  return out;
}

/** The Markdown page (bench/results/latest.md). */
export function markdown(r: Results, svgName: string): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const m = r.machine;
  return [
    `# wakeloop bench, ${r.date}${r.quick ? ' (quick)' : ''}`,
    '',
    `${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, node ${m.node}; ${m.pinned}. ` +
      `${r.options.repeats} run(s) of ${r.options.duration} s per cell after a ${r.options.warmup} s warm-up, median shown.`,
    ...(m.disturbedBeforeStart ? ['', `Machine busy before the start: ${m.disturbedBeforeStart}.`] : []),
    '',
    `![relative to C](${svgName})`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows(r).map((row) => `| ${row.map(esc).join(' | ')} |`),
    '',
    ...loadgenCheck(r).map((l) => `- ${l}`),
    '',
    '"vs" columns: performance relative to that contender, > 1 is better (for idle memory: its KiB/conn divided by ours; ' +
      'where ours is 0 or less, or its below 0, no ratio means anything and the column says which grew).',
    'server CPU: server utime+stime over the measured interval divided by what was echoed.',
    '',
    '## Targets',
    '',
    ...targetTable(checkTargets(r)),
    '',
  ].join('\n');
}
