// Name lookups: getaddrinfo on the process's helper threads, completion through the blocker's notify.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { binding, type NativeBlocker, type RawLookupResult } from '../../src/_binding.js';
import { runNode } from '../child.js';
import { ADDON_PATH, FIXTURES, openFdCount, sleepSync } from './helpers.js';

/** Blocks on the blocker until the lookup is done (each wake re-checks, as the reactor does). */
function finish(blocker: NativeBlocker, request: number, ms = 10_000): RawLookupResult {
  const deadline = performance.now() + ms;
  for (;;) {
    const r = binding.lookupTake(request);
    if (r !== undefined) return r;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error('lookup did not finish');
    blocker.block(left);
  }
}

describe('lookupStart()', () => {
  let blocker: NativeBlocker;
  let fdsBefore: number;
  beforeEach(() => {
    fdsBefore = openFdCount();
    blocker = new binding.IoBlocker(new Int32Array(8));
  });
  afterEach(() => {
    blocker.close();
    expect(openFdCount()).toBe(fdsBefore);
  });

  it("lookupStart('localhost') completes, wakes the blocker, and lookupTake() returns it once", () => {
    const request = binding.lookupStart('localhost', blocker.registryId);
    expect(request).toBeGreaterThan(0);
    const t0 = performance.now();
    const r = finish(blocker, request);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.error).toBeUndefined();
    expect(r.addresses).toContainEqual({ address: '127.0.0.1', family: 4 });
    for (const a of r.addresses) expect([4, 6]).toContain(a.family);
    expect(() => binding.lookupTake(request)).toThrow(RangeError);
  });

  it('lookupStart() of a bogus name finishes with an EAI_* error and no addresses', () => {
    const r = finish(blocker, binding.lookupStart('nonexistent.invalid', blocker.registryId));
    expect(r.error).toMatch(/^EAI_/);
    expect(typeof r.message).toBe('string');
    expect(r.message!.length).toBeGreaterThan(0);
    expect(r.addresses).toEqual([]);
    const empty = finish(blocker, binding.lookupStart('', blocker.registryId));
    expect(empty.error).toMatch(/^EAI_/);
  });

  it('lookupStart() of numeric addresses returns each once, in its family', () => {
    expect(finish(blocker, binding.lookupStart('127.0.0.1', blocker.registryId)).addresses).toEqual([
      { address: '127.0.0.1', family: 4 },
    ]);
    expect(finish(blocker, binding.lookupStart('::1', blocker.registryId)).addresses).toEqual([
      { address: '::1', family: 6 },
    ]);
  });

  it('lookupTake() returns undefined while the lookup runs or the result when it is done', () => {
    const request = binding.lookupStart('localhost', blocker.registryId);
    const early = binding.lookupTake(request);
    if (early !== undefined) expect(Array.isArray(early.addresses)).toBe(true);
    else expect(finish(blocker, request).addresses.length).toBeGreaterThan(0);
  });

  it('lookupCancel() forgets the request and its late result is discarded', () => {
    // Whether the helper thread still wakes the blocker depends on it finishing after the
    // cancel, which a local lookup (well under a millisecond) does not guarantee: only the
    // forgetting is checked here.
    const request = binding.lookupStart('localhost', blocker.registryId);
    binding.lookupCancel(request);
    binding.lookupCancel(request); // twice is fine
    expect(() => binding.lookupTake(request)).toThrow(RangeError);
    sleepSync(100); // let the helper finish and find the request cancelled
    expect(() => binding.lookupTake(request)).toThrow(RangeError);
    blocker.notify();
    expect(blocker.block(1000)).toBe(0); // the blocker is unaffected
  });

  it('lookupStart() for a blocker that closes meanwhile still completes safely', () => {
    const other = new binding.IoBlocker(new Int32Array(2));
    const request = binding.lookupStart('localhost', other.registryId);
    other.close();
    let r: RawLookupResult | undefined;
    for (let i = 0; i < 1000 && r === undefined; i++) {
      r = binding.lookupTake(request);
      if (r === undefined) sleepSync(5);
    }
    expect(r?.addresses).toContainEqual({ address: '127.0.0.1', family: 4 });
  });

  it('a burst of 300 lookups runs on at most 4 helper threads (it started a thread per lookup: 82 to 117 at once)', async () => {
    // A worker samples this process's thread count while the burst runs: the peak is what
    // counts, and lookups of localhost end too quickly for samples taken between them to see it.
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const sampler = new Worker(
      `const { readFileSync } = require('node:fs');
       const { parentPort, workerData: stop } = require('node:worker_threads');
       const threads = () => Number(/Threads:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
       let peak = threads();
       parentPort.postMessage('sampling');
       while (Atomics.load(stop, 0) === 0) peak = Math.max(peak, threads());
       parentPort.postMessage(peak);`,
      { eval: true, workerData: stop },
    );
    try {
      await once(sampler, 'message');
      const before = Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
      const requests = Array.from({ length: 300 }, () => binding.lookupStart('localhost', blocker.registryId));
      for (const request of requests) {
        expect(finish(blocker, request).addresses).toContainEqual({ address: '127.0.0.1', family: 4 });
      }
      Atomics.store(stop, 0, 1);
      const [peak] = (await once(sampler, 'message')) as [number];
      // Helper threads idle from earlier lookups are in `before` already and count toward the 4.
      expect(peak).toBeLessThanOrEqual(before + 4);
    } finally {
      Atomics.store(stop, 0, 1);
      await sampler.terminate();
    }
  });

  it('lookupStart() and lookupTake() throw for bad arguments', () => {
    expect(() => binding.lookupStart(42 as unknown as string, blocker.registryId)).toThrow(TypeError);
    expect(() => binding.lookupStart('a\0b', blocker.registryId)).toThrow(/NUL/);
    expect(() => binding.lookupStart('localhost', 1.5)).toThrow(TypeError);
    expect(() => binding.lookupTake('1' as unknown as number)).toThrow(TypeError);
    expect(() => binding.lookupTake(123456789)).toThrow(RangeError);
    expect(() => binding.lookupCancel(undefined as unknown as number)).toThrow(TypeError);
  });
});

