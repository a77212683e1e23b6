// Runs the C load generator (pinned to its own CPU) and parses its JSON line.
import { join } from 'node:path';
import { binDir } from './paths.js';
import { lineReader, pinned, pinning, signal, spawnTracked, stopProcess } from './processes.js';

/** The load generator's result line (see bench/c/loadgen.c). */
export interface LoadgenResult {
  ok: boolean;
  mode: string;
  conns: number;
  size: number;
  depth: number;
  elapsed_s: number;
  connect_s: number;
  messages: number;
  bytes: number;
  msgs_per_s: number;
  mb_per_s: number;
  lat_us: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  errors: Record<string, number>;
  first_error: string;
  clk_tck: number;
  server_cpu_ticks: number;
  loadgen_cpu_s: number;
  loadgen_cpu_total_s: number;
}

export interface LoadgenOptions {
  port: number;
  serverPid: number;
  duration: number;
  /** Idle mode: called once every connection is open; the generator is told to finish after it. */
  onReady?: () => Promise<void>;
}

/** One stdout line of the load generator, read. */
export type LoadgenLine =
  | { kind: 'ready' } // idle mode: every connection is open
  | { kind: 'result'; result: LoadgenResult }
  | { kind: 'bad'; error: string } // a line that looks like JSON but is not: the run fails with `error`
  | { kind: 'other' }; // anything else, passed over

/** Reads one stdout line of the load generator; never throws. */
export function parseLoadgenLine(line: string): LoadgenLine {
  if (!line.startsWith('{')) return { kind: 'other' };
  let json: LoadgenResult & { event?: string };
  try {
    json = JSON.parse(line) as typeof json;
  } catch (err) {
    const shown = line.length > 120 ? `${line.slice(0, 120)}...` : line;
    return { kind: 'bad', error: `the load generator printed a line that is not JSON: ${shown} (${(err as Error).message})` };
  }
  if (json.event === 'ready') return { kind: 'ready' };
  return json.event === undefined ? { kind: 'result', result: json } : { kind: 'other' };
}

/** Runs one load generator to its end. Rejects if it crashes, prints no result or prints a malformed line. */
export async function runLoadgen(args: string[], o: LoadgenOptions): Promise<LoadgenResult> {
  const argv = [join(binDir, 'loadgen'), ...args, '--port', String(o.port), '--duration', String(o.duration), '--server-pid', String(o.serverPid)];
  if (o.onReady) argv.push('--hold', '600');
  const child = spawnTracked(pinned(pinning.loadgen, argv));
  const stderrTail = lineReader(child.stderr!, () => {});
  let result: LoadgenResult | undefined;
  let bad: string | undefined;
  let readyWork: Promise<void> = Promise.resolve();
  lineReader(child.stdout!, (line) => {
    const read = parseLoadgenLine(line);
    if (read.kind === 'ready' && o.onReady) {
      readyWork = o.onReady().finally(() => child.pid !== undefined && signal(child.pid, 'SIGUSR1'));
    } else if (read.kind === 'result') {
      result = read.result;
    } else if (read.kind === 'bad' && bad === undefined) {
      // Its output cannot be trusted: stop it now (in idle mode it would hold for its ready
      // event's SIGUSR1 until the backstop) and fail this run.
      bad = read.error;
      void stopProcess(child);
    }
  });
  // Bounded by itself (duration, 60 s to connect, 3 s to drain); this is a backstop for a hang.
  const limit = setTimeout(() => void stopProcess(child), (o.duration + 90) * 1000 + (o.onReady ? 600_000 : 0));
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', (c) => resolve(c)); // 'close' waits for stdout to be read to its end
    child.on('error', () => resolve(-1));
  });
  clearTimeout(limit);
  await readyWork;
  if (bad !== undefined) throw new Error(`loadgen ${args.join(' ')}: ${bad}`);
  if (!result) throw new Error(`loadgen ${args.join(' ')} exited with ${code} and no result: ${stderrTail().join(' | ')}`);
  return result;
}
