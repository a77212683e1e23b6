import { statSync } from 'node:fs';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, test } from 'vitest';
import { Parker } from '../../src/sync/parker.js';
import { Unparker } from '../../src/sync/unparker.js';
import { ParkerBusyError, ParkerClosedError } from '../../src/sync/_thread_errors.js';
import { WaitGroup } from '../../src/sync/wait_group.js';

// Workers run compiled JS (`npm test` runs tsc first); this thread tests the TS source. The two
// copies share nothing but the SharedArrayBuffer inside each cloneable form, which is the point.
const distUrl = new URL('../../dist/src/sync/parker.js', import.meta.url);
const unparkerDistUrl = new URL('../../dist/src/sync/unparker.js', import.meta.url);

beforeAll(() => {
  for (const [name, url] of [['parker', distUrl], ['unparker', unparkerDistUrl]] as const) {
    const built = statSync(fileURLToPath(url), { throwIfNoEntry: false });
    const source = statSync(fileURLToPath(new URL(`../../src/sync/${name}.ts`, import.meta.url)));
    if (built === undefined || built.mtimeMs < source.mtimeMs) {
      throw new Error(`dist/src/sync/${name}.js is missing or older than its source: run \`npx tsc -p tsconfig.json\``);
    }
  }
});

/** Starts a worker running `body` (an async function body) with `Parker`, `Unparker`,
 *  `workerData` and `parentPort` in scope; an error in it becomes the worker's 'error' event. */
function startWorker(body: string, workerData: unknown): Worker {
  const code = `(async () => {
    const { workerData, parentPort } = await import('node:worker_threads');
    const { Parker } = await import(${JSON.stringify(distUrl.href)});
    const { Unparker } = await import(${JSON.stringify(unparkerDistUrl.href)});
    const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    ${body}
  })().catch((err) => { setImmediate(() => { throw err; }); });`;
  return new Worker(code, { eval: true, workerData });
}

/** Resolves with the next message of `worker`; rejects if the worker fails first. */
async function nextMessage(worker: Worker): Promise<unknown> {
  const [message] = await once(worker, 'message');
  return message;
}

describe('Parker token semantics', () => {
  test('Parker.park() returns at once when unpark() came first', () => {
    const parker = new Parker();
    parker.unparker().unpark();
    parker.park();
    expect(parker.parkTimeout(0)).toBe(false); // the token was taken
  });

  test('Parker.park() blocks on a second park after two unparks: tokens do not add up', () => {
    const parker = new Parker();
    parker.unparker().unpark();
    parker.unparker().unpark();
    parker.park();
    // A second park() would block: its timed twin gives up instead.
    expect(parker.parkTimeout(30)).toBe(false);
  });

  test('Parker.parkTimeout() returns true at once when a token is waiting', () => {
    const parker = new Parker();
    parker.unparker().unpark();
    const start = performance.now();
    expect(parker.parkTimeout(5_000)).toBe(true);
    expect(performance.now() - start).toBeLessThan(2_500); // half the timeout it must not wait out
  });

  test('Parker.parkTimeout() returns false after the timeout and never early', () => {
    const parker = new Parker();
    for (const ms of [0, 0.5, 1, 5, 20, 50]) {
      const start = performance.now();
      expect(parker.parkTimeout(ms)).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(ms);
    }
  });

  test('Parker.parkTimeout(Infinity) takes a waiting token', () => {
    const parker = new Parker();
    parker.unparker().unpark();
    expect(parker.parkTimeout(Infinity)).toBe(true);
  });

  test('Parker.unparker() returns the same Unparker every time', () => {
    const parker = new Parker();
    expect(parker.unparker()).toBe(parker.unparker());
    expect(parker.unparker()).toBeInstanceOf(Unparker);
  });

  test('Parker.from() and Unparker.from() rebuild views of the same token', () => {
    const parker = new Parker();
    const twin = Parker.from(structuredClone(parker.toCloneable()));
    Unparker.from(structuredClone(parker.unparker().toCloneable())).unpark();
    expect(twin.parkTimeout(0)).toBe(true);
    expect(parker.parkTimeout(0)).toBe(false);
  });
});

