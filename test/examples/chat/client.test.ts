// `wakeloop chat-client` driven through piped stdin against a `wakeloop chat-server` child (and
// against stand-in servers), checking its exact output. Its stdin stays open until the expected
// output has arrived: like the book's client, it exits at end of input without waiting for
// replies in flight.
import { once } from 'node:events';
import { execFileSync, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HELP_TEXT } from '../../../examples/chat/client_commands.js';
import { CLI, Child, Server, cleanUp, type Lines } from './helpers.js';

const shells: ChildProcess[] = [];
afterEach(() => {
  for (const sh of shells.splice(0)) if (sh.exitCode === null && sh.signalCode === null) sh.kill('SIGKILL');
  cleanUp();
});

/** Waits (up to 10 s) until `test` holds. */
async function waitUntil(test: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!test()) throw new Error('timed out');
}



const HELP = `${HELP_TEXT}\n`;

/** Waits until `lines` holds as much text as `expected`, then checks it is exactly that. */
async function hasExactly(lines: Lines, expected: string): Promise<void> {
  await lines.until(() => lines.text.length >= expected.length, JSON.stringify(expected));
  expect(lines.text).toBe(expected);
}

/** `wakeloop chat-client ADDRESS` with its stdin a pipe we write to. */
class ChatClient extends Child {
  constructor(address: string) {
    super(['chat-client', address], 'pipe');
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Waits until stdout is exactly `expected` (and fails if it gets longer than that). */
  shows(expected: string): Promise<void> {
    return hasExactly(this.out, expected);
  }

  /**
   * Waits until stderr is exactly `expected`. A separate pipe from stdout: what the client wrote
   * to it first may still reach us after later stdout lines.
   */
  complains(expected: string): Promise<void> {
    return hasExactly(this.err, expected);
  }

  /** A round trip: a post to a group nobody joined is answered with an error line. */
  async sync(expected: string, tag: string): Promise<string> {
    this.type(`post ${tag} ?\n`);
    const shown = `${expected}error from server: Group '${tag}' does not exist\n`;
    await this.shows(shown);
    return shown;
  }

  /** Ends its input and resolves to its exit status. */
  async end(): Promise<number | null> {
    this.child.stdin!.end();
    return this.exited;
  }
}

describe('wakeloop chat-client', () => {
  it('chatClient() sends the typed commands and prints what the server sends, like the book', async () => {
    const server = await Server.start();
    const a = new ChatClient(`127.0.0.1:${server.port}`);
    const b = new ChatClient(`127.0.0.1:${server.port}`);
    a.type('join dogs\n');
    let seenA = await a.sync(HELP, 'sync-a');
    b.type('\n   \njoin dogs\njoin\npost\nleave dogs\n');
    let seenB = await b.sync(HELP, 'sync-b');
    await b.complains('Unrecognized command: "leave dogs"\n');

    b.type('post dogs   I love dogs! \n');
    seenA += 'message posted to dogs: I love dogs! \n';
    seenB += 'message posted to dogs: I love dogs! \n';
    await a.shows(seenA);
    await b.shows(seenB);
    a.type('post dogs "quoted" \\ back\tslash\npost cats meow\n');
    const quoted = 'message posted to dogs: "quoted" \\ back\tslash\n';
    // a's own post and the error come in the order it sent them.
    await a.shows(seenA + quoted + "error from server: Group 'cats' does not exist\n");
    await b.shows(seenB + quoted);
    expect(await a.end()).toBe(0);
    expect(await b.end()).toBe(0);
    expect(a.err.text).toBe('');
  });

  it('chatClient() accepts a host name and exits 0 when the server closes', async () => {
    const server = await Server.start();
    const c = new ChatClient(`localhost:${server.port}`);
    c.type('join dogs\npost dogs hi\n');
    await c.shows(`${HELP}message posted to dogs: hi\n`);
    server.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(await server.exited).toBe(0);
  });

  it('chatClient() exits 0 at once at the end of a file given as stdin (a file cannot be polled)', async () => {
    const server = await Server.start();
    const path = joinPath(tmpdir(), `wakeloop-chat-client-${process.pid}.txt`);
    writeFileSync(path, 'join dogs\nbogus\n');
    const fd = openSync(path, 'r');
    try {
      const c = new Child(['chat-client', `127.0.0.1:${server.port}`], fd);
      expect(await c.exited).toBe(0);
      expect(c.out.text).toBe(HELP);
      expect(c.err.text).toBe('Unrecognized command: "bogus"\n');
    } finally {
      closeSync(fd);
      unlinkSync(path);
    }
  });

  it('chatClient() exits 1 when the connection is refused', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const c = new ChatClient(`127.0.0.1:${port}`);
    expect(await c.exited).toBe(1);
    expect(c.out.text).toBe('');
    expect(c.err.text).toMatch(/^Error: .*ECONNREFUSED/);
  });

  it('chatClient() exits 1 when the server sends a line it cannot parse', async () => {
    const server = await standInServer('{"Message":{"group_name":"dogs","message":"fine"}}\n{"Message":{"group_name":"dogs"}}\n', 1);
    try {
      const c = new ChatClient(`127.0.0.1:${server.port}`);
      expect(await c.exited).toBe(1);
      expect(c.out.text).toBe(`${HELP}message posted to dogs: fine\n`);
      expect(c.err.text).toBe('Error: invalid reply: missing field `message`\n');
    } finally {
      server.close();
    }
  });

  /** The client under `sh -c` with `redirect` (by default its stderr on its stdout pipe), and `after` run once it exited. */
  function shellClient(port: number, after = '', redirect = '2>&1'): { sh: ChildProcess; exited: Promise<unknown>; out: () => string; clientPid: () => number } {
    const sh = spawnProcess('sh', ['-c', `"$0" "$1" chat-client "127.0.0.1:$2" ${redirect}; echo "status $?"; ${after}`, process.execPath, CLI, String(port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    shells.push(sh);
    const exited = once(sh, 'exit');
    sh.stdin!.on('error', () => {}); // input the client did not read before it ended
    let out = '';
    sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const clientPid = () => Number(execFileSync('pgrep', ['-P', String(sh.pid)]).toString().trim().split('\n')[0]);
    return { sh, exited, out: () => out, clientPid };
  }

  /** A stand-in for the chat server that sends each client `count` copies of `text`, as fast as it takes them. */
  async function standInServer(text: string, count: number): Promise<{ port: number; clients: () => number; close: () => void }> {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      let sent = 0;
      const more = () => {
        while (sent < count && s.write(text)) sent++;
      };
      s.on('drain', more);
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      clients: () => sockets.length,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    };
  }

  it('chatClient() ends a line it began before exiting at the end of input, however slowly stdout drains', async () => {
    const server = await standInServer(`{"Message":{"group_name":"dogs","message":"${'y'.repeat(60_000)}"}}\n`, 20);
    try {
      const { sh, exited, out } = shellClient(server.port);
      await waitUntil(() => out().length > 0);
      sh.stdout!.pause();
      await new Promise((r) => setTimeout(r, 500)); // the client is mid-line on a full pipe
      sh.stdin!.end(); // end of input: the client stops, but finishes that line first
      await new Promise((r) => setTimeout(r, 300));
      sh.stdout!.resume();
      await exited;
      const lines = out().split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.pop()).toBe('status 0');
      for (const l of lines.slice(HELP_TEXT.split('\n').length)) expect(l).toBe(`message posted to dogs: ${'y'.repeat(60_000)}`);
    } finally {
      server.close();
    }
  });

  it.each([
    ['SIGHUP', 129],
    ['SIGQUIT', 131],
  ] as const)('chatClient() exits on %s with %i and leaves the stdin it shares blocking, as it found it', async (name, status) => {
    const server = await Server.start();
    const { exited, out, clientPid } = shellClient(server.port, 'grep ^flags /proc/self/fdinfo/0');
    await waitUntil(() => out().length > 0);
    process.kill(clientPid(), name);
    await exited;
    const m = /status (\d+)\nflags:\s+(\d+)/.exec(out());
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(status);
    expect(parseInt(m![2], 8) & constants.O_NONBLOCK).toBe(0);
  });

  it('chatClient() answers SIGINT, without spinning, while its output is stalled on the stdin it shares (as a terminal is)', async () => {
    // A flood of replies, bounded: enough to fill the output socket's buffers many times over.
    const server = await standInServer(`{"Message":{"group_name":"dogs","message":"${'z'.repeat(1000)}"}}\n`, 20_000);
    try {
      // stdio 'pipe' is a socket pair: `0<&1` gives the client one open file as stdin and
      // stdout, as a terminal does, so making stdin non-blocking makes stdout non-blocking too.
      const { sh, out, clientPid } = shellClient(server.port, 'grep ^flags /proc/self/fdinfo/1', '0<&1 2>/dev/null');
      const closed = once(sh, 'close'); // exited, and its stdout read to the end
      sh.stdout!.pause(); // nobody reads: the client's output stalls once the buffers are full
      await waitUntil(() => server.clients() === 1);
      const pid = clientPid();
      const cpuTicks = () => {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
        return Number(fields[11]) + Number(fields[12]); // utime + stime
      };
      await new Promise((r) => setTimeout(r, 1000));
      const before = cpuTicks();
      await new Promise((r) => setTimeout(r, 1000));
      expect(cpuTicks() - before).toBeLessThan(30); // of 100 per second: waiting, not retrying EAGAIN

      process.kill(pid, 'SIGINT');
      let gone = false;
      for (let i = 0; i < 300 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 10));
        gone = !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      }
      expect(gone).toBe(true); // it ended while its output was still stalled

      sh.stdout!.resume();
      await closed;
      const m = /status (\d+)\nflags:\s+(\d+)\n$/.exec(out());
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBe(130);
      expect(parseInt(m![2], 8) & constants.O_NONBLOCK).toBe(0);
    } finally {
      server.close();
    }
  });

  it('chat-client exits 2 with its usage without an address', async () => {
    const c = new Child(['chat-client']);
    expect(await c.exited).toBe(2);
    expect(c.err.text).toContain('usage: wakeloop chat-client ADDRESS');
  });
});
