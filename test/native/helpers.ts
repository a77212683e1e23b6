// Shared setup for the addon-only tests: real sockets on 127.0.0.1 built from the raw shims,
// fd accounting through /proc, and small synchronous waits (the tests block the thread anyway).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binding, type NativeBlocker } from '../../src/_binding.js';

export const BACKENDS = ['epoll', 'poll'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The repository root and the built addon, for workers and child processes. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ADDON_PATH = path.join(ROOT, 'build/Release/wakeloop.node');
export const FIXTURES = path.join(ROOT, 'test/native/fixtures');

// errno values on Linux (x86_64 and arm64 agree on these).
export const E = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EBADF: 9, EAGAIN: 11, EEXIST: 17, EINVAL: 22, ENOTSOCK: 88,
  EADDRINUSE: 98, EADDRNOTAVAIL: 99, ECONNRESET: 104, ENOTCONN: 107, ECONNREFUSED: 111,
  EINPROGRESS: 115, EPIPE: 32, EAFNOSUPPORT: 97, EMFILE: 24, ESRCH: 3,
} as const;

/** The number of open fds of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The set of open fd numbers (without the one readdir itself used, closed by now). */
export function openFds(): Set<number> {
  return new Set(readdirSync('/proc/self/fd').map(Number).filter((fd) => fdTarget(fd) !== ''));
}

/** What an fd points at, e.g. 'anon_inode:[eventfd]' or 'pipe:[123]'. */
export function fdTarget(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '';
  }
}

/** Whether an fd has FD_CLOEXEC, read from the `flags` line of /proc/self/fdinfo (octal). */
export function isCloexec(fd: number): boolean {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const m = /^flags:\s+([0-7]+)/m.exec(info);
  if (!m) throw new Error(`no flags line for fd ${fd}`);
  return (parseInt(m[1], 8) & 0o2000000) !== 0;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps the thread (the addon tests are synchronous by nature). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Retries `f` until it returns something other than -EAGAIN / -EINPROGRESS, up to ~2 s. */
export function retry(f: () => number): number {
  for (let i = 0; i < 2000; i++) {
    const r = f();
    if (r !== -E.EAGAIN) return r;
    sleepSync(1);
  }
  throw new Error('still EAGAIN after 2 s');
}

function check(r: number, what: string): number {
  if (r < 0) throw new Error(`${what} failed: ${binding.strerror(r)} (${r})`);
  return r;
}

/** A listening socket on an ephemeral port of `host`. */
export function listener(host = '127.0.0.1'): { fd: number; port: number } {
  const fd = check(binding.socket(host.includes(':') ? 6 : 4), 'socket');
  check(binding.setReuseAddr(fd, true), 'setReuseAddr');
  check(binding.bind(fd, host, 0), 'bind');
  check(binding.listen(fd, binding.somaxconn), 'listen');
  const addr = binding.localAddress(fd);
  if (typeof addr === 'number') throw new Error('localAddress failed');
  return { fd, port: addr.port };
}

/** A connected pair: `client` connected to `server` (the accepted side). */
export interface TcpPair {
  client: number;
  server: number;
  close(): void;
}

export function tcpPair(host = '127.0.0.1'): TcpPair {
  const l = listener(host);
  const client = check(binding.socket(host.includes(':') ? 6 : 4), 'socket');
  const r = binding.connect(client, host, l.port);
  if (r !== 0 && r !== -E.EINPROGRESS) throw new Error(`connect: ${binding.strerror(r)}`);
  const server = check(retry(() => binding.accept(l.fd)), 'accept');
  binding.close(l.fd);
  // Wait until the client side has finished connecting too.
  for (let i = 0; i < 2000 && binding.peerAddress(client) === -E.ENOTCONN; i++) sleepSync(1);
  let closed = false;
  return {
    client,
    server,
    close() {
      if (closed) return;
      closed = true;
      binding.close(client);
      binding.close(server);
    },
  };
}

/** Writes a string through the shim (asserting it all went out). */
export function send(fd: number, text: string): void {
  const buf = Buffer.from(text);
  const n = binding.write(fd, buf, 0, buf.length);
  if (n !== buf.length) throw new Error(`write returned ${n}`);
}

/** Reads what is there (up to 64 KiB) as a string; a negative errno as a number. */
export function recv(fd: number): string | number {
  const buf = Buffer.alloc(65536);
  const n = binding.read(fd, buf, 0, buf.length);
  return n < 0 ? n : buf.subarray(0, n).toString();
}

/** The [eventId, signals] pairs of the last block() as objects. */
export function pairs(events: Int32Array, n: number): Array<{ id: number; signals: number }> {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ id: events[2 * i], signals: events[2 * i + 1] });
  return out;
}

/** Blocks up to `ms` and returns the events as objects. */
export function waitEvents(
  blocker: NativeBlocker,
  events: Int32Array,
  ms: number,
): Array<{ id: number; signals: number }> {
  return pairs(events, blocker.block(ms));
}

/**
 * Blocks until `id` has been reported with all the `want` bits (any bits when `want` is 0), or
 * `ms` have passed. Returns the signals merged over the events seen (0 = none).
 */
export function waitFor(
  blocker: NativeBlocker,
  events: Int32Array,
  id: number,
  want = 0,
  ms = 2000,
): number {
  const deadline = performance.now() + ms;
  let signals = 0;
  const done = () => (want === 0 ? signals !== 0 : (signals & want) === want);
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return signals;
    for (const e of waitEvents(blocker, events, left)) {
      if (e.id === id) signals |= e.signals;
    }
    if (done()) return signals;
  }
}

/**
 * Kills this process if a block(-1) test hangs: vitest's own timeout is a setTimeout, which
 * cannot fire while the thread is blocked in the kernel. Returns the disarm function.
 */
export function watchdog(ms: number): () => Promise<void> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', `setTimeout(() => { try { process.kill(${process.pid}, 'SIGKILL') } catch {} }, ${ms})`],
    { stdio: 'ignore' },
  );
  return async () => {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  };
}

/** Runs a fixture script with node in a child process and collects its output. */
export async function runFixture(
  args: string[],
  opts: { timeoutMs?: number; shell?: string } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = opts.shell
    ? spawn('bash', ['-c', opts.shell], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** Whether this machine can bind ::1. */
export function hasIPv6Loopback(): boolean {
  const fd = binding.socket(6);
  if (fd < 0) return false;
  const r = binding.bind(fd, '::1', 0);
  binding.close(fd);
  return r === 0;
}
