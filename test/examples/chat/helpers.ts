// Helpers for the chat tests: the compiled CLI run as a child process with a kill timer, a test
// client over node:net that collects lines, and the server's counts read from /proc and from
// its SIGUSR2 line. Every wait is bounded and event-driven.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../../../dist/src/cli.js', import.meta.url));
export const REFERENCE_JS = fileURLToPath(new URL('../../../dist/bench/chat/node_net_chat_server.js', import.meta.url));
const KILL_AFTER_MS = 90_000;
export const WAIT_MS = 30_000;

/** How long a wait may take before it fails, and how long a child may live before it is SIGKILLed. */
export interface Limits {
  readonly waitMs: number;
  readonly killAfterMs: number;
}
export const LIMITS: Limits = { waitMs: WAIT_MS, killAfterMs: KILL_AFTER_MS };

const children: ChildProcess[] = [];
const sockets: net.Socket[] = [];

/** For afterEach: destroys every test socket and SIGKILLs every child still running. */
export function cleanUp(): void {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A child process whose output is collected line by line, with waits on it. */
export class Child {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly out: Lines;
  readonly err: Lines;

  constructor(args: string[], stdin: 'pipe' | 'ignore' | number = 'ignore', script = CLI, limits: Limits = LIMITS) {
    if (!existsSync(script)) throw new Error(`${script} is missing: compile first (npx tsc -p tsconfig.json)`);
    this.out = new Lines(limits.waitMs);
    this.err = new Lines(limits.waitMs);
    this.child = spawn(process.execPath, [script, ...args], { stdio: [stdin, 'pipe', 'pipe'] });
    children.push(this.child);
    const killTimer = setTimeout(() => this.child.kill('SIGKILL'), limits.killAfterMs);
    this.child.stdout!.on('data', (d: Buffer) => this.out.push(d));
    this.child.stderr!.on('data', (d: Buffer) => this.err.push(d));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        clearTimeout(killTimer);
        this.out.end();
        this.err.end();
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }
}

/**
 * Text arriving in chunks, split into lines (a UTF-8 sequence split across chunks is decoded
 * whole); waiters are woken on every chunk and at the end.
 */
export class Lines {
  readonly lines: string[] = [];
  readonly #waitMs: number;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  #ended = false;
  #waiters: (() => void)[] = [];

  constructor(waitMs = WAIT_MS) {
    this.#waitMs = waitMs;
  }

  push(chunk: Buffer): void {
    const parts = (this.#partial + this.#decoder.write(chunk)).split('\n');
    this.#partial = parts.pop()!;
    this.lines.push(...parts);
    this.#wake();
  }

  end(): void {
    this.#partial += this.#decoder.end();
    this.#ended = true;
    this.#wake();
  }

  /** Everything received so far, the unfinished line included. */
  get text(): string {
    return this.lines.map((l) => `${l}\n`).join('') + this.#partial;
  }

  /** Waits until `test` holds (checked on every arrival); throws after its wait limit or at the end. */
  async until(test: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.#waitMs;
    while (!test()) {
      if (this.#ended || Date.now() > deadline) throw new Error(`never saw ${what}; got ${JSON.stringify(this.text.slice(-600))}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** The chat server as a child process. */
export class Server extends Child {
  port = 0;

  /** Starts `wakeloop chat-server 127.0.0.1:0 ...flags` and waits for its address. */
  static start(...flags: string[]): Promise<Server> {
    return Server.launch(new Server(['chat-server', '127.0.0.1:0', ...flags]));
  }

  /** Starts the node:net reference server (bench/chat/node_net_chat_server.ts) the same way. */
  static startReference(...flags: string[]): Promise<Server> {
    return Server.startReferenceWithin(LIMITS, ...flags);
  }

  /** startReference() with other wait and kill limits. */
  static startReferenceWithin(limits: Limits, ...flags: string[]): Promise<Server> {
    return Server.launch(new Server(['127.0.0.1:0', ...flags], 'ignore', REFERENCE_JS, limits));
  }

  static async launch(server: Server): Promise<Server> {
    let port = 0;
    await server.out.until(() => {
      const m = /^chat server listening on 127\.0\.0\.1:(\d+)$/.exec(server.out.lines[0] ?? '');
      port = m ? Number(m[1]) : 0;
      return port > 0;
    }, 'the listening line');
    server.port = port;
    return server;
  }

  /** The counts of the server's SIGUSR2 line. */
  async stats(): Promise<{ connections: number; tasks: number; subscriptions: number; groups: number; heldPosts: number; arenaBytes: number }> {
    const before = this.out.lines.length;
    this.child.kill('SIGUSR2');
    let m: RegExpExecArray | null = null;
    const re = /^chat server stats: connections=(\d+) tasks=(\d+) subscriptions=(\d+) groups=(\d+) held-posts=(\d+) arena-bytes=(\d+)$/;
    await this.out.until(() => this.out.lines.slice(before).some((l) => (m = re.exec(l)) !== null), 'the stats line').catch((error: Error) => {
      let stat = '';
      try { stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8'); } catch {}
      throw new Error(`${error.message}; exit ${this.child.exitCode} ${this.child.signalCode}; stat ${stat}; stderr: ${this.err.text.slice(-2000)}`);
    });
    const [, connections, tasks, subscriptions, groups, heldPosts, arenaBytes] = (m as unknown as RegExpExecArray).map(Number);
    return { connections, tasks, subscriptions, groups, heldPosts, arenaBytes };
  }

  /** Polls the stats (no event tells us when the server noticed a disconnect) until `test` holds. */
  async statsUntil(test: (s: Awaited<ReturnType<Server['stats']>>) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (let s = await this.stats(); !test(s); s = await this.stats()) {
      if (Date.now() > deadline) throw new Error(`server never reached ${what}: ${JSON.stringify(s)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Open fds of the server process. */
  fds(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  /** The server's resident memory in KiB (VmRSS). */
  rssKiB(): number {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    if (!m) throw new Error('no VmRSS');
    return Number(m[1]);
  }
}

/** A test client: collects the server's lines as strings, without their '\n'. */
export class Client {
  readonly socket: net.Socket;
  readonly input: Lines;
  readonly ended: Promise<void>;

  private constructor(socket: net.Socket, waitMs: number) {
    this.socket = socket;
    this.input = new Lines(waitMs);
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => this.input.push(chunk));
    socket.on('error', () => {});
    this.ended = new Promise((resolve) =>
      socket.on('close', () => {
        this.input.end();
        resolve();
      }),
    );
  }

  get lines(): string[] {
    return this.input.lines;
  }

  /** Connects to 127.0.0.1:`port`; its waits fail after `waitMs`. */
  static connect(port: number, waitMs = WAIT_MS): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Client(socket, waitMs)));
      socket.once('error', reject);
    });
  }

  /** Writes `text`; resolves once the socket takes more (at once if the server closed it: the bytes are lost). */
  send(text: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (!this.socket.writable || this.socket.write(text)) resolve();
      else this.socket.once('drain', resolve);
    });
  }

  /** Waits until some received line satisfies `test`. */
  async waitFor(test: (line: string) => boolean, what: string): Promise<void> {
    await this.input.until(() => this.lines.some(test), what);
  }

  /** Round trip: once the answer to a post to a missing group arrives, the server has read every earlier line. */
  async sync(tag = 'sync'): Promise<void> {
    const group = `__sync-${tag}-${Math.random()}`;
    await this.send(`{"Post":{"group_name":"${group}","message":""}}\n`);
    await this.waitFor((l) => l === `{"Error":"Group '${group}' does not exist"}`, `the ${tag} error`);
  }
}

/** Connects `count` clients with `connect`, each joined to `group`, its join read by the server. */
export async function members(port: number, group: string, count: number, connect = (p: number) => Client.connect(p)): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) clients.push(await connect(port));
  for (const c of clients) {
    await c.send(join(group));
    await c.sync();
  }
  return clients;
}

export const join = (group: string) => `{"Join":{"group_name":"${group}"}}\n`;
export const post = (group: string, message: string) => `{"Post":{"group_name":"${group}","message":${JSON.stringify(message)}}}\n`;
export const message = (group: string, text: string) => `{"Message":{"group_name":"${group}","message":${JSON.stringify(text)}}}`;
export const isMessage = (l: string) => l.startsWith('{"Message":');
export const noSync = (lines: string[]) => lines.filter((l) => !l.includes('__sync-'));

/** `Dropped N messages from dogs.`, the lag report of the group the pressure tests post to. */
const DROPPED_DOGS = /^\{"Error":"Dropped (\d+) messages from dogs\."\}$/;
/** The post number a pressure test put first in each message (`"17 xxxx..."`). */
const postNumber = (line: string) => Number(JSON.parse(line).Message.message.split(' ')[0]);

/**
 * Checks what a member that stopped reading got of `sent` numbered posts to `dogs`: exactly one
 * `Dropped N` report, posts 0..gap-1 before it, then the last `retained` posts, all in order.
 */
export function expectOneGap(lines: string[], sent: number, retained: number): void {
  const reports = lines.filter((l) => l.startsWith('{"Error":'));
  expect(reports, JSON.stringify(reports.map((r) => [lines.indexOf(r), r]))).toHaveLength(1);
  const m = DROPPED_DOGS.exec(reports[0]);
  expect(m).not.toBeNull();
  const n = Number(m![1]);
  const gap = lines.indexOf(reports[0]);
  const numbers = lines.filter(isMessage).map(postNumber);
  expect(n).toBeGreaterThan(0);
  expect(numbers.length + n).toBe(sent);
  expect(numbers).toEqual([...Array(gap).keys(), ...Array.from({ length: sent - gap - n }, (_, i) => gap + n + i)]);
  expect(sent - gap - n).toBe(retained);
}

/** Checks that `sent` numbered posts to `dogs` all arrived in order, or were reported as dropped. */
export function expectAllAccountedFor(lines: string[], sent: number): void {
  let expected = 0;
  for (const l of lines) {
    const lag = DROPPED_DOGS.exec(l);
    if (lag) expected += Number(lag[1]);
    else expect(postNumber(l)).toBe(expected++);
  }
  expect(expected).toBe(sent);
}

/** Bad request lines (with blank ones between), sent in these pieces, for both chat servers. */
export const BAD_LINES: Array<string | Buffer> = [
  'hello\n\n   \r\n{"Leave":{"group_name":"dogs"}}\n{"Join":{}}\n',
  Buffer.concat([Buffer.from('{"Join":{"group_name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')]),
  '{"Join":{"group_name":"\\ud800"}}\n{"Join":{"group_name":"a"}}{"Join":{"group_name":"b"}}\n\n',
  '{"Post":{"group_name":"dogs","message":5}}\r\n',
  '{"Join":{"group_name":"dogs"},"Join":{"group_name":"dogs"}}\n{"Post":{"group_name":"dogs","message":"a","message":"b"}}\n',
];

/** The errors a server answers BAD_LINES with, in order (blank lines get none). */
export const BAD_LINE_ERRORS = [
  '{"Error":"invalid request: invalid JSON"}',
  '{"Error":"invalid request: unknown variant `Leave`, expected `Join` or `Post`"}',
  '{"Error":"invalid request: missing field `group_name`"}',
  '{"Error":"invalid request: invalid UTF-8"}',
  '{"Error":"invalid request: lone UTF-16 surrogate in a string"}',
  '{"Error":"invalid request: expected one JSON value per line"}',
  '{"Error":"invalid request: invalid type for `message`: expected a string, found number"}',
  '{"Error":"invalid request: expected an object with one key, `Join` or `Post`, found 2 keys"}',
  '{"Error":"invalid request: duplicate field `message`"}',
];
