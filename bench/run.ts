// `npm run bench`: every selected workload against every selected contender, in turn, in one run.
//
//   node dist/bench/run.js [--quick] [--only NAME[,NAME]]... [--contenders a,b]... [--duration S]
//                          [--repeats N] [--warmup S] [--wait-quiet S]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../examples/command_line.js';
import { buildC } from './build_c.js';
import { fanoutShape, measureFanout } from './chat/measure_fanout.js';
import { contenders } from './contenders.js';
import { measureWorkload, type Progress } from './measure.js';
import { isProgram } from './is_program.js';
import { TIMING_OPTIONS, parseOrUsage, timing } from './timing_options.js';
import { resultsDir } from './paths.js';
import { disturbance, interference, machineInfo, snapshot } from './proc_stats.js';
import { installCleanup, pinning, sleep, stopAll } from './processes.js';
import { loadgenCheck, markdown, textTable, type Results } from './report.js';
import { svgChart } from './svg_chart.js';
import { checkTargets, targetLines } from './targets.js';
import { workloads } from './workloads.js';

const USAGE = `usage: node dist/bench/run.js [options]
  --quick              short smoke run: 2 s per cell, 0.5 s warm-up, 1 repeat
  --only NAME          workloads to run (repeatable or comma list): ${workloads.map((w) => w.name).join(', ')}
  --contenders A,B     contenders to run (repeatable or comma list): ${contenders.map((c) => c.name).join(', ')}
  --duration S         seconds per measured run (default 5, quick 2)
  --repeats N          measured runs per cell, the median is reported (default 3, quick 1)
  --warmup S           seconds of unmeasured warm-up per server (default 1, quick 0.5)
  --wait-quiet S       spend up to S seconds per run waiting for other processes to go quiet,
                       and running again while a run was disturbed (default 0: do not wait;
                       a disturbed run is flagged either way)`;

/** The command line, checked: what main() runs. */
export interface Options {
  help: boolean;
  quick: boolean;
  only: string[]; // workload names; empty: every workload
  contenders: string[]; // contender names; empty: every contender
  duration: number;
  repeats: number;
  warmup: number;
  waitQuiet: number;
}