describe('Parker across workers', () => {
  test('Unparker.unpark() from a worker wakes a main thread blocked in Parker.park()', async () => {
    const parker = new Parker();
    const ack = new Parker();
    // The worker lets the main thread park first, unparks it, then waits for an ack. Without
    // one in 10 s it closes the parker, so a lost wakeup fails this test instead of hanging it.
    const worker = startWorker(
      `const main = Parker.from(workerData.main);
       const ack = Parker.from(workerData.ack);
       sleep(50);
       Unparker.from(workerData.unparker).unpark();
       if (!ack.parkTimeout(10_000)) main.close();
       parentPort.postMessage('done');`,
      { unparker: parker.unparker().toCloneable(), main: parker.toCloneable(), ack: ack.toCloneable() },
    );
    const start = performance.now();
    parker.park();
    const elapsed = performance.now() - start;
    ack.unparker().unpark();
    expect(await nextMessage(worker)).toBe('done');
    expect(elapsed).toBeGreaterThanOrEqual(40); // it really was parked until the worker's unpark
    await worker.terminate();
  });

  test('Parker.parkTimeout() returns true when a worker unparks before the deadline', async () => {
    const parker = new Parker();
    const worker = startWorker(
      `parentPort.once('message', (form) => { sleep(20); Unparker.from(form).unpark(); });`,
      null,
    );
    worker.postMessage(parker.unparker().toCloneable()); // postMessage, not workerData
    const start = performance.now();
    expect(parker.parkTimeout(10_000)).toBe(true);
    expect(performance.now() - start).toBeLessThan(10_000);
    await worker.terminate();
  });

  test('Unparker.unpark() from the main thread wakes a worker parked on Parker.from()', async () => {
    const parker = new Parker();
    const worker = startWorker(
      `const me = Parker.from(workerData);
       parentPort.postMessage('parking');
       parentPort.postMessage(me.parkTimeout(10_000));`,
      parker.toCloneable(),
    );
    expect(await nextMessage(worker)).toBe('parking');
    parker.unparker().unpark();
    expect(await nextMessage(worker)).toBe(true);
    await worker.terminate();
  });

  test('Parker.close() wakes a worker parked on it with ParkerClosedError', async () => {
    const parker = new Parker();
    const worker = startWorker(
      `const me = Parker.from(workerData);
       parentPort.postMessage('parking');
       try { me.park(); parentPort.postMessage('woke'); }
       catch (err) { parentPort.postMessage(err.name + ' ' + err.code); }`,
      parker.toCloneable(),
    );
    expect(await nextMessage(worker)).toBe('parking');
    parker.close();
    expect(await nextMessage(worker)).toBe('ParkerClosedError ERR_PARKER_CLOSED');
    await worker.terminate();
  });

  test('Parker.parkTimeout() throws ParkerBusyError while a worker is parked on the same parker', async () => {
    const parker = new Parker();
    const worker = startWorker(
      `const me = Parker.from(workerData);
       parentPort.postMessage('parking');
       parentPort.postMessage(me.parkTimeout(10_000));`,
      parker.toCloneable(),
    );
    expect(await nextMessage(worker)).toBe('parking');
    // No event says "the worker is inside park now": retry parkTimeout(0), which only looks
    // (it never parks, so it cannot make the worker see a busy parker), until it reports the
    // other owner; bounded, so a bug fails instead of hanging.
    let busy: unknown;
    const deadline = performance.now() + 10_000;
    while (busy === undefined && performance.now() < deadline) {
      try {
        expect(parker.parkTimeout(0)).toBe(false);
      } catch (err) {
        busy = err;
      }
    }
    expect(busy).toBeInstanceOf(ParkerBusyError);
    parker.unparker().unpark();
    expect(await nextMessage(worker)).toBe(true);
    await worker.terminate();
  });
});

