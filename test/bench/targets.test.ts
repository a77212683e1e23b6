// The bench's target checks (bench/targets.ts): each target met, missed or not measured, from a
// run's medians, and counted over several runs.
import { describe, expect, it } from 'vitest';
import { contenders } from '../../bench/contenders.js';
import type { Cell } from '../../bench/measure.js';
import { markdown, type Results } from '../../bench/report.js';
import { acrossRuns, checkTargets, targetLines } from '../../bench/targets.js';
import { workloads } from '../../bench/workloads.js';

type Figures = { value: number; cpu?: number | null; p99?: number };

const cell = (contender: string, f: Figures): Cell => ({
  contender,
  status: 'ok',
  runs: [],
  notes: [],
  median: { value: f.value, p50Us: 10, p99Us: f.p99 ?? 20, cpuPerMsgUs: f.cpu === undefined ? 1 : f.cpu, serverCpu: 0.9, loadgenCpu: 0.9 },
});

/** A run of the workloads given as name -> contender -> figures. */
function run(cells: Record<string, Record<string, Figures>>, quick = false): Results {
  return {
    date: 'test',
    quick,
    options: { duration: 1, warmup: 1, repeats: 1, waitQuiet: 0, only: [], contenders: [] },
    machine: { cpuModel: 'cpu', cores: 2, kernel: 'k', node: 'v20', loadavg: '0', pinned: 'no' },
    contenders: contenders.map(({ name, label, color }) => ({ name, label, color })),
    workloads: Object.entries(cells).map(([name, byContender]) => ({
      workload: workloads.find((w) => w.name === name)!,
      cells: Object.entries(byContender).map(([c, f]) => cell(c, f)),
    })),
  };
}

/** The verdict and figure of the target described as `what`. */
const verdictOf = (r: Results, what: string) => {
  const check = checkTargets(r).find((c) => c.what === what);
  if (check === undefined) throw new Error(`no target "${what}"`);
  return [check.verdict, check.measured];
};

