// The `wakeloop` command line, the same for every demo: `--help` prints the usage on stdout and
// exits 0; an unknown option, a stray argument or a bad value prints the problem and the usage
// on stderr and exits 2, without starting anything; numbers are plain decimal digits.
import { describe, expect, it } from 'vitest';
import { runCli, type ChildRun } from '../child.js';

/** A bad command line ends at once: a demo that starts instead is killed after 5 s and fails. */
const runQuick = (args: string[]): Promise<ChildRun> => runCli(args, { killAfterMs: 5_000 });

const COMMANDS = ['echo-server', 'socket-read', 'handshake', 'scope-demo', 'http-and-echo', 'select-demo', 'chat-server', 'chat-client'];

describe('wakeloop', () => {
  it('wakeloop with no command prints its usage on stderr and exits 2', async () => {
    const { code, stdout, stderr } = await runQuick([]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/^usage: wakeloop <command>/);
  });

  it('wakeloop --help prints its usage on stdout and exits 0', async () => {
    const { code, stdout, stderr } = await runQuick(['--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    for (const name of COMMANDS) expect(stdout).toContain(`  ${name} `);
  });

  let overviewRun: Promise<ChildRun> | undefined; // one `wakeloop --help` serves every command's check
  it.each(COMMANDS)("wakeloop --help names the same options for %s as the command's own usage line", async (name) => {
    const overview = (await (overviewRun ??= runQuick(['--help']))).stdout;
    const own = (await runQuick([name, '--help'])).stdout.split('\n')[0];
    const summary = overview.split('\n').find((l) => l.startsWith(`  ${name} `))!;
    const options = (text: string) => [...new Set(text.match(/--[a-z-]+/g) ?? [])].sort();
    expect(options(summary)).toEqual(options(own));
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'nope'])('wakeloop %s is an unknown command: exit code 2', async (name) => {
    const { code, stdout, stderr } = await runQuick([name]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain(`wakeloop: unknown command '${name}'`);
    expect(stderr).toContain('usage: wakeloop <command>');
  });

  it.each(COMMANDS)('wakeloop %s --help prints its usage on stdout and exits 0', async (name) => {
    const { code, stdout, stderr } = await runQuick([name, '--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(new RegExp(`^usage: wakeloop ${name}`));
  });
});

describe('wakeloop demos: bad command lines exit 2 with the usage', () => {
  it.each([
    [['echo-server', '--bogus'], /Unknown option '--bogus'/],
    [['echo-server', 'extra'], /Unexpected argument 'extra'/],
    [['echo-server', '--port', '-1'], /'--port' argument is ambiguous/],
    [['echo-server', '--port=-1'], /--port must be an integer from 0 to 65535, got '-1'/],
    [['echo-server', '--port', '65536'], /--port must be an integer from 0 to 65535, got '65536'/],
    [['echo-server', '--attached', '--threads', '2'], /do not combine/],
    [['echo-server', '--host', ''], /--host must not be empty/],
    [['echo-server', '--threads', '2', '--host='], /--host must not be empty/],
    [['http-and-echo', '--host', ''], /--host must not be empty/],
    [['echo-server', '--host', '[::1]'], /--host: '\[::1\]' is not a host: brackets only enclose a whole IPv6 address/],
    [['echo-server', '--attached', '--host', '::1%lo'], /--host: '::1%lo': IPv6 zone ids \(%\) are not supported/],
    [['echo-server', '--threads', '2', '--host', '[::1]'], /--host: '\[::1\]' is not a host/],
    [['http-and-echo', '--host', 'a%b'], /--host: 'a%b': IPv6 zone ids/],
    // These went to a lookup, which failed with exit 1 and no usage.
    [['echo-server', '--host', '127.0.0.1:80'], /--host: '127\.0\.0\.1:80' is not a host \(its port is given apart from it\)/],
    [['echo-server', '--host', ' 127.0.0.1'], /--host: ' 127\.0\.0\.1' is not a host: it contains white space/],
    [['http-and-echo', '--host', '256.0.0.1'], /--host: '256\.0\.0\.1' is not an IPv4 address \(a part is over 255\)/],
    [['socket-read', '--bogus'], /Unknown option '--bogus'/],
    [['socket-read', '--pause=-5'], /--pause must be an integer from 0 to 60000, got '-5'/],
    [['socket-read', '--pause', '1.5'], /--pause must be an integer/],
    [['http-and-echo', '--bogus'], /Unknown option '--bogus'/],
    [['select-demo', '--bogus'], /Unknown option '--bogus'/],
    [['select-demo', '--messages', '0'], /--messages must be an integer from 1 to 1000000, got '0'/],
    [['scope-demo', '--bogus'], /Unknown option '--bogus'/],
    [['chat-server', '--bogus'], /Unknown option '--bogus'/],
    [['chat-client', '--bogus'], /Unknown option '--bogus'/],
    [['chat-client'], /missing ADDRESS/],
    [['chat-client', 'a:1', 'b:2'], /unexpected argument 'b:2'/],
  ])('wakeloop %j exits 2', async (args, message) => {
    const { code, stdout, stderr } = await runQuick(args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(message);
    expect(stderr).toContain(`usage: wakeloop ${args[0]}`);
    expect(stderr).not.toMatch(/\n +at /); // no stack trace
  });

  /** Ways Number() reads as `n` that are not plain decimal digits ('' is 0 too). */
  const notDecimal = (n: number): string[] => ['', ` ${n} `, `${n}.0`, `+${n}`, `${n}e0`, `0x${n.toString(16)}`];
  // Each value is in range once read by Number(); ports are 0, so a demo that took one anyway
  // would only listen on a free port (until killed) and every other port is 0 as well.
  it.each([
    ['echo-server', '--port', 0, []],
    ['echo-server', '--threads', 2, ['--port', '0']],
    ['http-and-echo', '--echo-port', 0, ['--http-port', '0']],
    ['http-and-echo', '--http-port', 0, ['--echo-port', '0']],
    ['select-demo', '--messages', 3, []],
    ['select-demo', '--piece', 7, []],
    ['select-demo', '--pause', 1, []],
    ['select-demo', '--tick', 1, []],
    ['socket-read', '--pause', 10, []],
    ['scope-demo', '--limit', 100, []],
    ['scope-demo', '--workers', 1, []],
  ] as const)('wakeloop %s %s takes plain decimal digits only', async (command, flag, n, rest) => {
    const texts = notDecimal(n);
    const runs = await Promise.all(texts.map((text) => runQuick([command, `${flag}=${text}`, ...rest])));
    runs.forEach(({ code, stderr }, i) => {
      expect(code, `${flag}='${texts[i]}'`).toBe(2);
      expect(stderr).toContain(`${flag} must be an integer from `);
      expect(stderr).toContain(`got '${texts[i]}'`);
    });
  });

  it('wakeloop handshake --help wins over anything else on the line, as for every command', async () => {
    for (const args of [['--bogus', '--help'], ['--help', 'extra'], ['-h', '--start-delay', 'abc']]) {
      const { code, stdout } = await runQuick(['handshake', ...args]);
      expect({ args, code }).toEqual({ args, code: 0 });
      expect(stdout).toMatch(/^usage: wakeloop handshake/);
    }
  });

  it.each([['echo-server'], ['echo-server', '--threads', '2'], ['echo-server', '--attached'], ['http-and-echo', '--http-port', '0']])(
    'wakeloop %s with a host that does not resolve says so in one line and exits 1',
    async (...args) => {
      const { code, stderr } = await runQuick([...args, '--host', 'no-such-host.invalid', ...(args[0] === 'echo-server' ? ['--port', '0'] : ['--echo-port', '0'])]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^(echo-server|http-and-echo): cannot resolve 'no-such-host\.invalid': .*\(ENOTFOUND\)\n$/);
    },
  );

  it.each(['nonsense', '127.0.0.1:99999', '127.0.0.1', ':8088', '[127.0.0.1]:8088', '[::1%lo]:8088', 'a%b:8088'])('wakeloop chat-client %s: a malformed address exits 2, as chat-server does', async (address) => {
    const [client, server] = await Promise.all([runQuick(['chat-client', address]), runQuick(['chat-server', address])]);
    expect(client.code).toBe(2);
    expect(client.stderr).toContain(`bad address '${address}', expected HOST:PORT`);
    expect(client.stderr).toContain('usage: wakeloop chat-client ADDRESS');
    expect(server.code).toBe(2);
  });
});
