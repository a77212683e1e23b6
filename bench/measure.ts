// Measures one workload against every contender. The repeats take turns (C, node:net, wakeloop,
// C, node:net, ...) so that a slow phase of the machine falls on all of them, not on one. Each
// server is started once, warmed up with a short unmeasured run, kept (idle) while the others
// run, and stopped by its pid at the end; idle memory starts a fresh server for every run.
import { startServer, type Contender, type RunningServer } from './contenders.js';
import { runLoadgen, type LoadgenResult } from './loadgen.js';
import { disturbance, interference, rssKiB, snapshot, waitForQuiet } from './proc_stats.js';
import { sleep } from './processes.js';
import { loadgenArgs, type Workload } from './workloads.js';

export interface MeasureOptions {
  duration: number; // seconds per measured run
  warmup: number; // seconds of the unmeasured run before them
  repeats: number;
  waitQuiet: number; // seconds per run to spend waiting for a quiet machine and redoing disturbed runs
}

/** One measured run, reduced to the figures the report shows. */
export interface Run {
  value: number; // the workload's metric (msg/s, MB/s, conn/s or KiB/conn)
  p50Us: number;
  p99Us: number;
  cpuPerMsgUs: number | null; // server utime+stime / messages, µs
  serverCpu: number; // server CPU / wall time over the interval (1.0 = one core)
  loadgenCpu: number; // the same for the load generator
  otherCpu: number; // CPU used by other processes meanwhile (see proc_stats.ts)
  disturbed?: string;
  raw: LoadgenResult & { rssBeforeKiB?: number; rssAfterKiB?: number };
}

export interface Cell {
  contender: string;
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  runs: Run[];
  /** Per-figure medians over the runs. */
  median?: Omit<Run, 'raw' | 'disturbed' | 'otherCpu'>;
  notes: string[];
}

const FD_LIMIT = 65_536;
const IDLE_WARMUP_CONNS = 200;

/** Progress: which contender, what it is doing, and the fraction of this workload's runs done. */
export type Progress = (c: Contender, what: string, done: number) => void;

/**
 * How one kind of workload is measured on a running server; the turns between contenders, the
 * servers' lives, the quiet-machine retries and the medians are shared (measureTurns).
 */
export interface Measurer {
  /** The server's fd limit. */
  fdLimit: number;
  /** Start a new server for every run (a second run would see what the first left behind). */
  freshServerPerRepeat: boolean;
  /** What a broken result lacked, for its error: 'no message was echoed'. */
  nothing: string;
  /** The short unmeasured run; throws if the server answered wrongly. */
  warmUp(server: RunningServer, seconds: number): Promise<void>;
  /** One measured run. */
  run(server: RunningServer): Promise<Run>;
}

/** Measures an echo workload (ping-pong, pipelined, bulk, churn, idle) on every contender. */
export function measureWorkload(w: Workload, cs: Contender[], o: MeasureOptions, progress: Progress): Promise<Cell[]> {
  return measureTurns(w, cs, o, progress, {
    fdLimit: FD_LIMIT,
    freshServerPerRepeat: w.freshServerPerRepeat === true,
    nothing: 'no message was echoed',
    warmUp: (server, seconds) => warmUp(w, server, seconds),
    run: (server) => (w.loadgen.mode === 'idle' ? idleRun(w, server) : loadRun(w, server, o.duration)),
  });
}

/** Runs the repeats in turns across the contenders with `m`, and takes each cell's medians. */
export async function measureTurns(w: Workload, cs: Contender[], o: MeasureOptions, progress: Progress, m: Measurer): Promise<Cell[]> {
  const cells: Cell[] = cs.map((c) => ({ contender: c.name, status: 'ok', runs: [], notes: [] }));
  const servers = new Map<Cell, RunningServer>();
  try {
    for (let i = 0; i < o.repeats; i++) {
      for (const [k, c] of cs.entries()) {
        const cell = cells[k]!;
        if (cell.status !== 'ok') continue;
        const say = (what: string) => progress(c, what, (i * cs.length + k) / (o.repeats * cs.length));
        try {
          let server = servers.get(cell);
          if (!server) {
            const started = await startServer(c, w.server, m.fdLimit);
            if (typeof started === 'string') {
              Object.assign(cell, { status: i === 0 ? 'unavailable' : 'failed', reason: started });
              continue;
            }
            servers.set(cell, (server = started));
            say('warm-up');
            await m.warmUp(server, o.warmup);
          }
          say(`run ${i + 1}/${o.repeats}`);
          const run = await quietRun(m, server, o, say);
          if (!run.raw.ok) throw new Error(`broken: ${run.raw.first_error || m.nothing}`);
          cell.runs.push(run);
        } catch (err) {
          Object.assign(cell, { status: 'failed', reason: (err as Error).message });
        }
        if (m.freshServerPerRepeat || cell.status !== 'ok') {
          await stop(servers.get(cell), cell);
          servers.delete(cell);
        }
      }
    }
  } finally {
    for (const [cell, server] of servers) await stop(server, cell);
  }
  for (const cell of cells) if (cell.status === 'ok') cell.median = medians(cell.runs);
  return cells;
}

/**
 * One measured run. With --wait-quiet, waits for a quiet machine first, and runs again while the
 * run was disturbed and time is left, keeping the least disturbed run. (Not with a fresh server
 * per run: a second run on the same server would measure what the first one left behind.)
 */