describe('bench targets', () => {
  it('a throughput ratio is met at or above its bound and missed below it', () => {
    const r = run({ pingpong256: { wakeloop: { value: 150 }, 'node-net': { value: 100 }, c: { value: 160 } } });
    expect(verdictOf(r, 'pingpong256: wakeloop vs node:net, throughput >= 1.50x')).toEqual(['met', 1.5]);
    expect(verdictOf(r, 'pingpong256: wakeloop vs C epoll, throughput >= 0.90x')).toEqual(['met', 0.9375]);
    const slower = run({ pingpong256: { wakeloop: { value: 149 }, 'node-net': { value: 100 } } });
    expect(verdictOf(slower, 'pingpong256: wakeloop vs node:net, throughput >= 1.50x')).toEqual(['missed', 1.49]);
  });

  it('CPU per message and p99 are ratios that must stay at or under their bounds', () => {
    const r = run({
      pingpong1: { wakeloop: { value: 1, cpu: 6.5, p99: 110 }, 'node-net': { value: 1, cpu: 10, p99: 100 } },
      pingpong16: { wakeloop: { value: 1, cpu: 6.6, p99: 111 }, 'node-net': { value: 1, cpu: 10, p99: 100 } },
    });
    expect(verdictOf(r, 'pingpong1: wakeloop vs node:net, server CPU per message <= 0.65x')).toEqual(['met', 0.65]);
    expect(verdictOf(r, 'pingpong1: wakeloop vs node:net, p99 latency <= 1.10x')).toEqual(['met', 1.1]);
    expect(verdictOf(r, 'pingpong16: wakeloop vs node:net, server CPU per message <= 0.65x')[0]).toBe('missed');
    expect(verdictOf(r, 'pingpong16: wakeloop vs node:net, p99 latency <= 1.10x')[0]).toBe('missed');
  });

  it('idle memory is checked as the figure itself, in KiB per connection', () => {
    expect(verdictOf(run({ idle: { wakeloop: { value: 1.35 } } }), 'idle: wakeloop, KiB/conn <= 2.00')).toEqual(['met', 1.35]);
    expect(verdictOf(run({ idle: { wakeloop: { value: 2.5 } } }), 'idle: wakeloop, KiB/conn <= 2.00')).toEqual(['missed', 2.5]);
  });

  it('a workload or contender the run left out, or a figure it could not compute, is "not measured", never met or missed', () => {
    const r = run({
      pingpong256: { wakeloop: { value: 150 } }, // no node:net cell
      pingpong1: { wakeloop: { value: 1, cpu: null }, 'node-net': { value: 1, cpu: 10 } },
      pingpong16: { wakeloop: { value: 1, cpu: NaN }, 'node-net': { value: 1, cpu: 10 } },
    });
    expect(verdictOf(r, 'pingpong256: wakeloop vs node:net, throughput >= 1.50x')).toEqual(['not measured', undefined]);
    expect(verdictOf(r, 'chat-fanout: wakeloop vs node:net, throughput >= 1.50x')).toEqual(['not measured', undefined]);
    expect(verdictOf(r, 'pingpong1: wakeloop vs node:net, server CPU per message <= 0.65x')[0]).toBe('not measured');
    expect(verdictOf(r, 'pingpong16: wakeloop vs node:net, server CPU per message <= 0.65x')[0]).toBe('not measured');
    const failed = run({ bulk: { wakeloop: { value: 3000 }, c: { value: 3000 } } });
    failed.workloads[0]!.cells[1]!.status = 'failed';
    expect(verdictOf(failed, 'bulk: wakeloop vs C epoll, throughput >= 0.90x')[0]).toBe('not measured');
  });

  it('the attached mode is held to node:net and to blockOn, where being faster than blockOn is no miss', () => {
    const r = run({ pipelined: { 'wakeloop-attached': { value: 130 }, wakeloop: { value: 100 } } });
    expect(verdictOf(r, 'pipelined: wakeloop attached vs wakeloop, throughput >= 0.90x')).toEqual(['met', 1.3]);
  });

  it('the terminal lines count the targets met among those measured, and the Markdown page has a Targets table', () => {
    const r = run({ idle: { wakeloop: { value: 1 } }, bulk: { wakeloop: { value: 80 }, c: { value: 100 } } });
    const lines = targetLines(checkTargets(r));
    expect(lines[0]).toBe('targets: 1 of 2 measured met');
    expect(lines).toContain('  missed bulk: wakeloop vs C epoll, throughput >= 0.90x: 0.800');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/^ {2}\(15 not measured: /);
    const page = markdown(r, 'x.svg');
    expect(page).toContain('## Targets');
    expect(page).toContain('| idle: wakeloop, KiB/conn <= 2.00 | 1.000 | met |');
  });

  it('a figure that missed never prints as its bound (0.6504 against <= 0.65 printed 0.650): regression', () => {
    const r = run({
      pingpong256: { wakeloop: { value: 0.8996 }, c: { value: 1 }, 'node-net': { value: 0.6, cpu: 1 } },
      pipelined: { wakeloop: { value: 1, cpu: 0.6504 }, 'node-net': { value: 1, cpu: 1 } },
    });
    const lines = targetLines(checkTargets(r));
    expect(lines).toContain('  missed pingpong256: wakeloop vs C epoll, throughput >= 0.90x: 0.899');
    expect(lines).toContain('  missed pipelined: wakeloop vs node:net, server CPU per message <= 0.65x: 0.651');
  });

  it('acrossRuns() says in how many runs each target was measured and met, with the range of its figure', () => {
    const runs = [1.2, 1.6, 1.5].map((x) => run({ 'chat-fanout': { wakeloop: { value: x * 100 }, 'node-net': { value: 100 } } }));
    runs.push(run({ idle: { wakeloop: { value: 1 } } })); // no chat cells
    const row = acrossRuns(runs).find((l) => l.startsWith('chat-fanout'))!;
    expect(row).toMatch(/chat-fanout: wakeloop vs node:net, throughput >= 1\.50x +2 of 3 +1\.200 \/ 1\.500 \/ 1\.600$/);
    expect(acrossRuns(runs)[0]).toMatch(/^target \(over 4 runs\)/);
  });
});
