// Every process the bench starts goes through here, so each one can be stopped by its pid at the
// end, on error and on Ctrl-C (SIGTERM first, SIGKILL after a grace period).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { repoRoot } from './paths.js';

const live = new Set<ChildProcess>();

/** Starts argv[0] with its stdout and stderr piped; tracked until it exits. */
export function spawnTracked(argv: string[]): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  child.on('error', () => live.delete(child)); // spawn failure: reported by the caller
  return child;
}

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. Returns how it ended. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<'already' | 'term' | 'kill'> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return 'already';
  const done = exited(child);
  signal(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
  const timedOut = await Promise.race([done.then(() => false), late]);
  clearTimeout(timer);
  if (!timedOut) return 'term';
  signal(child.pid, 'SIGKILL');
  await done;
  return 'kill';
}

/** Sends a signal by pid, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: it exited meanwhile.
  }
}

/** Stops everything still running, in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => stopProcess(child, 2000)));
}

/** SIGKILLs every child still running. */
function killAll(): void {
  for (const child of live) if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
}

/**
 * On Ctrl-C or SIGTERM, stop every child before exiting; on a second one meanwhile, SIGKILL them
 * and exit at once; on any exit, SIGKILL what is left.
 */
export function installCleanup(): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals, code: number) => {
    if (stopping) {
      process.stderr.write(`\nbench: ${sig} again, killing ${live.size} process(es)\n`);
      killAll();
      process.exit(code);
    }
    stopping = true;
    process.stderr.write(`\nbench: ${sig}, stopping ${live.size} process(es)\n`);
    void stopAll().finally(() => process.exit(code));
  };
  // `on`, not `once`: a second signal with no listener takes its default action and ends the
  // process without 'exit', leaving the children that were still in their grace period running.
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('exit', killAll);
}

/** Collects a stream line by line; keeps the last `keep` lines for error messages. */
export function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string) => void, keep = 20): () => string[] {
  const tail: string[] = [];
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      onLine(line);
    }
  });
  return () => (partial ? [...tail, partial] : tail);
}

const tasksetPath = (() => {
  const r = spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
})();

/** Server and load generator get a CPU each when the machine has two or more and taskset exists. */
export const pinning = { enabled: cpus().length >= 2 && tasksetPath !== '', server: '0', loadgen: '1' };

/** Prefixes argv with `taskset -c CPUS` when pinning is enabled. */
export function pinned(cpuList: string, argv: string[]): string[] {
  return pinning.enabled ? [tasksetPath, '-c', cpuList, ...argv] : argv;
}

/**
 * Runs argv through sh with a raised fd limit (soft limit up to `nofile`, else up to the hard
 * limit). `exec` keeps the pid, so the pid we hold is the server's own.
 */
export function withFdLimit(nofile: number, argv: string[]): string[] {
  const script = `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  return ['sh', '-c', script, 'sh', ...argv];
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