/** Parses and checks the command line (without the node and script paths); throws UsageError. */
export function parseOptions(args: string[]): Options {
  const { values } = parseOrUsage({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true, default: [] },
      contenders: { type: 'string', multiple: true, default: [] },
      ...TIMING_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = values.quick;
  const list = (xs: string[]) => xs.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  // The names an --only or --contenders option selects. Given but naming nothing (--only '',
  // --contenders ,) is a typo, not "everything": that would start the whole multi-minute suite.
  const names = (name: string, given: string[], valid: string[]) => {
    const xs = list(given);
    if (given.length > 0 && xs.length === 0) throw new UsageError(`--${name} names nothing; valid names: ${valid.join(', ')}`);
    for (const x of xs) if (!valid.includes(x)) throw new UsageError(`--${name}: unknown name "${x}"; valid names: ${valid.join(', ')}`);
    return xs;
  };
  return {
    help: values.help,
    quick,
    only: names('only', values.only, workloads.map((w) => w.name)),
    contenders: names('contenders', values.contenders, contenders.map((c) => c.name)),
    ...timing(values, quick ? { duration: 2, repeats: 1, warmup: 0.5 } : { duration: 5, repeats: 3, warmup: 1 }),
  };
}

function options(): Options {
  try {
    const o = parseOptions(process.argv.slice(2));
    if (o.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return o;
  } catch (err) {
    if (err instanceof UsageError) fail(err.message);
    throw err;
  }
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

const fmtTime = (s: number) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

async function main(): Promise<void> {
  const o = options();
  installCleanup();
  const selectedWorkloads = o.only.length ? workloads.filter((w) => o.only.includes(w.name)) : workloads;
  const selectedContenders = o.contenders.length ? contenders.filter((c) => o.contenders.includes(c.name)) : contenders;

  for (const name of ['loadgen', 'epoll_echo', 'chat_loadgen']) {
    const b = buildC(name);
    if (!b.ok && name === 'loadgen') fail(b.error);
    if (!b.ok) console.error(`bench: ${b.error}\n(${name === 'chat_loadgen' ? 'chat-fanout' : 'the C contender'} will be unavailable)`);
  }

  // Is the machine busy before we start? Half a second of looking, reported, not fatal.
  const quiet0 = snapshot();
  await sleep(500);
  const busy = disturbance(interference(quiet0, snapshot(), [], 0));
  if (busy) console.error(`bench: warning: the machine is busy before the start: ${busy}`);

  const machine = {
    ...machineInfo(),
    pinned: pinning.enabled ? `server on CPU ${pinning.server}, load generator on CPU ${pinning.loadgen} (taskset)` : 'not pinned (one CPU or no taskset)',
    ...(busy ? { disturbedBeforeStart: busy } : {}),
  };
  const date = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const results: Results = {
    date,
    quick: o.quick,
    options: { duration: o.duration, warmup: o.warmup, repeats: o.repeats, waitQuiet: o.waitQuiet, only: o.only, contenders: o.contenders },
    machine,
    contenders: selectedContenders.map(({ name, label, color, cpus }) => ({ name, label, color, ...(cpus ? { cpus } : {}) })),
    workloads: selectedWorkloads.map((workload) => ({ workload, cells: [] })),
  };

  // Progress: planned seconds per workload, scaled by how the finished part compared to its plan.
  const plan = (idle: boolean) => selectedContenders.length * (idle ? o.repeats * (o.warmup + 4) : 1 + o.warmup + o.repeats * (o.duration + 0.3));
  const planned = results.workloads.map((wr) => plan(wr.workload.loadgen.mode === 'idle'));
  const total = planned.reduce((a, b) => a + b, 0);
  const start = performance.now();
  let plannedBefore = 0;
  for (const [i, wr] of results.workloads.entries()) {
    const progress: Progress = (c, what, done) => {
      const plannedDone = plannedBefore + done * planned[i]!;
      const elapsed = (performance.now() - start) / 1000;
      const left = plannedDone > 0 ? (total - plannedDone) * (elapsed / plannedDone) : total;
      process.stderr.write(`[${i + 1}/${results.workloads.length}] ${wr.workload.name} · ${c.label} · ${what} · about ${fmtTime(left)} left\n`);
    };
    wr.cells =
      wr.workload.server === 'chat'
        ? await measureFanout(wr.workload, fanoutShape(wr.workload), selectedContenders, o, progress)
        : await measureWorkload(wr.workload, selectedContenders, o, progress);
    for (const cell of wr.cells) if (cell.status !== 'ok') process.stderr.write(`[${i + 1}/${results.workloads.length}] ${wr.workload.name} · ${cell.contender} · ${cell.status}: ${cell.reason}\n`);
    plannedBefore += planned[i]!;
  }

  console.log(`\n${textTable(results)}\n`);
  for (const line of loadgenCheck(results)) console.log(line);
  console.log(`\n${targetLines(checkTargets(results)).join('\n')}`);

  mkdirSync(resultsDir, { recursive: true });
  const svg = svgChart(results);
  writeFileSync(join(resultsDir, `${date}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(resultsDir, `${date}.svg`), svg);
  // latest.* is what the README shows: only a run of every workload and contender replaces it.
  if (o.quick || o.only.length > 0 || o.contenders.length > 0) {
    console.log(`\nwrote bench/results/${date}.json, ${date}.svg (a partial run: latest.svg and latest.md stay as they were)`);
    return;
  }
  writeFileSync(join(resultsDir, 'latest.svg'), svg);
  writeFileSync(join(resultsDir, 'latest.md'), markdown(results, 'latest.svg'));
  console.log(`\nwrote bench/results/${date}.json, ${date}.svg, latest.svg, latest.md`);
}

if (isProgram(import.meta.url)) {
  main().catch(async (err: unknown) => {
    console.error(`bench: ${(err as Error).stack ?? err}`);
    await stopAll();
    process.exit(1);
  });
}
