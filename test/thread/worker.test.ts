import { describe, expect, it } from 'vitest';
import { ThreadChannel } from '../../src/thread/channel.js';
import { ThreadWorker } from '../../src/thread/worker.js';
import { run } from '../util.js';

// The worker script is plain JS over dist/ (workers do not load .ts); this thread runs the TS
// source. They share only the SharedArrayBuffers inside the cloneable forms.
const ECHO = new URL('./fixtures/echo_worker.mjs', import.meta.url);

describe('ThreadWorker', () => {
  it('ThreadWorker.post() reaches a worker blocked in block(-1); requestStop() ends it gracefully', async () => {
    const out = new ThreadChannel<number | string>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable() } });
    const got = run((function* () {
      const seen: Array<number | string | undefined> = [];
      w.post(1);
      seen.push(yield* out.recv());
      w.post(2); // the worker has been idle in the kernel since the first message
      w.post(3);
      seen.push(yield* out.recv(), yield* out.recv());
      w.requestStop();
      seen.push(yield* out.recv());
      return seen;
    })());
    expect(got).toEqual([2, 4, 6, 'stopped']);
    expect(w.registryId).toBeGreaterThan(0);
    expect(await w.exited).toBe(0);
  });

  it('ThreadWorker.terminate() stops a worker blocked in the kernel (worker.terminate() alone would not)', async () => {
    const out = new ThreadChannel<number | string>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable(), sleep: true } });
    run((function* () {
      w.post(1);
      expect(yield* out.recv()).toBe(2);
      expect(yield* out.recv()).toBe('sleeping'); // now in block(~60000)
    })());
    const t0 = performance.now();
    w.terminate();
    expect(await w.exited).toBe(1);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('ThreadWorker.post() refuses what cannot cross threads', async () => {
    const out = new ThreadChannel<number>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable() } });
    expect(() => w.post(() => 1)).toThrow(/could not be cloned/);
    w.requestStop();
    expect(await w.exited).toBe(0);
  });
});
