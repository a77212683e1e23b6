// The contenders: one table entry each. A server is started from the repository root with
// `--host 127.0.0.1 --port P` appended (or with `{host}` and `{port}` in its argv replaced) and must
// print `listening on HOST:PORT` when ready and stop cleanly on SIGTERM. A contender whose server fails to start is reported "unavailable" with the
// reason, and the others still run.
import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { lineReader, pinned, pinning, spawnTracked, stopProcess, withFdLimit } from './processes.js';

/** What kind of server a workload talks to. Chat is for the fan-out workload, still to come. */
export type ServerKind = 'echo' | 'chat';

export interface Contender {
  /** Name used on the command line (--contenders) and in the results. */
  name: string;
  /** Name shown in the table and the chart. */
  label: string;
  /**
   * Command per server kind, relative to the repository root; a missing kind is "unavailable".
   * Without `{port}` in it, `--host 127.0.0.1 --port P` is appended.
   */
  servers: Partial<Record<ServerKind, string[]>>;
  /** CPUs the server may use (taskset list); the load generator runs on the other one. */
  cpus?: string;
  /** Bar colour in the chart. */
  color: string;
}

const node = process.execPath; // the same node binary as the bench itself

export const contenders: Contender[] = [
  { name: 'wakeloop', label: 'wakeloop', servers: { echo: [node, 'dist/src/cli.js', 'echo-server'], chat: [node, 'dist/src/cli.js', 'chat-server', '{host}:{port}'] }, color: '#1f77b4' },
  { name: 'node-net', label: 'node:net', servers: { echo: [node, 'dist/bench/node_net_echo.js'], chat: [node, 'dist/bench/chat/node_net_chat_server.js', '{host}:{port}'] }, color: '#2ca02c' },
  { name: 'c', label: 'C epoll', servers: { echo: ['bench/bin/epoll_echo'] }, color: '#7f7f7f' },
  // The same echo task run inside Node's event loop (one uv_poll_t on the epoll fd).
  { name: 'wakeloop-attached', label: 'wakeloop attached', servers: { echo: [node, 'dist/src/cli.js', 'echo-server', '--attached'] }, color: '#9467bd' },
  // Two worker threads sharing the port (SO_REUSEPORT). It may use both CPUs, so it shares one
  // with the load generator: compare it with care on a 2-CPU machine.
  { name: 'wakeloop-t2', label: 'wakeloop --threads 2', servers: { echo: [node, 'dist/src/cli.js', 'echo-server', '--threads', '2'] }, cpus: '0,1', color: '#ff7f0e' },
  // The floor under the first: the same echo on the public IoBlocker and sys calls, no tasks.
  { name: 'blocker', label: 'IoBlocker loop', servers: { echo: [node, 'dist/bench/blocker_echo.js'] }, color: '#17becf' },
  // Later contenders are one entry each.
  // A chat server is one more key in `servers`, e.g. chat: [node, 'dist/bench/chat/node_net_chat_server.js', '{host}:{port}'].
];

/** Ratios are reported against these two. */
export const NODE_REFERENCE = 'node-net';
export const C_REFERENCE = 'c';

export interface RunningServer {
  pid: number;
  port: number;
  child: ChildProcess;
  /** Why it exited, or undefined while it runs. */
  exitReason(): string | undefined;
  stop(): Promise<'already' | 'term' | 'kill'>;
}

const START_TIMEOUT_MS = 15_000;

/** A port that was free a moment ago (bound to port 0, then released). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a contender's server; on failure returns the reason instead. */
export async function startServer(c: Contender, kind: ServerKind, nofile: number): Promise<RunningServer | string> {
  const argv = c.servers[kind];
  if (!argv) return `${c.label} has no ${kind} server`;
  let reason = '';
  // The port can be taken between freePort() and the server's bind: retry on EADDRINUSE.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const result = await startOnce(argv, port, c.cpus ?? pinning.server, nofile);
    if (typeof result !== 'string') return result;
    reason = result;
    if (!/EADDRINUSE|address already in use/i.test(reason)) break;
  }
  return reason;
}

function startOnce(argv: string[], port: number, cpuList: string, nofile: number): Promise<RunningServer | string> {
  const args = argv.some((a) => a.includes('{port}'))
    ? argv.map((a) => a.replaceAll('{host}', '127.0.0.1').replaceAll('{port}', String(port)))
    : [...argv, '--host', '127.0.0.1', '--port', String(port)];
  const child = spawnTracked(withFdLimit(nofile, pinned(cpuList, args)));
  let exitReason: string | undefined;
  const stderrTail = lineReader(child.stderr!, () => {});
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      void stopProcess(child);
      resolve(`no "listening on" line within ${START_TIMEOUT_MS / 1000} s${describeTail(stderrTail())}`);
    }, START_TIMEOUT_MS);
    lineReader(child.stdout!, (line) => {
      const m = /listening on (\S+):(\d+)/.exec(line);
      if (!m || child.pid === undefined) return;
      clearTimeout(timer);
      const pid = child.pid;
      resolve({ pid, port: Number(m[2]), child, exitReason: () => exitReason, stop: () => stopProcess(child) });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`cannot start ${argv[0]}: ${err.message}`);
    });
    child.on('exit', (code, sig) => {
      exitReason = `exited (${sig ?? `code ${code}`})${describeTail(stderrTail())}`;
      clearTimeout(timer);
      resolve(exitReason); // no effect if it was already listening
    });
  });
}

/** The most telling stderr line: the first that names an error, else the last one. */
function describeTail(lines: string[]): string {
  const text = lines.map((l) => l.trim()).filter(Boolean);
  if (text.length === 0) return '';
  const line = text.find((l) => /error|cannot|not found|EADDRINUSE/i.test(l)) ?? text[text.length - 1]!;
  return `: ${line.length > 200 ? `${line.slice(0, 200)}...` : line}`;
}
