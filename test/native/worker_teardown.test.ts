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
});
