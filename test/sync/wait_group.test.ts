import { statSync } from 'node:fs';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, test } from 'vitest';
import { WaitGroup } from '../../src/sync/wait_group.js';
import { Parker } from '../../src/sync/parker.js';
import { WaitGroupDroppedError } from '../../src/sync/_thread_errors.js';

// Workers run compiled JS (`npm test` runs tsc first); this thread tests the TS source.
const distUrl = new URL('../../dist/src/sync/wait_group.js', import.meta.url);

beforeAll(() => {
  const built = statSync(fileURLToPath(distUrl), { throwIfNoEntry: false });
  const source = statSync(fileURLToPath(new URL('../../src/sync/wait_group.ts', import.meta.url)));
  if (built === undefined || built.mtimeMs < source.mtimeMs) {
    throw new Error('dist/src/sync/wait_group.js is missing or older than its source: run `npx tsc -p tsconfig.json`');
  }
});

/** Starts a worker running `body` (an async function body) with `WaitGroup`, `workerData` and
 *  `parentPort` in scope; an error in it becomes the worker's 'error' event. */
function startWorker(body: string, workerData: unknown): Worker {
  const code = `(async () => {
    const { workerData, parentPort } = await import('node:worker_threads');
    const { WaitGroup } = await import(${JSON.stringify(distUrl.href)});
    ${body}
  })().catch((err) => { setImmediate(() => { throw err; }); });`;
  return new Worker(code, { eval: true, workerData });
}

/** Resolves when `worker` exits with code 0; rejects on its 'error' event or another code. */
async function exited(worker: Worker): Promise<void> {
  const [code] = await once(worker, 'exit');
  if (code !== 0) throw new Error(`worker exited with code ${code}`);
}

describe('WaitGroup references', () => {
  test('WaitGroup.clone() adds a reference and WaitGroup.drop() finishes it', () => {
    const wg = new WaitGroup();
    expect(wg.count).toBe(1);
    const a = wg.clone();
    const b = a.clone();
    expect(wg.count).toBe(3);
    a.drop();
    b.drop();
    expect(wg.count).toBe(1);
  });

  test('WaitGroup.wait() returns at once when only its own reference is left', () => {
    const wg = new WaitGroup();
    wg.clone().drop();
    wg.wait();
    expect(wg.count).toBe(0);
  });

  test('WaitGroup.drop() throws WaitGroupDroppedError when called twice', () => {
    const wg = new WaitGroup();
    const clone = wg.clone();
    clone.drop();
    expect(() => clone.drop()).toThrow(WaitGroupDroppedError);
    expect(wg.count).toBe(1); // the failed second drop did not uncount anyone else
  });

  test('WaitGroup.clone(), toCloneable() and wait() throw WaitGroupDroppedError after drop()', async () => {
    const wg = new WaitGroup();
    const clone = wg.clone();
    clone.drop();
    expect(() => clone.clone()).toThrow(WaitGroupDroppedError);
    expect(() => clone.toCloneable()).toThrow(WaitGroupDroppedError);
    expect(() => clone.wait()).toThrow(WaitGroupDroppedError);
    expect(() => clone.waitTimeout(0)).toThrow(WaitGroupDroppedError);
    await expect(clone.waitAsync()).rejects.toThrow(WaitGroupDroppedError);
    wg.wait();
    expect(() => wg.wait()).toThrow(WaitGroupDroppedError); // wait() finished its reference
  });

  test('WaitGroup.waitTimeout() returns false while a clone is counted, never early, then true', () => {
    const wg = new WaitGroup();
    const clone = wg.clone();
    for (const ms of [0, 1, 20]) {
      const start = performance.now();
      expect(wg.waitTimeout(ms)).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(ms);
    }
    expect(wg.count).toBe(1); // only the clone: repeated waits released wg once
    expect(() => wg.drop()).toThrow(WaitGroupDroppedError);
    clone.drop();
    expect(wg.waitTimeout(0)).toBe(true);
  });

  test('WaitGroup.waitAsync() resolves only once the last clone drops', async () => {
    const wg = new WaitGroup();
    const clone = wg.clone();
    let resolved = false;
    const done = wg.waitAsync().then(() => {
      resolved = true;
    });
    expect(wg.count).toBe(1); // its own reference was finished at once
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    clone.drop();
    await done;
    expect(resolved).toBe(true);
  });

  test('WaitGroup[Symbol.dispose]() drops a counted reference and is a no-op afterwards', () => {
    const wg = new WaitGroup();
    const clone = wg.clone();
    clone[Symbol.dispose]();
    expect(wg.count).toBe(1);
    clone[Symbol.dispose]();
    expect(wg.count).toBe(1);
  });
});

