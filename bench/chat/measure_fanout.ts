// Measures the chat fan-out workload (bench/c/chat_loadgen.c) against each contender's chat
// server, as measure.ts does for the echo workloads: repeats take turns between contenders, each
// server is started once and warmed up, and a run that saw a lag report (a `Dropped` error) or
// any wrong line counts as broken, never as a result.
import { join } from 'node:path';
import { startServer, type Contender, type RunningServer } from '../contenders.js';
import type { LoadgenResult } from '../loadgen.js';
import { checkAlive, medians, summarize, type Cell, type MeasureOptions, type Progress, type Run } from '../measure.js';
import { binDir } from '../paths.js';
import { snapshot, waitForQuiet } from '../proc_stats.js';
import { lineReader, pinned, pinning, spawnTracked, stopProcess } from '../processes.js';
import type { Workload } from '../workloads.js';

/** chat_loadgen's result: loadgen's fields (messages = deliveries), plus posts. */
export type FanoutResult = LoadgenResult & { members: number; posts: number; posts_per_s: number };

/** The fan-out shape: members of the one group, post size, posts in flight. */
export interface FanoutShape {
  members: number;
  size: number;
  window: number;
}

/** The shape a workload entry describes (`conns` members, `depth` posts in flight). */
export function fanoutShape(w: Workload): FanoutShape {
  return { members: w.loadgen.conns, size: w.loadgen.size ?? 64, window: w.loadgen.depth ?? 64 };
}

/** Runs chat_loadgen once (pinned to the load generator's CPU) and parses its JSON line. */
export async function runChatLoadgen(shape: FanoutShape, port: number, serverPid: number, duration: number): Promise<FanoutResult> {
  const argv = [
    join(binDir, 'chat_loadgen'), '--members', String(shape.members), '--size', String(shape.size), '--window', String(shape.window),
    '--port', String(port), '--duration', String(duration), '--server-pid', String(serverPid),
  ];
  const child = spawnTracked(pinned(pinning.loadgen, argv));
  const stderrTail = lineReader(child.stderr!, () => {});
  let result: FanoutResult | undefined;
  lineReader(child.stdout!, (line) => {
    if (line.startsWith('{')) result = JSON.parse(line) as FanoutResult;
  });
  // Bounded by itself (20 s to join, the duration, 3 s to drain); this is a backstop for a hang.
  const limit = setTimeout(() => void stopProcess(child), (duration + 60) * 1000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', (c) => resolve(c));
    child.on('error', () => resolve(-1));
  });
  clearTimeout(limit);
  if (!result) throw new Error(`chat_loadgen exited with ${code} and no result: ${stderrTail().join(' | ')}`);
  return result;
}

/** One measured run of `shape` against a running server, with --wait-quiet as in measure.ts. */
async function fanoutRun(shape: FanoutShape, server: RunningServer, o: MeasureOptions, say: (what: string) => void): Promise<Run> {
  const until = performance.now() + o.waitQuiet * 1000;
  let best: Run | undefined;
  do {
    const left = (until - performance.now()) / 1000;
    if (left > 0) await waitForQuiet(left, [server.pid], (why) => say(`waiting for a quiet machine: ${why}`));
    const before = snapshot();
    const raw = await runChatLoadgen(shape, server.port, server.pid, o.duration);
    const after = snapshot();
    checkAlive(server);
    const run = summarize(raw, raw.msgs_per_s, raw.elapsed_s, before, after, server);
    if (!raw.ok) return run;
    if (!best || run.otherCpu < best.otherCpu) best = run;
  } while (best.disturbed && performance.now() < until);
  return best;
}

/**
 * Measures the fan-out `shape` on every contender's chat server; same contract as
 * measure.ts's measureWorkload (one Cell per contender, medians of the runs).
 */
export async function measureFanout(w: Workload, shape: FanoutShape, cs: Contender[], o: MeasureOptions, progress: Progress): Promise<Cell[]> {
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
            const started = await startServer(c, w.server, 4096);
            if (typeof started === 'string') {
              Object.assign(cell, { status: i === 0 ? 'unavailable' : 'failed', reason: started });
              continue;
            }
            servers.set(cell, (server = started));
            say('warm-up');
            const warm = await runChatLoadgen(shape, server.port, server.pid, o.warmup);
            if (!warm.ok) throw new Error(`broken in warm-up: ${warm.first_error || 'nothing was delivered'}`);
          }
          say(`run ${i + 1}/${o.repeats}`);
          const run = await fanoutRun(shape, server, o, say);
          if (!run.raw.ok) throw new Error(`broken: ${run.raw.first_error || 'nothing was delivered'}`);
          cell.runs.push(run);
        } catch (err) {
          Object.assign(cell, { status: 'failed', reason: (err as Error).message });
          const server = servers.get(cell);
          servers.delete(cell);
          if (server) await server.stop();
        }
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop();
  }
  for (const cell of cells) if (cell.status === 'ok') cell.median = medians(cell.runs);
  return cells;
}
