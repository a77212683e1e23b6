// Helpers for the tests that run the CLI (or other node code) in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The compiled CLI (`npm test` runs tsc first). */
const CLI = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));

/** Where a child process ended, what it printed, and how long it ran. */
export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** How to run a child: variables over this process's environment, and when to kill it (default 20 s). */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  killAfterMs?: number;
}

/** Runs `node ...args` to its end, collecting its output; kills it after `killAfterMs`. */
export function runNode(args: string[], opts: RunOptions = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start });
    });
  });
}

/** Runs `wakeloop ...args` to its end, as runNode() does. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<ChildRun> {
  return runNode([CLI, ...args], opts);
}

/** A CLI server child, the ports from its `listening on` lines, and all it printed so far. */
export interface Server {
  child: ChildProcess;
  ports: number[];
  output: () => string;
}

/**
 * Starts `wakeloop ...args` (with `env` over this process's) and resolves once every pattern in
 * `listening` (each capturing a port) matched its output; kills it after 20 s.
 */
export async function startCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; listening?: RegExp[] } = {},
): Promise<Server> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('exit', () => clearTimeout(killer));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const patterns = opts.listening ?? [/listening on 127\.0\.0\.1:(\d+)/];
  for (;;) {
    const found = patterns.map((p) => p.exec(out));
    if (found.every((m) => m !== null)) return { child, ports: found.map((m) => Number(m![1])), output: () => out };
    if (child.exitCode !== null) throw new Error(`${args[0]} exited: ${out}`);
    await Promise.race([once(child.stdout, 'data'), once(child, 'exit')]);
  }
}

/** Sends `payload` on a new connection to 127.0.0.1:`port` and resolves with what came back before our FIN. */
export function echoOnce(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(payload));
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}
