// `wakeloop chat-server` over real TCP on 127.0.0.1: the compiled CLI (dist/, built by
// `npm test`'s tsc step) runs as a child process with a kill timer; node:net clients talk to it.
// The behaviour it shares with the node:net server is in book_server_suite.ts.
import { afterEach, describe } from 'vitest';
import { parseServerArgs } from '../../../examples/chat/main.js';
import { type BookServer, bookServerTests, parseServerArgsTests } from './book_server_suite.js';
import { Child, Client, Server, cleanUp } from './helpers.js';

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

describe('wakeloop chat-server', () => bookServerTests(WAKELOOP));

describe('wakeloop chat-server parseServerArgs()', () => {
  parseServerArgsTests({ parse: parseServerArgs, address: (written) => ({ address: written }) });
});
