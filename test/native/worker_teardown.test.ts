// Workers that end while they use the addon. Each case runs in a child process: the failures
// they guard against are a SIGABRT or SIGSEGV of the whole process.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { FIXTURES, runFixture } from './helpers.js';

const fixture = (...args: string[]) => runFixture([path.join(FIXTURES, 'worker_teardown.mjs'), ...args]);
const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('worker teardown', () => {
  it.each(['notify', 'ref', 'block', 'registryId', 'throwing'])(
    'worker.terminate() during a %s call in a loop ends the worker, not the process',
    async (loop) => {
      const r = await fixture('terminate-mid-call', loop);
      expect(r.stderr).not.toMatch(/terminate called/);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      expect(lines(r.stdout)).toEqual([{ codes: [1] }]);
    },
  );

  it.each(['exit', 'unref'])(
    'a worker that alone loaded the addon ends (%s) while attached without crashing the process',
    async (end) => {
      const r = await fixture('attach-unload', end);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      expect(lines(r.stdout)).toEqual([{ codes: [0] }]);
    },
  );

  it('a worker that alone loaded the addon exits with lookups in flight without crashing the process', async () => {
    const r = await fixture('lookup-unload');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(lines(r.stdout)).toEqual([{ codes: [0] }]);
  });

  // Before, each of these waited forever: Node stops a worker by waking its event loop, which
  // a thread inside block() never looks at.
  const bounded = (...args: string[]) =>
    runFixture([path.join(FIXTURES, 'worker_teardown.mjs'), ...args], { timeoutMs: 10_000 });

  it('worker.terminate() ends a worker blocked in block(-1)', async () => {
    const r = await bounded('terminate-blocked');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    const [got] = lines(r.stdout);
    expect(got.code).toBe(1);
    expect(got.ms).toBeLessThan(2000);
  });

  it.skipIf(process.env.WAKELOOP_BACKEND === 'poll')(
    'worker.terminate() ends a worker blocked in block(-1) after an attach() and a detach()',
    async () => {
      const r = await bounded('terminate-blocked', 'attach-detach');
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      expect(lines(r.stdout)[0].code).toBe(1);
    },
  );

  it.each([
    ['exit', 0],
    ['throw', 1],
    ['unref', 0],
  ])('the process ends (%s in the main thread) while a worker is blocked in block(-1)', async (how, code) => {
    const r = await bounded('exit-blocked', how as string);
    expect({ code: r.code, signal: r.signal }).toEqual({ code, signal: null });
    expect(lines(r.stdout)).toEqual([{ ending: how }]);
  });

  it("activity on a worker's Node loop does not end its block() early, nor its block(-1) at all", async () => {
    const r = await bounded('loop-activity');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(lines(r.stdout)).toEqual([{ timed: 0, fullTimeout: true, forever: 0, afterConnections: true }]);
  });

  // Before, terminate() waited forever here: the stop wakes the loop through an async handle
  // that the snapshot request had left pending, so Node's loop fd got no new readiness.
  it.each(['snapshot', 'messages'])(
    'worker.terminate() ends a worker blocked in block(-1) after its loop was woken for something else (%s)',
    async (how) => {
      const r = await bounded('terminate-after-wake', how);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      const [got] = lines(r.stdout);
      expect(got.code).toBe(1);
      expect(got.ms).toBeLessThan(3000);
    },
  );

  // Before, each blocker watched Node's loop fd, and the kernel allows 100 nested wakeup paths:
  // attach() failed with 150 blockers, and libuv aborted with 100 and one more after attach().
  it.each([
    ['main', '150'],
    ['worker', '150'],
    ['main', '100'],
    ['worker', '100'],
  ])('many blockers in one thread (%s, %s) do not stop attach() nor abort', async (where, count) => {
    const r = await bounded('many-blockers', where, count);
    expect(r.stderr).toBe('');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(lines(r.stdout)).toEqual([{ turns: 1, blockers: Number(count) + 10 }]);
  });
});
