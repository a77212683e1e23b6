// `wakeloop chat-server` over real TCP on 127.0.0.1: the compiled CLI (dist/, built by
// `npm test`'s tsc step) runs as a child process with a kill timer; node:net clients talk to it.
import { afterEach, describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../../examples/chat/main.js';
import { BAD_LINES, BAD_LINE_ERRORS, Child, Client, Server, cleanUp, isMessage, join, members, message, noSync, post } from './helpers.js';

afterEach(cleanUp);

describe('wakeloop chat-server', () => {
  it('serve() relays posts to every member in the same order, the poster included', async () => {
    const { port } = await Server.start();
    const [a, b] = await members(port, 'dogs', 2);
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

  it('Group.join() twice delivers twice, and a non-member may post', async () => {
    const { port } = await Server.start();
    const member = await Client.connect(port);
    const outsider = await Client.connect(port);
    await member.send(join('cats') + join('cats'));
    await member.sync();
    await outsider.send(post('cats', 'meow'));
    await outsider.sync();
    await member.input.until(() => member.lines.filter((l) => l === message('cats', 'meow')).length === 2, 'two copies');
    expect(noSync(outsider.lines)).toEqual([]);
  });

  it('serve() answers a post to a missing group to that client alone, and keeps its connection', async () => {
    const { port } = await Server.start();
    const [a, b] = await members(port, 'dogs', 2);
    await a.send(post('cats', 'anyone?'));
    await a.waitFor((l) => l === `{"Error":"Group 'cats' does not exist"}`, 'the missing group error');
    await a.send(post('dogs', 'marker'));
    await b.waitFor((l) => l === message('dogs', 'marker'), 'the marker');
    await a.waitFor((l) => l === message('dogs', 'marker'), 'the marker');
    expect(noSync(b.lines)).toEqual([message('dogs', 'marker')]);
  });

  it('serve() answers each bad line with its invalid request error, ignores blank lines and keeps reading', async () => {
    const { port } = await Server.start();
    const c = await Client.connect(port);
    const other = await Client.connect(port);
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

  it('serve() accepts a line of exactly --max-line bytes and closes after the error on a longer one', async () => {
    const { port } = await Server.start('--max-line', '100');
    const ok = await Client.connect(port);
    const exact = join('dogs').slice(0, -3) + ' '.repeat(100 - join('dogs').length + 1) + '}}\n';
    expect(exact.length).toBe(101);
    await ok.send(exact);
    await ok.sync();
    await ok.send(post('dogs', 'fits'));
    await ok.waitFor((l) => l === message('dogs', 'fits'), 'the post');

    const long = await Client.connect(port);
    await long.send('x'.repeat(150)); // no newline: the cap applies before the line ends
    await long.ended;
    expect(long.lines).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    const member = await Client.connect(port); // a member too: no post may follow the error
    await member.send(join('dogs'));
    await member.sync();
    await member.send(post('dogs', 'y'.repeat(80)));
    await member.ended;
    expect(noSync(member.lines)).toEqual(['{"Error":"line too long (limit 100 bytes)"}']);

    await ok.send(post('dogs', 'others carry on'));
    await ok.waitFor((l) => l === message('dogs', 'others carry on'), 'the post');
  });

  it('GroupTable refuses to create more than --max-groups groups', async () => {
    const { port } = await Server.start('--max-groups', '2');
    const c = await Client.connect(port);
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

  it('serve() answers the lines before a FIN, then closes', async () => {
    const { port } = await Server.start();
    const c = await Client.connect(port);
    c.socket.end('oops\n');
    await c.ended;
    expect(c.lines).toEqual(['{"Error":"invalid request: invalid JSON"}']);
  });

  it('chat-server closes every connection and exits 0 on SIGTERM and on SIGINT', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const server = await Server.start();
      const c = await Client.connect(server.port);
      await c.send(join('dogs'));
      await c.sync();
      server.child.kill(sig);
      await c.ended;
      expect(await server.exited).toBe(0);
      expect(server.out.lines).toContain('chat server stopped; closed 1 connection(s)');
    }
  });

  it('chat-server exits 0 on a signal sent as soon as it says it listens', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const server = await Server.start();
      server.child.kill(sig);
      expect(await server.exited).toBe(0);
    }
  });

  it('chat-server exits 2 with the usage on a bad command line, 1 when it cannot listen', async () => {
    const bad = new Child(['chat-server', '127.0.0.1:0', '--capacity', '0']);
    expect(await bad.exited).toBe(2);
    expect(bad.err.text).toContain("--capacity must be a positive integer, got '0'");
    expect(bad.err.text).toContain('usage: wakeloop chat-server [ADDRESS]');

    const first = await Server.start();
    const taken = new Child(['chat-server', `127.0.0.1:${first.port}`]);
    expect(await taken.exited).toBe(1);
    expect(taken.err.text).toMatch(/EADDRINUSE/);
  });
});

describe('parseServerArgs()', () => {
  it('parseServerArgs() defaults to 127.0.0.1:8088 and the protocol limits', () => {
    expect(parseServerArgs([])).toEqual({ ok: true, value: { address: '127.0.0.1:8088', capacity: 1000, maxLine: 65536, maxGroups: 10000 } });
  });

  it('parseServerArgs() reads the address and every flag', () => {
    expect(parseServerArgs(['[::1]:0', '--capacity', '16', '--max-line=100', '--max-groups', '2'])).toEqual({
      ok: true,
      value: { address: '[::1]:0', capacity: 16, maxLine: 100, maxGroups: 2 },
    });
    expect(parseServerArgs(['localhost:9000'])).toMatchObject({ ok: true, value: { address: 'localhost:9000' } });
  });

  it('parseServerArgs() rejects bad addresses, bad numbers, unknown flags and extra arguments', () => {
    for (const argv of [['8088'], [':8088'], ['host:70000'], ['::1:80'], ['a:1', 'b:2'], ['--capacity', '1.5'], ['--max-line', '-3'], ['--max-groups', 'x'], ['--verbose']]) {
      expect(parseServerArgs(argv).ok, argv.join(' ')).toBe(false);
    }
  });
});
