import { beforeAll, describe, expect, it } from 'vitest';
import { TcpListener } from '../../src/index.js';
import { VERSIONS, frame, message, runVersion, type Report } from '../../examples/select_demo.js';
import { formatReport } from '../../examples/select_demo_main.js';
import { runCli } from '../child.js';
import { noLeak, run } from '../util.js';

// The first listener of the process opens TcpListener's reserve fd (kept for EMFILE): open it
// before any fd count is taken.
beforeAll(() => {
  run((function* () {
    (yield* TcpListener.bind('127.0.0.1:0')).close();
  })());
});

const SMALL = { messages: 20, pieceBytes: 7, pauseMs: 1, tickMs: 1 };

describe('select-demo', () => {
  it('messages are 16 to 64 bytes behind a 4-byte big-endian length', () => {
    const m = message(3);
    expect(new TextDecoder().decode(m)).toMatch(/^msg 3 [a-z0-9]+$/);
    expect(m.length).toBe(16 + 21);
    expect([...frame(m).subarray(0, 4)]).toEqual([0, 0, 0, 37]);
  });

  it('the naive version (select over readExact) loses bytes and messages', () => {
    const r = noLeak(() => run(runVersion('naive', SMALL)));
    expect(r.sent).toBe(20);
    expect(r.intact).toBeLessThan(20);
    expect(r.bytesLost).toBeGreaterThan(0);
    expect(r.swallowed).toBeGreaterThan(0); // bytes taken off the socket, then dropped with a future
  });

  it('the read-task version and the BufReader version lose nothing', () => {
    for (const version of ['read-task', 'bufreader'] as const) {
      const r = noLeak(() => run(runVersion(version, SMALL)));
      expect({ version, intact: r.intact, corrupted: r.corrupted, bytesLost: r.bytesLost }).toEqual({
        version,
        intact: 20,
        corrupted: 0,
        bytesLost: 0,
      });
      expect(r.ticks).toBeGreaterThan(0); // the channel was busy meanwhile: select really chose
    }
  });

  it('the naive version loses data on every run (10 runs of 10 messages)', () => {
    for (let i = 0; i < 10; i++) {
      const r = run(runVersion('naive', { ...SMALL, messages: 10 }));
      expect(r.swallowed).toBeGreaterThan(0);
    }
  });

  it('formatReport() says what was sent, what arrived and what was lost', () => {
    const r: Report = { version: 'naive', sent: 100, sentBytes: 4065, intact: 3, corrupted: 1, bytesLost: 3900, swallowed: 7, ticks: 12 };
    expect(formatReport(r, 1)).toBe(
      [
        '1. naive: select(parse frame with readExact, channel.recv()), a new parse future every loop',
        '   messages sent 100, received intact 3, corrupted 1, lost 97',
        '   bytes lost 3,900 of 4,065 (7 dropped inside cancelled parse futures; after that the stream was out of step)',
        '   channel messages handled meanwhile: 12',
      ].join('\n'),
    );
  });

  it('wakeloop select-demo prints a report for each version and exits 0', async () => {
    const { code, stdout, stderr } = await runCli(['select-demo', '--messages', '8']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    for (const [i, title] of ['naive', 'read task', 'BufReader'].entries()) expect(stdout).toContain(`${i + 1}. ${title}:`);
    expect(stdout.match(/messages sent 8, received intact 8, corrupted 0, lost 0/g)).toHaveLength(2);
    expect(VERSIONS).toEqual(['naive', 'read-task', 'bufreader']);
  });

  it('wakeloop select-demo rejects bad options with a usage line and exit code 2', async () => {
    const { code, stdout, stderr } = await runCli(['select-demo', '--messages', '0']);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      "select-demo: --messages must be an integer from 1 to 1000000, got '0'\nusage: wakeloop select-demo [--messages N] [--piece BYTES] [--pause MS] [--tick MS]\n",
    );
    expect((await runCli(['select-demo', '--bogus'])).code).toBe(2);
  });
});
