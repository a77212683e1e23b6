// What the bench reads from /proc: a server's RSS, every process's CPU time and the machine's CPU
// counters (to say whether a run was disturbed by other processes), and the machine description.
// The server's CPU time per message is sampled by the load generator itself (bench/c/loadgen.c).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

/** Clock ticks per second of utime/stime in /proc (USER_HZ, nearly always 100). */
export const clkTck = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

interface ProcStat {
  comm: string;
  ppid: number;
  ticks: number; // utime + stime, summed over the process's threads
}

function readStat(pid: number | string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** VmRSS of a process in KiB, or undefined once it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A moment's view of the machine's CPU counters, to diff against a later one. */
export interface CpuSnapshot {
  atMs: number;
  busyTicks: number; // user+nice+system+irq+softirq over all CPUs (what processes' stime includes)
  stealTicks: number;
  procs: Map<number, ProcStat>;
  self: NodeJS.CpuUsage;
}

export function snapshot(): CpuSnapshot {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  const procs = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(name);
    if (s) procs.set(Number(name), s);
  }
  return { atMs: performance.now(), busyTicks: user + nice + system + irq + softirq, stealTicks: steal, procs, self: process.cpuUsage() };
}

/** CPU used by processes other than ours between two snapshots, in CPUs (1.0 = one core busy). */
export interface Interference {
  otherCpu: number; // everything but our processes and kernel threads
  stealCpu: number; // time the hypervisor gave our vCPUs to someone else
  top: { comm: string; pid: number; cpu: number }[]; // the busiest other processes seen by name
}

/**
 * Compares two snapshots. `ours` lists the pids of the bench's own processes still alive at `b`;
 * `goneTicks` is CPU time of our processes that exited in between (the load generator reports its
 * own). Kernel threads (ksoftirqd...) mostly do our network work, so they are not counted as others.
 * Processes that started and ended between the snapshots are only in the machine-wide total.
 */
export function interference(a: CpuSnapshot, b: CpuSnapshot, ours: number[], goneSeconds: number): Interference {
  const seconds = (b.atMs - a.atMs) / 1000;
  let oursTicks = goneSeconds * clkTck;
  let kthreadTicks = 0;
  const top: Interference['top'] = [];
  for (const [pid, s] of b.procs) {
    const delta = s.ticks - (a.procs.get(pid)?.ticks ?? 0);
    if (delta <= 0) continue;
    if (ours.includes(pid)) oursTicks += delta;
    else if (pid === 2 || s.ppid === 2) kthreadTicks += delta;
    else if (pid !== process.pid) top.push({ comm: s.comm, pid, cpu: delta / clkTck / seconds });
  }
  const selfUs = b.self.user + b.self.system - a.self.user - a.self.system;
  oursTicks += (selfUs / 1e6) * clkTck;
  const otherTicks = b.busyTicks - a.busyTicks - oursTicks - kthreadTicks;
  top.sort((x, y) => y.cpu - x.cpu);
  return {
    otherCpu: Math.max(0, otherTicks / clkTck / seconds),
    stealCpu: (b.stealTicks - a.stealTicks) / clkTck / seconds,
    top: top.slice(0, 3).map((p) => ({ ...p, comm: describe(p.pid, p.comm) })),
  };
}

/** "node vitest" rather than "node": the program and its first non-option argument, by basename. */
function describe(pid: number, comm: string): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/).filter(Boolean);
    const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
    const arg = argv.slice(1).find((a) => !a.startsWith('-'));
    return argv.length ? [base(argv[0]!), ...(arg ? [base(arg)] : [])].join(' ') : comm;
  } catch {
    return comm; // gone by now
  }
}

/** Thresholds for calling a run disturbed, in CPUs. Tick sampling makes ~0.05 noise normal. */
export const DISTURBED_OTHER_CPU = 0.1;
export const DISTURBED_STEAL_CPU = 0.05;

/** One line saying why a run counts as disturbed, or undefined when it does not. */
export function disturbance(i: Interference): string | undefined {
  const why: string[] = [];
  if (i.otherCpu > DISTURBED_OTHER_CPU) {
    const names = i.top.filter((p) => p.cpu >= 0.02).map((p) => `${p.comm} ${(p.cpu * 100).toFixed(0)}%`);
    why.push(`other processes used ${(i.otherCpu * 100).toFixed(0)}% of a CPU${names.length ? ` (${names.join(', ')})` : ''}`);
  }
  if (i.stealCpu > DISTURBED_STEAL_CPU) why.push(`hypervisor steal ${(i.stealCpu * 100).toFixed(0)}% of a CPU`);
  return why.length ? why.join('; ') : undefined;
}

/** The machine, as recorded with the results. */
export function machineInfo() {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    kernel: release(),
    node: process.version,
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

/**
 * Waits until other processes leave the machine alone for one second (at most `maxSeconds`);
 * returns undefined once quiet, else the last reason it was not. `ours` are pids to ignore.
 */
export async function waitForQuiet(maxSeconds: number, ours: number[], onBusy: (why: string) => void): Promise<string | undefined> {
  const until = performance.now() + maxSeconds * 1000;
  for (let second = 0; ; second++) {
    const a = snapshot();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const why = disturbance(interference(a, snapshot(), ours, 0));
    if (!why || performance.now() >= until) return why;
    if (second % 10 === 0) onBusy(why); // say so every 10 s, not every second
  }
}
