// The bench's process tracking (bench/processes.ts), run in a child node process: installCleanup()
// exits that process. Uses dist/ (built by `npm test`'s tsc step).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../bench/paths.js';

const PROCESSES_JS = pathToFileURL(join(repoRoot, 'dist', 'bench', 'processes.js')).href;

/** [pid, a word of its command line]: what this test started, SIGKILLed after each test if still there. */
const started: [number, string][] = [];

afterEach(() => {
  for (const [pid, word] of started.splice(0)) if (alive(pid) && commandLine(pid).includes(word)) process.kill(pid, 'SIGKILL');
});

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};

/** True while the process exists and is not a zombie (one SIGKILLed whose parent has gone may wait to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves with the first stdout or stderr text of `child` that matches, rejects after `ms`. */
function output(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} on ${stream} within ${ms} ms: ${JSON.stringify(text)}`)), ms);
    child[stream]!.on('data', (d: Buffer) => {
      const m = (text += d.toString()).match(pattern);
      if (m) clearTimeout(timer), resolve(m);
    });
  });
}

/** Resolves with how `child` ended, rejects after `ms`. */
function ended(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code, signal) => (clearTimeout(timer), resolve({ code, signal })));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('bench process tracking', () => {
  it('installCleanup() SIGKILLs every child and exits at once on a second SIGINT (the children were left running): regression', async () => {
    // A bench that tracks one child which ignores SIGTERM and SIGINT (sleep keeps the ignored
    // dispositions across exec), so the first SIGINT's stopAll() waits its 2 s grace for it.
    const bench = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { installCleanup, spawnTracked } from ${JSON.stringify(PROCESSES_JS)};
         installCleanup();
         const child = spawnTracked(['sh', '-c', 'trap "" TERM INT; echo ready; exec sleep 30']);
         child.stdout.once('data', () => console.log('child', child.pid));`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push([bench.pid!, 'installCleanup']);
    const exit = ended(bench, 20_000);
    const child = Number((await output(bench, 'stdout', /child (\d+)\n/, 10_000))[1]);
    started.push([child, 'sleep']);
    expect(alive(child)).toBe(true);

    const stopping = output(bench, 'stderr', /SIGINT, stopping 1 process/, 5000);
    bench.kill('SIGINT');
    await stopping;
    const t0 = performance.now();
    bench.kill('SIGINT');
    expect(await exit).toEqual({ code: 130, signal: null });
    expect(performance.now() - t0).toBeLessThan(1500); // not after the first signal's 2 s grace
    for (let i = 0; i < 50 && alive(child); i++) await sleep(20);
    expect(alive(child)).toBe(false);
  });
});
