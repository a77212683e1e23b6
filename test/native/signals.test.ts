// signalWatch()/signalUnwatch()/signalCount(), each case in a child process with a kill timer,
// so a wrong disposition kills the child and not the test runner.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { BACKENDS, E, FIXTURES, runFixture } from './helpers.js';

async function scenario(name: string, backend: string) {
  const r = await runFixture([path.join(FIXTURES, 'signals.mjs'), name, backend]);
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  return { ...r, report: lines.length ? JSON.parse(lines[0]) : undefined, lines };
}

describe.each(BACKENDS)('signals (%s)', (backend) => {
  it('signalWatch(SIGUSR1) wakes block(-1) for a signal sent before and during the wait', async () => {
    const { code, signal, report, stderr } = await scenario('wake', backend);
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(report.watch).toBe(0);
    expect(report.again).toBe(-E.EEXIST);
    expect(report.selfWake.value).toBe(0);
    expect(report.afterSelf).toBe(1);
    expect(report.outsideWake.value).toBe(0);
    expect(report.outsideWake.ms).toBeGreaterThanOrEqual(50);
    expect(report.afterOutside).toBe(2);
    expect(report.unwatch).toBe(0);
    expect(report.unwatchAgain).toBe(-E.ENOENT);
  });

  it('signalWatch(SIGINT) turns a Ctrl-C during block(-1) into a wake instead of an exit', async () => {
    const { code, signal, report } = await scenario('sigint', backend);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(report.watch).toBe(0);
    expect(report.wake.value).toBe(0);
    expect(report.count).toBe(1);
  });

  it('signalUnwatch() of the last watcher restores SIG_DFL (the next SIGUSR2 kills)', async () => {
    const { signal, report, lines } = await scenario('restore-default', backend);
    expect(report).toEqual({
      before: false,
      watch: 0,
      during: true,
      wake: 0,
      count: 1,
      unwatch: 0,
      after: false,
    });
    expect(signal).toBe('SIGUSR2');
    expect(lines).toHaveLength(1); // it did not survive
  });

  it("signalUnwatch() restores a process.on('SIGUSR2') handler that was there before", async () => {
    const { code, report } = await scenario('restore-js', backend);
    expect(code).toBe(0);
    expect(report).toEqual({
      watch: 0,
      wake: 0,
      jsWhileWatched: 0, // ours replaced libuv's while watching
      unwatch: 0,
      jsAfter: 1, // and libuv's is back
      nativeCount: 1,
    });
  });

  it('signalWatch() wakes every watching blocker, in any thread, until the last one leaves', async () => {
    const { code, report, stderr } = await scenario('shared', backend);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(report.a).toBe(0);
    expect(report.b).toBe(0);
    expect(report.mainWake.value).toBe(0);
    expect(report.mainWake.ms).toBeLessThan(500);
    expect(report.otherWake.value).toBe(0);
    expect(report.otherWake.ms).toBeLessThan(500);
    expect(report.worker.watch).toBe(0);
    expect(report.worker.n).toBe(0);
    expect(report.worker.ms).toBeLessThan(5000);
    expect(report.afterWorkerExit).toBe(true);
    expect(report.afterOtherClose).toBe(true);
    expect(report.unwatchClosed).toBe(-E.ENOENT);
    expect(report.unwatchA).toBe(0);
    expect(report.afterAll).toBe(false);
  });

  it('IoBlocker.close() unwatches its signals and restores the disposition', async () => {
    const { code, report } = await scenario('close-restores', backend);
    expect(code).toBe(0);
    expect(report).toEqual({ watch: 0, during: true, after: false });
  });
});

describe('signalWatch() refusals', () => {
  it('signalWatch() returns -EINVAL/-ESRCH/-ENOENT and throws for malformed arguments', async () => {
    const { code, report } = await scenario('refused', 'epoll');
    expect(code).toBe(0);
    expect(report).toEqual({
      kill: -E.EINVAL,
      segv: -E.EINVAL,
      gone: -E.ESRCH,
      notWatched: -E.ENOENT,
      countNever: 0,
      errors: ['RangeError', 'RangeError', 'TypeError', 'TypeError'],
    });
  });
});