/**
 * Builds `source` (a fixture, C or C++) as a shared library for LD_PRELOAD, passes its path to
 * `use`, and removes it afterwards.
 */
async function withPreload(source: string, use: (lib: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wakeloop-lookup-'));
  try {
    const lib = path.join(dir, source.replace(/\.\w+$/, '.so'));
    const compiler = source.endsWith('.cc') ? process.env.CXX || 'c++' : process.env.CC || 'cc';
    const built = spawnSync(compiler, ['-shared', '-fPIC', '-O2', '-o', lib, path.join(FIXTURES, source), '-ldl'], { encoding: 'utf8' });
    expect(built.error ?? built.stderr).toBeFalsy();
    await use(lib);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the lookup pool and slow resolvers', () => {
  it('cancelled lookups that hang in getaddrinfo do not hold back the next one; the queued ones never run', async () => {
    // A preloaded getaddrinfo makes "slow." names take 3 s. Before, the four running ones kept
    // the pool's four places until they returned, and localhost waited about 3 s behind them.
    await withPreload('slow_getaddrinfo.c', async (lib) => {
      const r = await runNode([path.join(FIXTURES, 'lookup_pool.mjs')], { env: { LD_PRELOAD: lib } });
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      const seen = JSON.parse(r.stdout);
      expect(seen.addresses).toContainEqual({ address: '127.0.0.1', family: 4 });
      expect(seen.ms).toBeLessThan(1500);
      // The four that were running when cancelled; the two still queued were dropped unrun.
      expect(r.stderr.trim().split('\n').sort()).toEqual([0, 1, 2, 3].map((i) => `resolving slow.${i}.example`));
    });
  });
});

describe('a lookup that runs out of memory', () => {
  it('finishes with EAI_MEMORY instead of ending the process', async () => {
    // A preloaded getaddrinfo throws std::bad_alloc for "oom." names, on the helper thread.
    // Uncaught there, it ended the whole process (std::terminate, SIGABRT).
    await withPreload('throwing_getaddrinfo.cc', async (lib) => {
      const child = `
        const b = require(${JSON.stringify(ADDON_PATH)});
        const blocker = new b.IoBlocker(new Int32Array(8));
        const take = (name) => {
          const request = b.lookupStart(name, blocker.registryId);
          let r;
          while ((r = b.lookupTake(request)) === undefined) blocker.block(5000);
          return r;
        };
        const oom = take('oom.example');
        const after = take('localhost');
        console.log(JSON.stringify({ oom, after: after.addresses }));
        blocker.close();
      `;
      const r = await runNode(['-e', child], { env: { LD_PRELOAD: lib } });
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      const seen = JSON.parse(r.stdout);
      expect(seen.oom).toEqual({ error: 'EAI_MEMORY', message: 'out of memory', addresses: [] });
      expect(seen.after).toContainEqual({ address: '127.0.0.1', family: 4 });
    });
  });
});

describe('lookups and worker threads', () => {
  it('lookupStart() in a worker that exits before the lookup finishes does not crash the process', async () => {
    const code = `
      const { workerData } = require('node:worker_threads');
      const b = require(workerData);
      const blocker = new b.IoBlocker(new Int32Array(2));
      for (let i = 0; i < 20; i++) b.lookupStart('localhost', blocker.registryId);
    `;
    for (let i = 0; i < 5; i++) {
      const w = new Worker(code, { eval: true, workerData: ADDON_PATH });
      const [exitCode] = await once(w, 'exit');
      expect(exitCode).toBe(0);
    }
    // The helper threads finish after their environment is gone; give them time to do so.
    sleepSync(200);
  });
});
