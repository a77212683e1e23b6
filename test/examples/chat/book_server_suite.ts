// The behaviour both chat servers share with the Programming Rust book's, written once: the
// wakeloop `chat-server` (server.test.ts) and the node:net reference (test/bench/
// node_net_chat_server.test.ts) each call these inside their own describe, with their own way
// to start, connect and parse, and keep beside them what only they do.
import { expect, it } from 'vitest';
import { BAD_LINES, BAD_LINE_ERRORS, type Child, type Client, type Server, isMessage, join, members, message, noSync, post } from './helpers.js';

/** The answer to a post to `cats`, a group nobody joined. */
const NO_CATS = `{"Error":"Group 'cats' does not exist"}`;

/** A post to `cats` that is exactly `bytes` long (without a line ending). */
function postOf(bytes: number): string {
  const head = '{"Post":{"group_name":"cats","message":"';
  return `${head}${'a'.repeat(bytes - head.length - 3)}"}}`;
}

/** One chat server under test: how the shared cases start it, talk to it and name it. */
export interface BookServer {
  /** The subject of the behaviour tests' names: `serve()` or `ChatServer`. */
  readonly subject: string;
  /** The program, the subject of the process tests' names: `chat-server` or `node_net_chat_server`. */
  readonly program: string;
  /** The start of the usage line it prints on a bad command line. */
  readonly usage: string;
  /**
   * What it prints after its listening line when a signal stops it with one connection open:
   * wakeloop reports the connections it closed, the node:net server prints nothing.
   */
  readonly linesAfterStop: readonly string[];
  /** Starts it on 127.0.0.1:0 with `flags` and waits for its port. */
  start(...flags: string[]): Promise<Server>;
  /** Runs the program with `args` (what follows its command name) without waiting for anything. */
  run(...args: string[]): Child;
  /** A test client whose waits fail after this server's wait limit. */
  connect(port: number): Promise<Client>;
}

/** One server's parseServerArgs(): the same contract, a different shape for the address. */
export interface ServerArgsParser {
  parse(argv: readonly string[]): { ok: true; value: object } | { ok: false; error: string };
  /** The fields of the parsed value for the address `written`, that is `host:port`. */
  address(written: string, host: string, port: number): object;
}

/**
 * Declares the shared cases for `s`, to be called inside the describe that names the server.
 *
 * @example
 * ```ts
 * describe('wakeloop chat-server', () => bookServerTests(WAKELOOP));
 * ```
 */