describe('WaitGroup across workers', () => {
  test('WaitGroup.waitTimeout() returns once 4 workers dropped their references', async () => {
    const wg = new WaitGroup();
    const done = new Int32Array(new SharedArrayBuffer(4));
    // The workers hold their references until the main thread lets them go, right before it
    // waits: a wait that returned early would see fewer than 4 done.
    const go = new Int32Array(new SharedArrayBuffer(4));
    const workers = Array.from({ length: 4 }, () =>
      startWorker(
        `const group = WaitGroup.from(workerData.group);
         Atomics.wait(workerData.go, 0, 0, 10_000);
         Atomics.add(workerData.done, 0, 1);
         group.drop();`,
        { group: wg.toCloneable(), done, go },
      ),
    );
    expect(wg.count).toBe(5);
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    expect(wg.waitTimeout(10_000)).toBe(true);
    expect(Atomics.load(done, 0)).toBe(4);
    await Promise.all(workers.map(exited));
  });

  test('WaitGroup.wait() returns in 4 workers and the main thread once all have arrived', async () => {
    const wg = new WaitGroup();
    const arrived = new Int32Array(new SharedArrayBuffer(4));
    const workers = Array.from({ length: 4 }, () =>
      startWorker(
        `const group = WaitGroup.from(workerData.group);
         Atomics.add(workerData.arrived, 0, 1);
         group.wait();
         parentPort.postMessage(Atomics.load(workerData.arrived, 0));`,
        { group: wg.toCloneable(), arrived },
      ),
    );
    const seen = workers.map(async (worker) => (await once(worker, 'message'))[0]);
    // Listen for 'exit' now: a worker exits right after its message, and an 'exit' emitted
    // before anyone listened would leave the await below pending until the test times out.
    const exits = Promise.all(workers.map(exited));
    exits.catch(() => {}); // awaited below; a failure surfaces there
    // A worker that fails (say, to load its module) fails the test at once instead of leaving
    // the group short of a drop until the test times out.
    const failure = Promise.race(workers.map(async (worker) => {
      const [error] = await once(worker, 'error');
      throw error;
    }));
    failure.catch(() => {});
    await Promise.race([wg.waitAsync(), failure]);
    // Every worker passed the finish line only after all 4 had arrived.
    expect(await Promise.all(seen)).toEqual([4, 4, 4, 4]);
    await exits;
  });
});

describe('WaitGroup misuse', () => {
  test('WaitGroup: a form adopted by two workers makes the extra finish throw WaitGroupDroppedError instead of a wait that never returns', async () => {
    const wg = new WaitGroup();
    const form = wg.toCloneable(); // one reference, adopted twice below
    const workers = [0, 1].map(() => startWorker('WaitGroup.from(workerData).drop();', form));
    await Promise.all(workers.map(exited));
    expect(wg.count).toBe(0); // the second adoption finished wg's own count
    const start = performance.now();
    expect(() => wg.waitTimeout(2_000)).toThrow(/already 0, so some reference was finished twice/);
    expect(performance.now() - start).toBeLessThan(1_000); // it did not wait for a zero below zero
    expect(wg.count).toBe(0); // put back: a waiter elsewhere reads zero
  });

  test('WaitGroup.drop() that would take the count below zero throws WaitGroupDroppedError and puts the count back', () => {
    const wg = new WaitGroup();
    const form = wg.toCloneable();
    const a = WaitGroup.from(structuredClone(form));
    const b = WaitGroup.from(structuredClone(form));
    a.drop();
    b.drop(); // zero, though wg's own reference was never finished
    expect(() => wg.drop()).toThrow(WaitGroupDroppedError);
    expect(wg.count).toBe(0);
    expect(() => wg.drop()).toThrow(/already dropped/); // this reference is finished now
  });
});

describe('WaitGroup bad input', () => {
  test('WaitGroup.from() throws TypeError for anything but a wait group form', () => {
    const parkerForm = new Parker().toCloneable();
    const bad = [
      null,
      undefined,
      7,
      {},
      parkerForm,
      { kind: 'wakeloop.WaitGroup', sab: parkerForm.sab },
      { kind: 'wakeloop.WaitGroup', sab: new ArrayBuffer(8) },
      { kind: 'wakeloop.WaitGroup', sab: new SharedArrayBuffer(4) },
    ];
    for (const form of bad) {
      expect(() => WaitGroup.from(form as never)).toThrow(TypeError);
    }
  });

  test('WaitGroup.from() throws WaitGroupDroppedError for a form of a group that reached zero', () => {
    const wg = new WaitGroup();
    const form = wg.toCloneable();
    WaitGroup.from(form).drop();
    wg.wait();
    expect(() => WaitGroup.from(form)).toThrow(WaitGroupDroppedError);
  });

  test('WaitGroup.waitTimeout() throws RangeError for a negative timeout and TypeError for NaN or a non-number', () => {
    const wg = new WaitGroup();
    expect(() => wg.waitTimeout(-1)).toThrow(RangeError);
    expect(() => wg.waitTimeout(Number.NaN)).toThrow(TypeError);
    expect(() => wg.waitTimeout('1' as unknown as number)).toThrow(TypeError);
    expect(wg.count).toBe(1); // a refused call does not finish the reference
  });
});