/** The next message of `worker`, or 'none within <ms> ms' if it does not come in time. */
async function messageWithin(worker: Worker, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms, `none within ${ms} ms`)));
  try {
    return await Promise.race([nextMessage(worker), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns once another thread is parked on `parker`: parkTimeout(0) only looks, never parks. */
function untilParkedElsewhere(parker: Parker, ms = 10_000): void {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      parker.parkTimeout(0);
    } catch (err) {
      if (err instanceof ParkerBusyError) return;
      throw err;
    }
    if (performance.now() > deadline) throw new Error(`nobody parked within ${ms} ms`);
  }
}

describe('Parker with several handles', () => {
  test("a second handle's parkTimeout(0) cannot take the token unpark() handed to a parked worker", async () => {
    const parker = new Parker();
    const other = Parker.from(parker.toCloneable()); // as a second thread would hold it
    const rounds = 20;
    // [rounds finished, results that were true]
    const sync = new Int32Array(new SharedArrayBuffer(8));
    const worker = startWorker(
      `const me = Parker.from(workerData.form);
       const sync = new Int32Array(workerData.sync);
       for (let i = 0; i < workerData.rounds; i++) {
         if (me.parkTimeout(2_000)) Atomics.add(sync, 1, 1);
         Atomics.add(sync, 0, 1);
         Atomics.notify(sync, 0);
       }`,
      { form: parker.toCloneable(), sync: sync.buffer, rounds },
    );
    try {
      for (let i = 0; i < rounds; i++) {
        untilParkedElsewhere(other);
        parker.unparker().unpark();
        // Right after the unpark the worker is still waking up: the token is its own.
        let stolen: unknown;
        try {
          stolen = other.parkTimeout(0);
        } catch (err) {
          stolen = err;
        }
        expect(stolen === false || stolen instanceof ParkerBusyError, `round ${i}: got ${String(stolen)}`).toBe(true);
        // The worker takes it and parks again (or finishes); 2 s bound: a spinning owner fails here.
        const deadline = performance.now() + 2_000;
        while (Atomics.load(sync, 0) === i && performance.now() < deadline) Atomics.wait(sync, 0, i, 10);
        expect(Atomics.load(sync, 0), `round ${i}: the parked worker did not return`).toBe(i + 1);
        expect(Atomics.load(sync, 1)).toBe(i + 1); // with the token, not by timing out
      }
    } finally {
      await worker.terminate();
    }
  });

  test('Parker.parkTimeout() ends at once, without spinning, if its state cell is overwritten while it is parked', async () => {
    const parker = new Parker();
    const worker = startWorker(
      `const me = Parker.from(workerData);
       try { parentPort.postMessage('returned ' + me.parkTimeout(300)); }
       catch (err) { parentPort.postMessage(err.message); }`,
      parker.toCloneable(),
    );
    try {
      untilParkedElsewhere(parker);
      // What a thief would leave: no token and nobody parked. The owner must not spin on it.
      const cells = new Int32Array(parker.toCloneable().sab);
      Atomics.store(cells, 0, 0);
      Atomics.notify(cells, 0);
      expect(await messageWithin(worker, 3_000)).toMatch(/Parker.parkTimeout: the parker's state cell holds 0 under a parked thread/);
    } finally {
      await worker.terminate();
    }
  });
});

describe('Parker.close()', () => {
  test('Unparker.unpark() throws ParkerClosedError after Parker.close()', () => {
    const parker = new Parker();
    const unparker = parker.unparker();
    parker.close();
    expect(unparker.isClosed).toBe(true);
    expect(() => unparker.unpark()).toThrow(ParkerClosedError);
    expect(() => Unparker.from(unparker.toCloneable()).unpark()).toThrow(/closed/);
  });

  test('Parker.park() and Parker.parkTimeout() throw ParkerClosedError after close()', () => {
    const parker = new Parker();
    parker.unparker().unpark(); // a pending token is discarded by close()
    parker.close();
    expect(() => parker.park()).toThrow(ParkerClosedError);
    expect(() => parker.parkTimeout(0)).toThrow(ParkerClosedError);
  });

  test('Parker.close() is idempotent and Parker[Symbol.dispose]() closes', () => {
    const parker = new Parker();
    parker.close();
    parker.close();
    expect(parker.isClosed).toBe(true);
    const disposed = new Parker();
    disposed[Symbol.dispose]();
    expect(disposed.isClosed).toBe(true);
    expect(() => disposed.unparker().unpark()).toThrow(ParkerClosedError);
  });
});

describe('Parker bad input', () => {
  test('Parker.parkTimeout() throws RangeError for a negative timeout and TypeError for NaN', () => {
    const parker = new Parker();
    expect(() => parker.parkTimeout(-1)).toThrow(RangeError);
    expect(() => parker.parkTimeout(-0.5)).toThrow(RangeError);
    expect(() => parker.parkTimeout(Number.NaN)).toThrow(TypeError);
    expect(() => parker.parkTimeout(-Infinity)).toThrow(RangeError);
  });

  test('Parker.parkTimeout() throws TypeError for a timeout that is not a number', () => {
    const parker = new Parker();
    for (const bad of ['5', undefined, null, 5n, {}]) {
      expect(() => parker.parkTimeout(bad as unknown as number)).toThrow(TypeError);
    }
  });

  test('Parker.from() and Unparker.from() throw TypeError for anything but their own form', () => {
    const parker = new Parker();
    const wrongSize = { kind: 'wakeloop.Parker', sab: new SharedArrayBuffer(16) };
    const notShared = { kind: 'wakeloop.Parker', sab: new ArrayBuffer(8) };
    const waitGroupSab = { kind: 'wakeloop.Parker', sab: new WaitGroup().toCloneable().sab };
    for (const bad of [null, undefined, 42, 'x', {}, wrongSize, notShared, waitGroupSab, parker.unparker().toCloneable()]) {
      expect(() => Parker.from(bad as never)).toThrow(TypeError);
    }
    for (const bad of [null, {}, parker.toCloneable(), { kind: 'wakeloop.Unparker', sab: new SharedArrayBuffer(8) }]) {
      expect(() => Unparker.from(bad as never)).toThrow(TypeError);
    }
    expect(() => Parker.from(undefined as never)).toThrow(/expected the object made by toCloneable\(\), got undefined$/);
  });

  test('new Unparker() throws TypeError: unparkers come from a parker', () => {
    expect(() => new Unparker()).toThrow(TypeError);
  });
});