export function bookServerTests(s: BookServer): void {
  it(`${s.subject} relays posts to every member in the same order, the poster included`, async () => {
    const { port } = await s.start();
    const [a, b] = await members(port, 'dogs', 2, s.connect);
    const posts = ['a1', 'b1', 'a2', 'b2', 'a3', 'I love dogs!'];
    await Promise.all([
      (async () => { for (const p of posts.filter((p) => !p.startsWith('b'))) await a.send(post('dogs', p)); })(),
      (async () => { for (const p of posts.filter((p) => p.startsWith('b'))) await b.send(post('dogs', p)); })(),
    ]);
    for (const c of [a, b]) await c.input.until(() => c.lines.filter(isMessage).length === posts.length, 'every post');
    const seen = a.lines.filter(isMessage);
    expect(b.lines.filter(isMessage)).toEqual(seen);
    expect([...seen].sort()).toEqual(posts.map((p) => message('dogs', p)).sort());
    const texts = seen.map((l) => JSON.parse(l).Message.message as string);
    expect(texts.filter((t) => t.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(texts.filter((t) => t.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(seen).toContain('{"Message":{"group_name":"dogs","message":"I love dogs!"}}');
  });

  it(`${s.subject} delivers twice to a connection that joined twice, and lets a non-member post`, async () => {
    const { port } = await s.start();
    const member = await s.connect(port);
    const outsider = await s.connect(port);
    await member.send(join('cats') + join('cats'));
    await member.sync();
    await outsider.send(post('cats', 'meow'));
    await outsider.sync();
    await member.input.until(() => member.lines.filter((l) => l === message('cats', 'meow')).length === 2, 'two copies');
    expect(noSync(outsider.lines)).toEqual([]);
  });

  it(`${s.subject} answers a post to a missing group to that client alone, and keeps its connection`, async () => {
    const { port } = await s.start();
    const [a, b] = await members(port, 'dogs', 2, s.connect);
    await a.send(post('cats', 'anyone?'));
    await a.waitFor((l) => l === `{"Error":"Group 'cats' does not exist"}`, 'the missing group error');
    await a.send(post('dogs', 'marker'));
    await b.waitFor((l) => l === message('dogs', 'marker'), 'the marker');
    await a.waitFor((l) => l === message('dogs', 'marker'), 'the marker');
    expect(noSync(b.lines)).toEqual([message('dogs', 'marker')]);
  });

  it(`${s.subject} answers each bad line with its invalid request error, ignores blank lines and keeps reading`, async () => {
    const { port } = await s.start();
    const c = await s.connect(port);
    const other = await s.connect(port);
    await other.send(join('dogs'));
    await other.sync();
    for (const line of BAD_LINES) await c.send(line);
    await c.sync();
    expect(noSync(c.lines)).toEqual(BAD_LINE_ERRORS);
    await c.send(' {"Post":["x","y"]} \r\n' + join('dogs'));
    await c.send('{"Post":{"message":"still here","group_name":"dogs"}}\n');
    await c.waitFor((l) => l === message('dogs', 'still here'), 'its own post');
    await other.waitFor((l) => l === message('dogs', 'still here'), 'the post');
    expect(noSync(other.lines)).toEqual([message('dogs', 'still here')]);
  });

  it(`${s.subject} accepts a line of exactly --max-line bytes and closes after the error on a longer one`, async () => {
    const { port } = await s.start('--max-line', '100');
    const ok = await s.connect(port);
    const exact = join('dogs').slice(0, -3) + ' '.repeat(100 - join('dogs').length + 1) + '}}\n';
    expect(exact.length).toBe(101);
    await ok.send(exact);
    await ok.sync();
    await ok.send(post('dogs', 'fits'));
    await ok.waitFor((l) => l === message('dogs', 'fits'), 'the post');

    const long = await s.connect(port);
    await long.send('x'.repeat(150)); // no newline: the cap applies before the line ends
    await long.ended;
    expect(long.lines).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    const longLine = await s.connect(port); // a whole line over the cap, as the first thing sent
    await longLine.send(post('dogs', 'y'.repeat(80)));
    await longLine.ended;
    expect(longLine.lines).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    const member = await s.connect(port); // a member too: no post may follow the error
    await member.send(join('dogs'));
    await member.sync();
    await member.send(post('dogs', 'y'.repeat(80)));
    await member.ended;
    expect(noSync(member.lines)).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    await ok.send(post('dogs', 'others carry on'));
    await ok.waitFor((l) => l === message('dogs', 'others carry on'), 'the post');
  });

  it(`${s.subject} counts --max-line before a line's \\r\\n or \\n, also while the line is still arriving`, async () => {
    const { port } = await s.start('--max-line', '100');
    const c = await s.connect(port);
    c.socket.setNoDelay(true);
    await c.send(`${postOf(100)}\r\n`); // 101 bytes before the \n, 100 before the \r\n
    await c.send(`${postOf(100)}\r`); // pending: 101 bytes, the last a \r
    await new Promise((resolve) => setTimeout(resolve, 200)); // (only so that it arrives alone)
    await c.send('\n');
    await c.send(`${postOf(101)}\r\n`);
    await c.ended;
    expect(c.lines).toEqual([NO_CATS, NO_CATS, '{"Error":"line too long (limit 100 bytes)"}']);
  });

  it(`${s.subject} delivers a member's own post before the line-too-long error that follows it in the same write`, async () => {
    const { port } = await s.start('--max-line', '100');
    const c = await s.connect(port);
    await c.send(`{"Join":{"group_name":"dogs"}}\n{"Post":{"group_name":"dogs","message":"1"}}\n${'x'.repeat(101)}\n`);
    await c.ended;
    expect(c.lines).toEqual(['{"Message":{"group_name":"dogs","message":"1"}}', '{"Error":"line too long (limit 100 bytes)"}']);
  });

  it(`${s.subject} answers a last line that has no \\n when the client half-closes`, async () => {
    const { port } = await s.start('--max-line', '100');
    const c = await s.connect(port);
    c.socket.end(postOf(100));
    await c.ended;
    expect(c.lines).toEqual([NO_CATS]);
    const long = await s.connect(port);
    long.socket.end(`${postOf(100)}\r`); // 101 bytes: at the end there is no \n to come
    await long.ended;
    expect(long.lines).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);
  });

  it(`${s.subject} delivers a member's own last posts, and the answers among them, before closing on its FIN`, async () => {
    const { port } = await s.start();
    const c = await s.connect(port);
    const texts = Array.from({ length: 400 }, (_, i) => `${i} ${'x'.repeat(300)}`); // > 64 KiB: several writes
    c.socket.end(join('dogs') + post('dogs', 'first') + post('cats', 'x') + texts.map((t) => post('dogs', t)).join(''));
    await c.ended;
    expect(c.lines).toEqual([message('dogs', 'first'), NO_CATS, ...texts.map((t) => message('dogs', t))]);
  });

  it(`${s.subject} delivers what a member was owed at its FIN even if it reads only later`, async () => {
    const { port } = await s.start();
    const c = await s.connect(port);
    c.socket.pause(); // the server's writes block once the socket buffers are full (~MBs)
    const texts = Array.from({ length: 900 }, (_, i) => `${i} ${'x'.repeat(8 * 1024)}`); // 7 MB, under the capacity of 1000
    await new Promise<void>((resolve) => c.socket.end(join('dogs') + texts.map((t) => post('dogs', t)).join(''), resolve));
    await new Promise((resolve) => setTimeout(resolve, 500)); // (only to let the server read it all first)
    c.socket.resume();
    await c.ended;
    expect(c.lines.length).toBe(texts.length);
    expect(c.lines).toEqual(texts.map((t) => message('dogs', t)));
  });

  it(`${s.subject} spends a few KiB per group: one client joins 4000 groups and posts a line to each`, async () => {
    const server = await s.start('--max-joins', '4000');
    const c = await s.connect(server.port);
    await c.sync();
    const before = server.rssKiB();
    const names = Array.from({ length: 4000 }, (_, i) => `g${i}`);
    await c.send(names.map((g) => join(g)).join(''));
    await c.send(names.map((g) => post(g, 'hi')).join(''));
    await c.input.until(() => c.lines.length === 1 + names.length, 'every post');
    expect(server.rssKiB() - before).toBeLessThan(names.length * 12); // 12 KiB a group
  });

  it(`${s.subject} refuses to create more than --max-groups groups`, async () => {
    const { port } = await s.start('--max-groups', '2');
    const c = await s.connect(port);
    await c.send(join('a') + join('b') + join('c') + join('a'));
    await c.sync();
    await c.send(post('a', 'x') + post('c', 'y'));
    await c.sync();
    expect(noSync(c.lines)).toEqual([
      '{"Error":"too many groups (limit 2)"}',
      message('a', 'x'),
      message('a', 'x'),
      `{"Error":"Group 'c' does not exist"}`,
    ]);
  });

  it(`${s.subject} refuses a Join beyond --max-joins on one connection; others still join`, async () => {
    const { port } = await s.start('--max-joins', '2');
    const c = await s.connect(port);
    await c.send(join('a') + join('a') + join('b'));
    await c.sync();
    await c.send(post('a', 'x'));
    await c.sync();
    expect(noSync(c.lines)).toEqual(['{"Error":"too many joins on this connection (limit 2)"}', message('a', 'x'), message('a', 'x')]);
    const d = await s.connect(port);
    await d.send(join('b') + post('b', 'y'));
    await d.waitFor((l) => l === message('b', 'y'), 'the post to b');
  });

  it(`${s.subject} answers the lines before a FIN, then closes`, async () => {
    const { port } = await s.start();
    const c = await s.connect(port);
    c.socket.end('oops\n');
    await c.ended;
    expect(c.lines).toEqual(['{"Error":"invalid request: invalid JSON"}']);
  });

  it(`${s.program} closes every connection and exits 0 on SIGTERM and on SIGINT`, async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await s.start();
      const c = await s.connect(server.port);
      await c.send(join('dogs'));
      await c.sync();
      server.child.kill(signal);
      await c.ended;
      expect(await server.exited).toBe(0);
      expect(server.out.lines.slice(1)).toEqual(s.linesAfterStop);
    }
  });

  it(`${s.program} exits 0 on a signal sent as soon as it says it listens`, async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await s.start();
      server.child.kill(signal);
      expect(await server.exited).toBe(0);
    }
  });

  it(`${s.program} exits 2 with the usage on a bad command line`, async () => {
    const bad = s.run('127.0.0.1:0', '--capacity', '0');
    expect(await bad.exited).toBe(2);
    expect(bad.err.text).toContain("--capacity must be a positive integer, got '0'");
    expect(bad.err.text).toContain(s.usage);
  });

  it(`${s.program} exits 2 on a --capacity or --max-line too large to serve, instead of failing every Join`, async () => {
    for (const [flag, value, max] of [['--capacity', '5000000000', 2 ** 30], ['--max-line', '3000000000', 2 ** 31 - 1]] as const) {
      const bad = s.run('127.0.0.1:0', flag, value);
      expect(await bad.exited).toBe(2);
      expect(bad.err.text).toContain(`${flag} must be at most ${max}, got '${value}'`);
      expect(bad.err.text).toContain(s.usage);
    }
  });

  it(`${s.program} exits 1 when it cannot listen`, async () => {
    const first = await s.start();
    const taken = s.run(`127.0.0.1:${first.port}`);
    expect(await taken.exited).toBe(1);
    expect(taken.err.text).toMatch(/EADDRINUSE/);
  });
}

