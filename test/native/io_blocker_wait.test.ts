// IoBlocker.block() timing and wakeups on both backends: timeouts that never end early,
// sub-millisecond waits, EINTR retry, notify() from this and other threads, coalescing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { release } from 'node:os';
import { Worker } from 'node:worker_threads';
import { binding, type NativeBlocker } from '../../src/_binding.js';
import { ADDON_PATH, BACKENDS, openFdCount, watchdog, type BackendName } from './helpers.js';

/** A worker that loads the addon itself and runs `body` with `b` (the addon) and `data`. */
interface AddonWorker {
  online: Promise<unknown>;
  /** What `body` returned, once the worker has exited. */
  result: Promise<unknown>;
}

function addonWorker(body: string, data: unknown): AddonWorker {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const b = require(workerData.addon);
    const data = workerData.data;
    const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const result = (() => { ${body} })();
    parentPort.postMessage(result === undefined ? null : result);
  `;
  const w = new Worker(code, { eval: true, workerData: { addon: ADDON_PATH, data } });
  // Listen at once: a fast worker may post before the test gets around to awaiting.
  const message = once(w, 'message');
  const exit = once(w, 'exit');
  return {
    online: once(w, 'online'),
    result: Promise.all([message, exit]).then(([[msg]]) => msg),
  };
}

let events: Int32Array;
let blocker: NativeBlocker;

/** Gives each test of the enclosing describe a fresh `blocker` (16 `events`) on `backend`; closes it after and checks no fd is left open. */
function blockerEachTest(backend: BackendName): void {
  let fdsBefore: number;

  beforeEach(() => {
    fdsBefore = openFdCount();
    events = new Int32Array(16);
    blocker = new binding.IoBlocker(events, { backend });
  });

  afterEach(() => {
    blocker.close();
    expect(openFdCount()).toBe(fdsBefore);
  });
}

function kernelHasPwait2(): boolean {
  const [major, minor] = release().split('.').map(Number);
  return major > 5 || (major === 5 && minor >= 11);
}

describe.each(BACKENDS)('IoBlocker.block() timing (%s)', (backend) => {
  blockerEachTest(backend);

  it('IoBlocker.block(50) never returns before 50 ms', () => {
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect(blocker.block(50)).toBe(0);
      const elapsed = performance.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(50);
      expect(elapsed).toBeLessThan(500);
    }
  });

  it('IoBlocker.block(0) polls and returns at once', () => {
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) expect(blocker.block(0)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('IoBlocker.block() accepts fractional and sub-millisecond timeouts and never ends early', () => {
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      expect(blocker.block(0.3)).toBe(0);
      samples.push(performance.now() - t0);
    }
    for (const s of samples) expect(s).toBeGreaterThanOrEqual(0.3);
    samples.sort((a, b) => a - b);
    const median = samples[samples.length >> 1];
    if (backend === 'poll' || kernelHasPwait2()) {
      // ppoll and epoll_pwait2 wait 0.3 ms, not a rounded-up millisecond.
      expect(median).toBeLessThan(1);
    } else {
      expect(median).toBeLessThan(20);
    }
    const t0 = performance.now();
    expect(blocker.block(2.5)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2.5);
  });

  it('IoBlocker.block() retries EINTR from a signal handled elsewhere and still waits the full timeout', async () => {
    // libuv's handler for process.on('SIGUSR2') runs on this thread while it is in the
    // kernel: epoll_wait/poll fail with EINTR whatever SA_RESTART says (signal(7)).
    let delivered = 0;
    const onSignal = () => delivered++;
    process.on('SIGUSR2', onSignal);
    try {
      const w = addonWorker(`sleep(60); process.kill(process.pid, 'SIGUSR2'); return true;`, null);
      await w.online;
      const t0 = performance.now();
      expect(blocker.block(300)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
      expect(await w.result).toBe(true);
      for (let i = 0; i < 50 && delivered === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(delivered).toBe(1); // the signal really arrived while we were blocked
    } finally {
      process.off('SIGUSR2', onSignal);
    }
  });

  it('IoBlocker.block() retries EINTR from SIGCHLD of a child that exits meanwhile', async () => {
    const child = spawn('sleep', ['0.05'], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    const t0 = performance.now();
    expect(blocker.block(300)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    await exited;
  });
});

describe.each(BACKENDS)('IoBlocker.notify() (%s)', (backend) => {
  blockerEachTest(backend);

  it('IoBlocker.notify() wakes the next block(-1) and is never reported as an event', async () => {
    const disarm = watchdog(20_000);
    events.fill(-7);
    blocker.notify();
    expect(blocker.block(-1)).toBe(0);
    expect(Array.from(events)).toEqual(new Array(16).fill(-7));
    await disarm();
  });

  it('IoBlocker.notify() coalesces many notifies into one wake', () => {
    for (let i = 0; i < 1000; i++) blocker.notify();
    expect(blocker.block(1000)).toBe(0);
    const t0 = performance.now();
    expect(blocker.block(30)).toBe(0); // nothing left over: a full timeout
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
  });

  it('IoBlocker.notify() survives 100k notifies without failing (no saturation)', () => {
    for (let i = 0; i < 100_000; i++) {
      blocker.notify();
      expect(binding.notifyBlocker(blocker.registryId)).toBe(true);
    }
    expect(blocker.block(1000)).toBe(0);
    const t0 = performance.now();
    expect(blocker.block(20)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20);
    blocker.notify(); // and it still works afterwards
    expect(blocker.block(1000)).toBe(0);
  });

  it('notifyBlocker() from a worker thread wakes a block(-1)', async () => {
    const disarm = watchdog(20_000);
    const w = addonWorker(`sleep(50); return b.notifyBlocker(data);`, blocker.registryId);
    await w.online;
    const t0 = performance.now();
    expect(blocker.block(-1)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(await w.result).toBe(true);
    await disarm();
  });

  it('notifyBlocker() from a worker wakes every one of 200 consecutive block(-1) calls', async () => {
    const disarm = watchdog(30_000);
    const turn = new Int32Array(new SharedArrayBuffer(4));
    const w = addonWorker(
      `const turn = new Int32Array(data.sab);
       for (let i = 1; i <= 200; i++) {
         while (Atomics.load(turn, 0) < i) Atomics.wait(turn, 0, i - 1, 1000);
         b.notifyBlocker(data.id);
       }
       return true;`,
      { sab: turn.buffer, id: blocker.registryId },
    );
    await w.online;
    for (let i = 1; i <= 200; i++) {
      Atomics.store(turn, 0, i);
      Atomics.notify(turn, 0);
      expect(blocker.block(-1)).toBe(0);
    }
    expect(await w.result).toBe(true);
    await disarm();
  });
});

describe('notifyBlocker()', () => {
  it('notifyBlocker() returns false for a closed blocker, from this thread and from a worker', async () => {
    const b = new binding.IoBlocker(new Int32Array(2));
    const id = b.registryId;
    expect(id).toBeGreaterThan(0);
    expect(binding.notifyBlocker(id)).toBe(true);
    b.close();
    expect(binding.notifyBlocker(id)).toBe(false);
    expect(await addonWorker(`return b.notifyBlocker(data);`, id).result).toBe(false);
  });

  it('notifyBlocker() with the id of a closed blocker does not wake the blocker that reused its slot', () => {
    const a = new binding.IoBlocker(new Int32Array(2));
    const oldId = a.registryId;
    a.close();
    const events = new Int32Array(2);
    const b = new binding.IoBlocker(events);
    expect(b.registryId).not.toBe(oldId);
    expect(binding.notifyBlocker(oldId)).toBe(false);
    const t0 = performance.now();
    expect(b.block(30)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    b.close();
  });

  it('notifyBlocker() returns false for ids that never existed', () => {
    for (const id of [0, -1, 1, 2 ** 31 - 1, 2 ** 40]) expect(binding.notifyBlocker(id)).toBe(false);
  });

  it('notifyBlocker() from racing workers while the blocker closes never crashes', async () => {
    for (let round = 0; round < 5; round++) {
      const b = new binding.IoBlocker(new Int32Array(2), { backend: round % 2 ? 'poll' : 'epoll' });
      const workers = [0, 1].map(() =>
        addonWorker(
          `let ok = 0; for (let i = 0; i < 200000; i++) if (b.notifyBlocker(data)) ok++; return ok;`,
          b.registryId,
        ),
      );
      await Promise.all(workers.map((w) => w.online));
      b.close();
      const results = (await Promise.all(workers.map((w) => w.result))) as number[];
      for (const r of results) expect(r).toBeGreaterThanOrEqual(0);
      expect(binding.notifyBlocker(b.registryId)).toBe(false);
    }
  });
});
