// Runs the compiled server (dist/, built by `npm test`'s tsc step) as a child process and talks
// to it over real TCP on 127.0.0.1. The behaviour it shares with `wakeloop chat-server` is in
// test/examples/chat/book_server_suite.ts; what is only tested here stays here.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../bench/chat/node_net_chat_server.js';
import { type BookServer, bookServerTests, parseServerArgsTests } from '../examples/chat/book_server_suite.js';
import { Child, Client, type Limits, REFERENCE_JS, Server, cleanUp, expectAllAccountedFor, expectOneGap, join, message, noSync, post } from '../examples/chat/helpers.js';

// Tighter than the wakeloop chat tests' limits: every wait fails after 20 s, every server dies after 50 s.
const LIMITS: Limits = { waitMs: 20_000, killAfterMs: 50_000 };

afterEach(cleanUp);

/** Starts the server on a free port (port 0; it prints the one it got), killed after LIMITS.killAfterMs whatever happens. */
const startServer = (...flags: string[]): Promise<Server> => Server.startReferenceWithin(LIMITS, ...flags);

/** A test client whose waits fail after LIMITS.waitMs. */
const connect = (port: number): Promise<Client> => Client.connect(port, LIMITS.waitMs);

/** The node:net server with LIMITS. */
const NODE_NET: BookServer = {
  subject: 'ChatServer',
  program: 'node_net_chat_server',
  usage: 'usage: node_net_chat_server [ADDRESS]',
  linesAfterStop: [], // it closes without a word
  start: startServer,
  run: (...args) => new Child(args, 'ignore', REFERENCE_JS, LIMITS),
  connect,
};

describe('node:net chat server', () => {
  bookServerTests(NODE_NET);

  it('node_net_chat_server --help prints its usage on stdout and exits 0', () => {
    const r = spawnSync(process.execPath, [REFERENCE_JS, '--help'], { encoding: 'utf8', timeout: 20_000 });
    expect([r.status, r.stdout.split('\n')[0], r.stderr]).toEqual([0, expect.stringMatching(/^usage: node_net_chat_server \[ADDRESS\]/), '']);
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
});

describe('node:net chat server parseServerArgs()', () => {
  parseServerArgsTests({ parse: parseServerArgs, address: (_written, host, port) => ({ host, port }) });
});