/**
 * Declares the shared parseServerArgs() cases for `p`, inside the caller's describe.
 *
 * @example
 * ```ts
 * describe('parseServerArgs()', () => parseServerArgsTests({ parse: parseServerArgs, address: (written) => ({ address: written }) }));
 * ```
 */
export function parseServerArgsTests(p: ServerArgsParser): void {
  it('parseServerArgs() defaults to 127.0.0.1:8088 and the protocol limits', () => {
    expect(p.parse([])).toEqual({ ok: true, value: { ...p.address('127.0.0.1:8088', '127.0.0.1', 8088), capacity: 1000, maxLine: 65536, maxGroups: 10000, maxJoins: 1000 } });
  });

  it('parseServerArgs() reads the address and every flag', () => {
    expect(p.parse(['[::1]:0', '--capacity', '16', '--max-line=100', '--max-groups', '2', '--max-joins', '5'])).toEqual({
      ok: true,
      value: { ...p.address('[::1]:0', '::1', 0), capacity: 16, maxLine: 100, maxGroups: 2, maxJoins: 5 },
    });
    expect(p.parse(['localhost:9000'])).toMatchObject({ ok: true, value: p.address('localhost:9000', 'localhost', 9000) });
  });

  it('parseServerArgs() takes limits up to what the servers can serve, and no more', () => {
    const max = { capacity: 2 ** 30, maxLine: 2 ** 31 - 1, maxGroups: 2 ** 24 };
    const at = p.parse(['--capacity', String(max.capacity), '--max-line', String(max.maxLine), '--max-groups', String(max.maxGroups)]);
    expect(at).toMatchObject({ ok: true, value: max });
    expect(p.parse(['--capacity', String(2 ** 30 + 1)])).toEqual({ ok: false, error: `--capacity must be at most ${2 ** 30}, got '${2 ** 30 + 1}'` });
    expect(p.parse(['--max-line', String(2 ** 31)])).toEqual({ ok: false, error: `--max-line must be at most ${2 ** 31 - 1}, got '${2 ** 31}'` });
    expect(p.parse(['--max-groups', String(2 ** 24 + 1)])).toEqual({ ok: false, error: `--max-groups must be at most ${2 ** 24}, got '${2 ** 24 + 1}'` });
  });

  it('parseServerArgs() rejects bad addresses, bad numbers, unknown flags and extra arguments', () => {
    for (const argv of [['8088'], [':8088'], ['host:70000'], ['::1:80'], ['a:1', 'b:2'], ['--capacity', '1.5'], ['--max-line', '-3'], ['--max-groups', 'x'], ['--max-joins', '0'], ['--verbose']]) {
      expect(p.parse(argv).ok, argv.join(' ')).toBe(false);
    }
  });
}
