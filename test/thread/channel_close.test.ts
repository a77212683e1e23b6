import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ThreadChannel } from '../../src/thread/channel.js';
import { run } from '../util.js';

// close() racing with blocked senders, and senders that die inside the senders' lock. Workers
// run dist/ (this thread runs the TS source); they share only the buffers of the forms. Every
// wait is bounded, so a lost wake-up fails a test instead of hanging the suite, and the main
// thread never calls send() or close() where the bugs covered here would block it forever.
const distChannel = new URL('../../dist/src/thread/channel.js', import.meta.url);

beforeAll(() => {
  const built = statSync(fileURLToPath(distChannel), { throwIfNoEntry: false });
  const source = statSync(fileURLToPath(new URL('../../src/thread/channel.ts', import.meta.url)));
  if (built === undefined || built.mtimeMs < source.mtimeMs) {
    throw new Error('dist/src/thread/channel.js is missing or older than its source: run `npx tsc -p tsconfig.json`');
  }
});

const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

/** Starts a worker running `body` (an async function body) with `ThreadChannel`, `workerData`,
 *  `parentPort` and `sync` (an Int32Array over `workerData.sync`) in scope; an error thrown by
 *  `body` is posted as 'error: <name>: <message>'. */
function startWorker(body: string, workerData: { sync?: SharedArrayBuffer; [key: string]: unknown }): Worker {
  const code = `(async () => {
    const { workerData, parentPort } = await import('node:worker_threads');
    const { ThreadChannel } = await import(${JSON.stringify(distChannel.href)});
    const sync = workerData.sync ? new Int32Array(workerData.sync) : null;
    try { ${body} } catch (err) { parentPort.postMessage('error: ' + err.name + ': ' + err.message); }
  })();`;
  const worker = new Worker(code, { eval: true, workerData });
  started.push(worker);
  return worker;
}

/** The next message of `worker`, or `late` if none comes within `ms`. */
function nextMessage(worker: Worker, ms = 5_000, late = `no message within ${ms} ms`): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      clearTimeout(timer);
      resolve(message);
    };
    const timer = setTimeout(() => {
      worker.off('message', onMessage);
      resolve(late);
    }, ms);
    worker.once('message', onMessage);
  });
}

