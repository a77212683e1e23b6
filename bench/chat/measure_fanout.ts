// Measures the chat fan-out workload (bench/c/chat_loadgen.c) against each contender's chat
// server, as measure.ts does for the echo workloads: repeats take turns between contenders, each
// server is started once and warmed up, and a run that saw a lag report (a `Dropped` error) or
// any wrong line counts as broken, never as a result.
import { join } from 'node:path';
import type { Contender } from '../contenders.js';
import { parseLoadgenLine, type LoadgenResult } from '../loadgen.js';
import { checkAlive, measureTurns, summarize, type Cell, type MeasureOptions, type Progress } from '../measure.js';
import { binDir } from '../paths.js';
import { snapshot } from '../proc_stats.js';
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
  let bad: string | undefined;
  lineReader(child.stdout!, (line) => {
    const read = parseLoadgenLine(line);
    if (read.kind === 'result') {
      result = read.result as FanoutResult; // the chat load generator adds its fields
    } else if (read.kind === 'bad' && bad === undefined) {
      bad = read.error; // its output cannot be trusted: stop it and fail this run
      void stopProcess(child);
    }
  });
  // Bounded by itself (20 s to join, the duration, 3 s to drain); this is a backstop for a hang.
  const limit = setTimeout(() => void stopProcess(child), (duration + 60) * 1000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', (c) => resolve(c));
    child.on('error', () => resolve(-1));
  });
  clearTimeout(limit);
  if (bad !== undefined) throw new Error(`chat_loadgen: ${bad}`);
  if (!result) throw new Error(`chat_loadgen exited with ${code} and no result: ${stderrTail().join(' | ')}`);
  return result;
}

/**
 * Measures the fan-out `shape` on every contender's chat server, with the same turns, retries and
 * medians as the echo workloads (measure.ts's measureTurns).
 */
export function measureFanout(w: Workload, shape: FanoutShape, cs: Contender[], o: MeasureOptions, progress: Progress): Promise<Cell[]> {
  return measureTurns(w, cs, o, progress, {
    fdLimit: 4096,
    freshServerPerRepeat: false,
    nothing: 'nothing was delivered',
    async warmUp(server, seconds) {
      const warm = await runChatLoadgen(shape, server.port, server.pid, seconds);
      if (!warm.ok) throw new Error(`broken in warm-up: ${warm.first_error || 'nothing was delivered'}`);
    },
    async run(server) {
      const before = snapshot();
      const raw = await runChatLoadgen(shape, server.port, server.pid, o.duration);
      const after = snapshot();
      checkAlive(server);
      return summarize(raw, raw.msgs_per_s, raw.elapsed_s, before, after, server);
    },
  });
}
