// Runs the compiled server (dist/, built by `npm test`'s tsc step) as a child process and talks
// to it over real TCP on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../bench/chat/node_net_chat_server.js';
import { BAD_LINES, BAD_LINE_ERRORS, Child, Client, type Limits, REFERENCE_JS, Server, cleanUp, expectAllAccountedFor, expectOneGap, isMessage, join, message, noSync, post } from '../examples/chat/helpers.js';

// Tighter than the wakeloop chat tests' limits: every wait fails after 20 s, every server dies after 50 s.
const LIMITS: Limits = { waitMs: 20_000, killAfterMs: 50_000 };

afterEach(cleanUp);

/** Starts the server on a free port (port 0; it prints the one it got), killed after LIMITS.killAfterMs whatever happens. */
const startServer = (...flags: string[]): Promise<Server> => Server.startReferenceWithin(LIMITS, ...flags);

/** A test client whose waits fail after LIMITS.waitMs. */
const connect = (port: number): Promise<Client> => Client.connect(port, LIMITS.waitMs);

describe('node:net chat server', () => {
  it('ChatServer relays posts to every member in the same order, the poster included', async () => {
    const { port } = await startServer();
    const a = await connect(port);
    const b = await connect(port);
    await a.send(join('dogs'));
    await b.send(join('dogs'));
    await a.sync();
    await b.sync();
    const posts = ['a1', 'b1', 'a2', 'b2', 'a3', 'I love dogs!'];
    await Promise.all([
      (async () => { for (const p of posts.filter((p) => !p.startsWith('b'))) await a.send(post('dogs', p)); })(),
      (async () => { for (const p of posts.filter((p) => p.startsWith('b'))) await b.send(post('dogs', p)); })(),
    ]);
    for (const c of [a, b]) await c.waitFor(() => c.lines.filter(isMessage).length === posts.length, 'every post');
    const seenA = a.lines.filter(isMessage);
    expect(b.lines.filter(isMessage)).toEqual(seenA);
    expect([...seenA].sort()).toEqual(posts.map((p) => message('dogs', p)).sort());
    const texts = seenA.map((l) => JSON.parse(l).Message.message as string);
    expect(texts.filter((t) => t.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(texts.filter((t) => t.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(seenA).toContain('{"Message":{"group_name":"dogs","message":"I love dogs!"}}');
  });

  it('ChatServer delivers twice to a connection that joined twice, and lets a non-member post', async () => {
    const { port } = await startServer();
    const member = await connect(port);
    const outsider = await connect(port);
    await member.send(join('cats') + join('cats'));
    await member.sync();
    await outsider.send(post('cats', 'meow'));
    await outsider.sync();
    await member.waitFor(() => member.lines.filter((l) => l === message('cats', 'meow')).length === 2, 'two copies');
    expect(noSync(outsider.lines)).toEqual([]);
  });

  it('ChatServer answers a post to a missing group to that client alone, and keeps its connection', async () => {
    const { port } = await startServer();
    const a = await connect(port);
    const b = await connect(port);
    await a.send(join('dogs'));
    await b.send(join('dogs'));
    await a.sync();
    await b.sync();
    await a.send(post('cats', 'anyone?'));
    await a.waitFor((l) => l === `{"Error":"Group 'cats' does not exist"}`, 'the missing group error');
    await a.send(post('dogs', 'marker'));
    await b.waitFor((l) => l === message('dogs', 'marker'), 'the marker');
    await a.waitFor((l) => l === message('dogs', 'marker'), 'the marker');
    expect(noSync(b.lines)).toEqual([message('dogs', 'marker')]);
  });

  it('ChatServer answers each bad line with its invalid request error, ignores blank lines and keeps reading', async () => {
    const { port } = await startServer();
    const c = await connect(port);
    for (const line of BAD_LINES) await c.send(line);
    await c.sync();
    expect(noSync(c.lines)).toEqual(BAD_LINE_ERRORS);
    await c.send(' {"Post":["x","y"]} \r\n' + join('dogs'));
    await c.send('{"Post":{"message":"still here","group_name":"dogs"}}\n');
    await c.waitFor((l) => l === message('dogs', 'still here'), 'its own post');
  });

  it('ChatServer accepts a line of exactly --max-line bytes and closes after the error on a longer one', async () => {
    const { port } = await startServer('--max-line', '100');
    const ok = await connect(port);
    const exact = join('dogs').slice(0, -3) + ' '.repeat(100 - join('dogs').length + 1) + '}}\n';
    expect(exact.length).toBe(101);
    await ok.send(exact);
    await ok.sync();
    await ok.send(post('dogs', 'fits'));
    await ok.waitFor((l) => l === message('dogs', 'fits'), 'the post');

    const long = await connect(port);
    await long.send('x'.repeat(150)); // no newline: the cap applies before the line ends
    await long.ended;
    expect(long.lines).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    const longLine = await connect(port);
    await longLine.send(post('dogs', 'y'.repeat(80)));
    await longLine.ended;
    expect(longLine.lines).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    await ok.send(post('dogs', 'others carry on'));
    await ok.waitFor((l) => l === message('dogs', 'others carry on'), 'the post');
  });

  it('ChatServer refuses to create more than --max-groups groups', async () => {
    const { port } = await startServer('--max-groups', '2');
    const c = await connect(port);
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

  it('ChatServer reports one Dropped error to a reader that fell behind, then the rest in order', async () => {
    // The default capacity (1000 posts): while a paused reader's kernel buffers still take data
    // a little at a time, the group's buffer covers the stalls, so the only gap is the one that
    // opens once they are full.
    const { port } = await startServer();
    const reader = await connect(port);
    const poster = await connect(port);
    const other = await connect(port);
    for (const c of [reader, other]) {
      await c.send(join('dogs'));
      await c.sync();
    }
    reader.socket.pause(); // stop reading: the kernel buffers fill, then the server lets it lag

    const sent = 4000;
    const filler = 'x'.repeat(8 * 1024);
    for (let i = 0; i < sent; i++) await poster.send(post('dogs', `${i} ${filler}`));
    await poster.sync('poster'); // every post has been read: the slow reader never held the poster up
    expect(noSync(poster.lines)).toEqual([]);
    reader.socket.resume();
    await reader.waitFor((l) => l.startsWith(`{"Message":{"group_name":"dogs","message":"${sent - 1} `), 'the last post');

    expectOneGap(noSync(reader.lines), sent, 1000); // the default capacity: 1000 posts retained

    // A member that kept reading was not held back by the paused one. (On a busy machine it can
    // lag too, being in the poster's process: then its own reports account for the gaps.)
    await other.waitFor((l) => l.startsWith(`{"Message":{"group_name":"dogs","message":"${sent - 1} `), 'the last post');
    expectAllAccountedFor(noSync(other.lines), sent);
  });

  it('ChatServer ends a connection quietly on FIN or reset mid-line, and the others carry on', async () => {
    const { port } = await startServer();
    const stays = await connect(port);
    await stays.send(join('dogs'));
    await stays.sync();
    const fin = await connect(port);
    await fin.send(join('dogs') + '{"Post":{"group_name":"do');
    fin.socket.end();
    await fin.ended;
    const reset = await connect(port);
    await reset.send(join('dogs') + '{"Post":');
    reset.socket.resetAndDestroy();
    await stays.send(post('dogs', 'still fine'));
    await stays.waitFor((l) => l === message('dogs', 'still fine'), 'the post');
  });

  it('ChatServer answers the lines before a FIN, then closes', async () => {
    const { port } = await startServer();
    const c = await connect(port);
    c.socket.end('oops\n');
    await c.ended;
    expect(c.lines).toEqual(['{"Error":"invalid request: invalid JSON"}']);
  });

  it('node_net_chat_server exits 0 on a signal sent as soon as it says it listens', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await startServer();
      server.child.kill(signal);
      expect(await server.exited).toBe(0);
    }
  });

  it('ChatServer closes every connection and exits 0 on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await startServer();
      const c = await connect(server.port);
      await c.send(join('dogs'));
      await c.sync();
      server.child.kill(signal);
      await c.ended;
      expect(await server.exited).toBe(0);
    }
  });

  it('node_net_chat_server exits 2 with the usage on a bad command line', async () => {
    const bad = new Child(['127.0.0.1:0', '--capacity', '0'], 'ignore', REFERENCE_JS, LIMITS);
    expect(await bad.exited).toBe(2);
    expect(bad.err.text).toContain("--capacity must be a positive integer, got '0'");
    expect(bad.err.text).toContain('usage: node_net_chat_server [ADDRESS]');
  });
});

describe('parseServerArgs()', () => {
  it('parseServerArgs() defaults to 127.0.0.1:8088 and the protocol limits', () => {
    expect(parseServerArgs([])).toEqual({ ok: true, value: { host: '127.0.0.1', port: 8088, capacity: 1000, maxLine: 65536, maxGroups: 10000 } });
  });

  it('parseServerArgs() reads the address and every flag', () => {
    expect(parseServerArgs(['[::1]:0', '--capacity', '16', '--max-line=100', '--max-groups', '2'])).toEqual({
      ok: true,
      value: { host: '::1', port: 0, capacity: 16, maxLine: 100, maxGroups: 2 },
    });
    expect(parseServerArgs(['localhost:9000'])).toMatchObject({ ok: true, value: { host: 'localhost', port: 9000 } });
  });

  it('parseServerArgs() rejects bad addresses, bad numbers, unknown flags and extra arguments', () => {
    for (const argv of [['8088'], [':8088'], ['host:70000'], ['::1:80'], ['a:1', 'b:2'], ['--capacity', '1.5'], ['--max-line', '-3'], ['--max-groups', 'x'], ['--verbose']]) {
      expect(parseServerArgs(argv).ok, argv.join(' ')).toBe(false);
    }
  });
});
