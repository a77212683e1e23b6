// `wakeloop chat-server` over real TCP on 127.0.0.1: the compiled CLI (dist/, built by
// `npm test`'s tsc step) runs as a child process with a kill timer; node:net clients talk to it.
// The behaviour it shares with the node:net server is in book_server_suite.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../../examples/chat/main.js';
import { type BookServer, bookServerTests, parseServerArgsTests } from './book_server_suite.js';
import { Child, Client, Server, cleanUp, join, message, post } from './helpers.js';

afterEach(cleanUp);

/** The wakeloop server with the default limits (helpers.ts LIMITS). */
const WAKELOOP: BookServer = {
  subject: 'serve()',
  program: 'chat-server',
  usage: 'usage: wakeloop chat-server [ADDRESS]',
  linesAfterStop: ['chat server stopped; closed 1 connection(s)'],
  start: (...flags) => Server.start(...flags),
  run: (...args) => new Child(['chat-server', ...args]),
  connect: (port) => Client.connect(port),
};

describe('wakeloop chat-server', () => {
  bookServerTests(WAKELOOP);

  it('chat-server keeps serving when nobody reads its stdout (EPIPE), and still exits 0 on SIGTERM', async () => {
    const server = await Server.start();
    server.child.stdout!.destroy(); // as `chat-server | head -1`: the pipe has no reader left
    server.child.kill('SIGUSR2'); // its stats line now fails with EPIPE
    const c = await Client.connect(server.port);
    await c.send(join('dogs') + post('dogs', 'still here'));
    await c.waitFor((l) => l === message('dogs', 'still here'), 'its post');
    server.child.kill('SIGUSR2');
    await c.sync();
    server.child.kill('SIGTERM'); // the "stopped" line fails too
    expect(await server.exited).toBe(0);
    expect(server.err.text).toBe('');
  });
});

describe('wakeloop chat-server parseServerArgs()', () => {
  parseServerArgsTests({ parse: parseServerArgs, address: (written) => ({ address: written }) });
});
