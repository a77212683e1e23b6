// The "vs" columns of the bench report (bench/report.ts): a ratio where one means something,
// words where it does not.
import { describe, expect, it } from 'vitest';
import { contenders } from '../../bench/contenders.js';
import type { Cell } from '../../bench/measure.js';
import { markdown, relative, type Results } from '../../bench/report.js';
import { svgChart } from '../../bench/svg_chart.js';
import { workloads } from '../../bench/workloads.js';

const workload = (name: string) => workloads.find((w) => w.name === name)!;

/** An ok cell whose median headline figure is `value`. */
const cell = (contender: string, value: number): Cell => ({
  contender,
  status: 'ok',
  runs: [],
  notes: [],
  median: { value, p50Us: 10, p99Us: 20, cpuPerMsgUs: 1, serverCpu: 0.5, loadgenCpu: 0.5 },
});

/** Results of one workload with the cells given as contender -> value. */
function results(name: string, values: Record<string, number>): Results {
  return {
    date: 'test',
    quick: true,
    options: { duration: 1, warmup: 1, repeats: 1, waitQuiet: 0, only: [], contenders: [] },
    machine: { cpuModel: 'cpu', cores: 2, kernel: 'k', node: 'v20', loadavg: '0', pinned: 'no' },
    contenders: contenders.map(({ name, label, color }) => ({ name, label, color })),
    workloads: [{ workload: workload(name), cells: Object.entries(values).map(([c, v]) => cell(c, v)) }],
  };
}

/** The Markdown table's "vs node:net" and "vs C" columns, by contender label. */
function versus(r: Results): Record<string, [string, string]> {
  const page = markdown(r, 'x.svg').split('\n');
  const start = page.findIndex((l) => l.startsWith('| workload'));
  const end = page.indexOf('', start); // the results table ends at the first blank line (the Targets table follows)
  const lines = page.slice(start, end).filter((l) => l.startsWith('| '));
  const header = lines[0]!.slice(2, -2).split(' | ');
  const [at, node, c] = ['contender', 'vs node:net', 'vs C'].map((h) => header.indexOf(h));
  return Object.fromEntries(lines.slice(1).map((l) => l.slice(2, -2).split(' | ')).map((row) => [row[at!]!, [row[node!]!, row[c!]!]]));
}

describe('bench report', () => {
  it('relative() divides so that > 1 is better: throughput by the reference, the reference memory growth by ours', () => {
    const r = results('pingpong1', { c: 200, 'node-net': 100, wakeloop: 150 });
    const [wr] = r.workloads;
    expect(relative(wr!, wr!.cells[2]!, 'c')).toBe(0.75);
    expect(relative(wr!, wr!.cells[2]!, 'node-net')).toBe(1.5);
    const idle = results('idle', { c: 0.5, 'node-net': 2, wakeloop: 1 }).workloads[0]!;
    expect(relative(idle, idle.cells[2]!, 'c')).toBe(0.5);
    expect(relative(idle, idle.cells[2]!, 'node-net')).toBe(2);
  });

  it('markdown() says a contender whose idle memory did not grow is better, not "-" (relative() gave up on a growth <= 0): regression', () => {
    const r = results('idle', { c: 0.5, 'node-net': -0.25, wakeloop: 0 });
    expect(versus(r)).toEqual({
      'C epoll': ['worse (node:net shrank)', '1.00'],
      'node:net': ['1.00', 'better (shrank)'],
      wakeloop: ['neither grew', 'better (no growth)'],
    });
  });

  it('svgChart() labels an idle-memory bar with no ratio in words, as the table does, not "n/a"', () => {
    const svg = svgChart(results('idle', { c: 0.5, 'node-net': 2, wakeloop: 0 }));
    expect(svg).toContain('>better (no growth)</text>');
  });

  it('markdown() gives the ratio 0 against a reference that did not grow, and words where neither grew', () => {
    const r = results('idle', { c: 0, 'node-net': 2, wakeloop: 0 });
    expect(relative(r.workloads[0]!, r.workloads[0]!.cells[1]!, 'c')).toBe(0);
    expect(versus(r)).toEqual({
      'C epoll': ['better (no growth)', '1.00'],
      'node:net': ['1.00', '0.0'],
      wakeloop: ['better (no growth)', 'neither grew'],
    });
  });

  it('markdown() shows "-" against a reference with no throughput or no result', () => {
    const r = results('pingpong1', { c: 0, wakeloop: 150 });
    expect(versus(r)).toEqual({ 'C epoll': ['-', '1.00'], wakeloop: ['-', '-'] });
  });
});
