// The attached mode: a libuv uv_poll_t watches the epoll fd and calls onReady from Node's own
// loop. Process exit, uncaught exceptions and worker teardown run in child processes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { binding, INTEREST_READ, READABLE, type NativeBlocker } from '../../src/_binding.js';
import { FIXTURES, openFdCount, runFixture, send, tcpPair } from './helpers.js';

/** Resolves with the value of `f` once onReady has run `times` times, or rejects after `ms`. */
function nextReady(blocker: NativeBlocker, f: () => unknown, ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('onReady was not called')), ms);
    blocker.attach!(() => {
      clearTimeout(timer);
      resolve(f());
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IoBlocker.attach()', () => {
  let events: Int32Array;
  let blocker: NativeBlocker;
  let fdsBefore: number;

  beforeEach(() => {
    fdsBefore = openFdCount();
    events = new Int32Array(16);
    blocker = new binding.IoBlocker(events, { backend: 'epoll' });
  });

  afterEach(async () => {
    blocker.close();
    await sleep(10); // uv_close finishes on the next loop turn
    expect(openFdCount()).toBe(fdsBefore);
  });

  it('IoBlocker.attach() calls onReady from the Node loop after notify()', async () => {
    const ready = nextReady(blocker, () => blocker.block(0));
    blocker.notify();
    expect(await ready).toBe(0); // the notify was drained; it is never an event
    blocker.detach!();
  });

  it('IoBlocker.attach() calls onReady when a registered socket becomes readable', async () => {
    const p = tcpPair();
    blocker.register(p.server, 21, INTEREST_READ);
    blocker.block(0); // the registration's writable edge
    const ready = nextReady(blocker, () => {
      const n = blocker.block(0);
      return Array.from(events.subarray(0, 2 * n));
    });
    send(p.client, 'ping');
    const got = (await ready) as number[];
    expect(got[0]).toBe(21);
    expect(got[1] & READABLE).toBe(READABLE);
    blocker.detach!();
    blocker.deregister(p.server);
    p.close();
  });

  it('IoBlocker.attach() runs onReady in a callback scope: nextTick and microtasks run right after it', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('immediate'));
    const ready = nextReady(blocker, () => {
      blocker.block(0);
      log.push('ready');
      queueMicrotask(() => log.push('microtask'));
      process.nextTick(() => log.push('tick'));
    });
    blocker.notify();
    await ready;
    await sleep(20);
    expect(log).toEqual(['ready', 'tick', 'microtask', 'immediate']);
    blocker.detach!();
  });

  it('IoBlocker.detach() stops the callbacks, and attach() again resumes them', async () => {
    let calls = 0;
    blocker.attach!(() => {
      calls++;
      blocker.block(0);
    });
    blocker.detach!();
    blocker.detach!(); // idempotent
    blocker.notify();
    await sleep(50);
    expect(calls).toBe(0);
    expect(await nextReady(blocker, () => blocker.block(0))).toBe(0); // the pending notify
    blocker.detach!();
  });

  it('IoBlocker.attach() while attached replaces the callback', async () => {
    let first = 0;
    blocker.attach!(() => {
      first++;
      blocker.block(0);
    });
    const ready = nextReady(blocker, () => blocker.block(0));
    blocker.notify();
    expect(await ready).toBe(0);
    expect(first).toBe(0);
    blocker.detach!();
  });

  it('IoBlocker.close() inside onReady stops the watcher without a crash', async () => {
    const ready = nextReady(blocker, () => {
      blocker.block(0);
      blocker.close();
      return 'closed';
    });
    blocker.notify();
    expect(await ready).toBe('closed');
    await sleep(20);
    expect(blocker.pollFd).toBe(-1);
  });

  it('IoBlocker.ref(false) and ref(true) are accepted while attached and before attaching', async () => {
    blocker.ref!(false);
    const ready = nextReady(blocker, () => blocker.block(0));
    blocker.notify();
    expect(await ready).toBe(0);
    blocker.ref!(true);
    blocker.detach!();
  });
});

describe('IoBlocker.attach() with the poll backend', () => {
  it('IoBlocker.attach() throws: it needs the epoll backend', () => {
    const b = new binding.IoBlocker(new Int32Array(2), { backend: 'poll' });
    expect(() => b.attach!(() => {})).toThrow("IoBlocker.attach(): needs the epoll backend (this blocker uses 'poll')");
    b.close();
  });
});

describe('IoBlocker.attach() and process lifetime', () => {
  const fixture = (name: string) => runFixture([path.join(FIXTURES, 'attach.mjs'), name]);
  const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

  it("close() refuses an attached blocker's poll fd, and the blocker goes on working", async () => {
    const r = await fixture('close-pollfd');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(lines(r.stdout)).toEqual([{ refused: 'RangeError', blocked: 0 }]);
  });

  it("IoBlocker.attach() sends an exception thrown by onReady to process 'uncaughtException'", async () => {
    const r = await fixture('throw');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([{ uncaught: 'boom from onReady' }]);
  });

  it('IoBlocker.ref(false) lets the process exit while attached', async () => {
    const t0 = performance.now();
    const r = await fixture('unref');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([{ exited: true }]);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('IoBlocker.ref(true) keeps the process alive until detach()', async () => {
    const r = await fixture('ref');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([{ aliveAfterMs: 300 }, { exited: true }]);
  });

  it('IoBlocker.attach() on a blocker never closed lets the process exit cleanly (cleanup hook)', async () => {
    const r = await fixture('exit-attached');
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(lines(r.stdout)).toEqual([{ attached: true }]);
  });

  it('IoBlocker.attach() in workers that end, exit or are terminated never crashes the process', async () => {
    const r = await fixture('worker-exit');
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(lines(r.stdout)).toEqual([{ natural: 0, exit: 3, terminate: 1 }]);
  });
});
