import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/index.js';
import { CrossThreadSignal } from '../../src/thread/signal.js';
import { BACKEND, run } from '../util.js';

const distSignal = new URL('../../dist/src/thread/signal.js', import.meta.url).href;

describe('CrossThreadSignal', () => {
  it('CrossThreadSignal.notify() from a worker wakes an executor blocked in block(-1)', async () => {
    const signal = new CrossThreadSignal();
    // [watchdog fired, test done]: the worker gives up after 5 s so a lost wake cannot hang the suite
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(
      `(async () => {
        const { workerData } = await import('node:worker_threads');
        const { CrossThreadSignal } = await import(${JSON.stringify(distSignal)});
        const signal = CrossThreadSignal.from(workerData.signal);
        const cells = new Int32Array(workerData.cells);
        while (signal.waiterRegistryId === 0) Atomics.wait(cells, 1, 0, 1); // until the executor waits
        Atomics.wait(cells, 1, 0, 50); // and is surely blocked in the kernel
        signal.notify();
        if (Atomics.wait(cells, 1, 0, 5000) === 'timed-out') { Atomics.store(cells, 0, 1); signal.notify(); }
      })();`,
      { eval: true, workerData: { signal: signal.toCloneable(), cells: cells.buffer } },
    );
    const executor = new Executor({ backend: BACKEND });
    const start = performance.now();
    try {
      executor.blockOn((function* () {
        // nothing else to do: no timer, no ready task, so the executor blocks with timeout -1
        expect(executor.nextDeadline).toBe(Infinity);
        yield* signal.wait();
        if (Atomics.load(cells, 0) === 1) throw new Error('woken by the watchdog: the first notify was lost');
      })());
    } finally {
      executor.close();
      Atomics.store(cells, 1, 1);
      Atomics.notify(cells, 1);
    }
    expect(performance.now() - start).toBeGreaterThanOrEqual(50);
    await new Promise((resolve) => worker.once('exit', resolve));
  });

  it('CrossThreadSignal keeps one token: a notify before the wait is not lost, and tokens do not add up', () => {
    const signal = new CrossThreadSignal();
    signal.notify();
    signal.notify();
    expect(run((function* () {
      yield* signal.wait(); // at once: the token was there
      return signal.tryTake();
    })())).toBe(false);
    expect(CrossThreadSignal.from(structuredClone(signal.toCloneable())).tryTake()).toBe(false);
    signal.notify();
    expect(CrossThreadSignal.from(structuredClone(signal.toCloneable())).tryTake()).toBe(true);
  });

  it('CrossThreadSignal.from() refuses what toCloneable() did not make', () => {
    expect(() => CrossThreadSignal.from({ kind: 'wakeloop.CrossThreadSignal', sab: new SharedArrayBuffer(12) })).toThrow(/not made by/);
    expect(() => CrossThreadSignal.from({} as never)).toThrow(TypeError);
  });

  it('CrossThreadSignal.from(undefined) throws: only the constructor makes a new signal', () => {
    expect(() => CrossThreadSignal.from(undefined as never)).toThrow(
      new TypeError("CrossThreadSignal.from: expected the object made by toCloneable() (kind 'wakeloop.CrossThreadSignal'), got undefined"),
    );
    expect(() => CrossThreadSignal.from(null as never)).toThrow(/got null$/);
  });
});