async function quietRun(m: Measurer, server: RunningServer, o: MeasureOptions, progress: (what: string) => void): Promise<Run> {
  const until = performance.now() + o.waitQuiet * 1000;
  let best: Run | undefined;
  do {
    const left = (until - performance.now()) / 1000;
    if (left > 0) await waitForQuiet(left, [server.pid], (why) => progress(`waiting for a quiet machine: ${why}`));
    const run = await m.run(server);
    if (!run.raw.ok) return run;
    if (best) progress(`ran again after a disturbed run`);
    if (!best || lessDisturbed(run, best)) best = run;
  } while (best.disturbed && !m.freshServerPerRepeat && performance.now() < until);
  return best;
}

/**
 * True if `run` is the one to keep rather than `best`: a run not flagged disturbed beats a
 * flagged one (steal flags a run too, whatever other processes used), then the one during which
 * other processes used less CPU.
 */
export function lessDisturbed(run: Run, best: Run): boolean {
  const clean = run.disturbed === undefined;
  if (clean !== (best.disturbed === undefined)) return clean;
  return run.otherCpu < best.otherCpu;
}

async function warmUp(w: Workload, server: RunningServer, seconds: number): Promise<void> {
  const args = w.loadgen.mode === 'idle' ? ['--mode', 'idle', '--conns', String(IDLE_WARMUP_CONNS), '--hold', '0'] : loadgenArgs(w);
  const r = await runLoadgen(args, { port: server.port, serverPid: server.pid, duration: seconds });
  if (!r.ok) throw new Error(`broken in warm-up: ${r.first_error || 'no message was echoed'}`);
}

/** A timed run: throughput, latency and server CPU over the load generator's interval. */
async function loadRun(w: Workload, server: RunningServer, duration: number): Promise<Run> {
  const before = snapshot();
  const raw = await runLoadgen(loadgenArgs(w), { port: server.port, serverPid: server.pid, duration });
  const after = snapshot();
  checkAlive(server);
  const value = w.metric === 'mb' ? raw.mb_per_s : raw.msgs_per_s;
  return summarize(raw, value, raw.elapsed_s, before, after, server);
}

/** Idle memory: RSS before, open every connection, RSS once they are all open and idle. */
async function idleRun(w: Workload, server: RunningServer): Promise<Run> {
  await sleep(300); // let the warm-up's closes finish
  const rssBeforeKiB = rssKiB(server.pid);
  let rssAfterKiB: number | undefined;
  const before = snapshot();
  const raw = await runLoadgen(loadgenArgs(w), {
    port: server.port,
    serverPid: server.pid,
    duration: 1,
    onReady: async () => {
      await sleep(500); // give the server time to finish with the last connections
      rssAfterKiB = rssKiB(server.pid);
    },
  });
  const after = snapshot();
  checkAlive(server);
  if (rssBeforeKiB === undefined || rssAfterKiB === undefined) throw new Error('could not read the server RSS');
  const perConn = (rssAfterKiB - rssBeforeKiB) / w.loadgen.conns;
  return summarize({ ...raw, rssBeforeKiB, rssAfterKiB }, perConn, raw.connect_s, before, after, server);
}

/** A run's figures from the load generator's result and the /proc snapshots around it. */
export function summarize(raw: Run['raw'], value: number, seconds: number, before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>, server: RunningServer): Run {
  const serverSeconds = raw.server_cpu_ticks >= 0 ? raw.server_cpu_ticks / raw.clk_tck : NaN;
  const others = interference(before, after, [server.pid], raw.loadgen_cpu_total_s);
  const disturbed = disturbance(others);
  return {
    value,
    p50Us: raw.lat_us.p50,
    p99Us: raw.lat_us.p99,
    cpuPerMsgUs: raw.messages > 0 && serverSeconds >= 0 ? (serverSeconds * 1e6) / raw.messages : null,
    serverCpu: seconds > 0 ? serverSeconds / seconds : NaN,
    loadgenCpu: seconds > 0 ? raw.loadgen_cpu_s / seconds : NaN,
    otherCpu: others.otherCpu,
    ...(disturbed ? { disturbed } : {}),
    raw,
  };
}

/** Throws if the server has exited. */
export function checkAlive(server: RunningServer): void {
  const why = server.exitReason();
  if (why) throw new Error(`server ${why}`);
}

async function stop(server: RunningServer | undefined, cell: Cell): Promise<void> {
  if (!server || server.exitReason()) return;
  const how = await server.stop();
  if (how === 'kill') cell.notes.push('server ignored SIGTERM and was killed');
}

/**
 * The median of the finite values: a figure summarize() could not compute is NaN, and sorting
 * with a NaN in place made the result depend on the order of the runs. NaN when none is left,
 * the "no value" that summarize() gives and the report shows as "-".
 */
export const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Per-figure medians over the runs. */
function medians(runs: Run[]): Cell['median'] {
  if (runs.length === 0) return undefined;
  const of = (f: (r: Run) => number) => median(runs.map(f));
  const cpu = runs.map((r) => r.cpuPerMsgUs).filter((x): x is number => x !== null);
  return {
    value: of((r) => r.value),
    p50Us: of((r) => r.p50Us),
    p99Us: of((r) => r.p99Us),
    cpuPerMsgUs: cpu.length ? median(cpu) : null,
    serverCpu: of((r) => r.serverCpu),
    loadgenCpu: of((r) => r.loadgenCpu),
  };
}
