#!/usr/bin/env node
// The `wakeloop` command: runs the demos. Each lives in examples/ as a small readable module
// exporting `main(argv)`, loaded only when asked for.
// Nothing here loads the addon, so `wakeloop --help` works before it is built.
import { say, sayError } from '../examples/chat/output.js';

type Main = (argv: string[]) => number | Promise<number>;
type Command = { about: string; load: () => Promise<{ main: Main }> };

// A Map, not a plain object: `wakeloop constructor` must not find Object.prototype's members.
const COMMANDS = new Map<string, Command>(Object.entries({
  'echo-server': { about: 'echo every byte on every connection (--host, --port, --attached, --threads N)', load: () => import('../examples/echo_server.js') },
  'socket-read': { about: 'a hand-written SocketRead future on a real socket (--pause MS)', load: () => import('../examples/socket_read.js') },
  handshake: { about: 'the TCP handshake acted out by two threads with Parker/Unparker (--start-delay MS, --time-wait MS)', load: () => import('../examples/handshake.js') },
  'scope-demo': { about: 'the scoped-task trilemma: spawn, scope and a worker-pool scope (--limit N, --workers N)', load: () => import('../examples/scope_demo.js') },
  'http-and-echo': { about: 'a wakeloop echo server and a node:http server in one process, on Node\'s loop (--host, --echo-port, --http-port)', load: () => import('../examples/http_and_echo.js') },
  'select-demo': { about: 'select() dropping a read mid-way loses data; two cancel-safe fixes (--messages N, --piece BYTES, --pause MS, --tick MS)', load: () => import('../examples/select_demo_main.js') },
  'chat-server': { about: 'the async-chat server (ADDRESS, --capacity, --max-line, --max-groups, --max-joins)', load: () => import('../examples/chat/main.js') },
  'chat-client': { about: 'the async-chat client: commands on stdin, messages on stdout (ADDRESS)', load: () => import('../examples/chat/client.js') },
} satisfies Record<string, Command>));

function usage(): string {
  const lines = [...COMMANDS].map(([name, c]) => `  ${name.padEnd(14)} ${c.about}`);
  return `usage: wakeloop <command> [options]   (wakeloop <command> --help for its options)\n\ncommands:\n${lines.join('\n')}`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    sayError(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    say(usage());
    return 0;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    sayError(`wakeloop: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const { main } = await command.load();
  return main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    sayError(`wakeloop: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