/** Resolves once `cells[index]` is `value`; rejects after `ms`. Polls, so Node's loop keeps running. */
async function until(cells: Int32Array, index: number, value: number, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (Atomics.load(cells, index) !== value) {
    if (performance.now() > deadline) throw new Error(`cell ${index} did not become ${value} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Fills the ring with small messages. */
function fill(ch: ThreadChannel<string>): void {
  while (ch.trySend('x'));
}

describe('ThreadChannel.close() and blocked senders', () => {
  it('ThreadChannel.close() wakes a sender that found the ring full but had not started waiting yet', async () => {
    const ch = new ThreadChannel<string>({ capacity: 64 });
    fill(ch);
    const sync = new Int32Array(new SharedArrayBuffer(4));
    // The sender's first Atomics.wait on the channel's buffer lets this thread close the
    // channel (close() returns, its wake-ups done), then really waits: the close lands between
    // the sender's look at the ring and its wait.
    const worker = startWorker(
      `const ch = ThreadChannel.from(workerData.form);
       const wait = Atomics.wait;
       Atomics.wait = (cells, index, value, ms) => {
         if (cells.buffer === workerData.form.sab && Atomics.compareExchange(sync, 0, 0, 1) === 0) {
           while (Atomics.load(sync, 0) !== 2);
         }
         return wait(cells, index, value, ms);
       };
       try { parentPort.postMessage('returned ' + ch.send('y')); }
       catch (err) { parentPort.postMessage(err.name); }`,
      { form: ch.toCloneable(), sync: sync.buffer },
    );
    await until(sync, 0, 1);
    ch.close();
    Atomics.store(sync, 0, 2);
    expect(await nextMessage(worker, 5_000, 'still blocked 5 s after close()')).toBe('ClosedError');
  });

  it('ThreadChannel.close() at random moments always wakes a sender blocked on a full ring', async () => {
    // No hook here: the close races the sender's real send() call. Probabilistic (the test
    // above is the deterministic one); it catches a lost wake-up in some runs, not all.
    const trials = 500;
    const channels = Array.from({ length: trials }, () => new ThreadChannel<number>({ capacity: 64 }));
    const sync = new Int32Array(new SharedArrayBuffer(8)); // [trial about to send, trials finished]
    startWorker(
      `workerData.forms.forEach((form, i) => {
         const ch = ThreadChannel.from(form);
         while (ch.trySend(1));
         Atomics.store(sync, 0, i + 1);
         try { ch.send(1); } catch {}
         Atomics.store(sync, 1, i + 1);
       });`,
      { forms: channels.map((c) => c.toCloneable()), sync: sync.buffer },
    );
    for (let i = 0; i < trials; i++) {
      await until(sync, 0, i + 1);
      const end = performance.now() + Math.random() * 0.04; // 0 to 40 µs
      while (performance.now() < end);
      channels[i].close();
      await until(sync, 1, i + 1, 2_000).catch(() => {
        throw new Error(`trial ${i}: the sender was still blocked 2 s after close()`);
      });
    }
  });

  it('a send racing with ThreadChannel.close() is either received or throws ClosedError, never lost', async () => {
    const ch = new ThreadChannel<string>({ capacity: 1024 });
    // A second handle closes the channel while the first is copying its message in (inside the
    // senders' lock), as another thread might: that send must fail, since recv() may end first.
    const worker = startWorker(
      `const ch = ThreadChannel.from(workerData.form);
       const closer = ThreadChannel.from(workerData.form);
       const setUint32 = DataView.prototype.setUint32;
       DataView.prototype.setUint32 = function (...args) {
         DataView.prototype.setUint32 = setUint32;
         closer.close();
         return setUint32.apply(this, args);
       };
       try { parentPort.postMessage('returned ' + ch.send('late')); }
       catch (err) { parentPort.postMessage(err.name); }`,
      { form: ch.toCloneable() },
    );
    expect(await nextMessage(worker, 5_000, 'the send blocked')).toBe('ClosedError');
    expect(ch.closed).toBe(true);
    expect(run((function* () {
      return yield* ch.recv();
    })())).toBeUndefined();
    expect(ch.tryRecv()).toBeUndefined();
  });
});

describe('ThreadChannel with a sender terminated inside its lock', () => {
  it('ThreadChannel.close() does not need the lock: it wakes the senders waiting for a dead holder, and recv() ends', async () => {
    const ch = new ThreadChannel<string>({ capacity: 1024 });
    ch.send('queued');
    const form = ch.toCloneable();
    const sync = new Int32Array(new SharedArrayBuffer(4));
    // setUint32 writes a message's length header, inside the lock: the worker stops there.
    const doomed = startWorker(
      `const ch = ThreadChannel.from(workerData.form);
       DataView.prototype.setUint32 = function () {
         Atomics.store(sync, 0, 1);
         for (;;);
       };
       ch.send('never');`,
      { form, sync: sync.buffer },
    );
    await until(sync, 0, 1);
    await doomed.terminate();
    expect(Atomics.load(new Int32Array(form.sab), 0)).toBe(1); // the senders' lock is still held

    const sender = startWorker(
      `const ch = ThreadChannel.from(workerData.form);
       const start = performance.now();
       const sent = ch.send('timed', 100);
       parentPort.postMessage({ sent, ms: performance.now() - start });
       parentPort.postMessage('waiting');
       try { parentPort.postMessage('returned ' + ch.trySend('try')); }
       catch (err) { parentPort.postMessage(err.name); }`,
      { form },
    );
    const timed = await nextMessage(sender, 5_000, 'send(msg, 100) did not return');
    expect(timed).toEqual({ sent: false, ms: expect.any(Number) }); // a finite timeout also bounds the wait for the lock
    expect((timed as { ms: number }).ms).toBeGreaterThanOrEqual(99);
    expect(await nextMessage(sender)).toBe('waiting');
    const blocked = nextMessage(sender, 5_000, 'trySend() still blocked 5 s after close()');
    await new Promise((resolve) => setTimeout(resolve, 50)); // let it block in trySend

    const closer = startWorker(`ThreadChannel.from(workerData.form).close(); parentPort.postMessage('closed');`, { form });
    expect(await nextMessage(closer, 5_000, 'close() blocked')).toBe('closed');
    expect(await blocked).toBe('ClosedError');
    expect(run((function* () {
      return [yield* ch.recv(), yield* ch.recv()];
    })())).toEqual(['queued', undefined]);
  });
});
