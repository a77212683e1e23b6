// Smoke test of the micro-benchmarks (bench/micro/): every benchmark function runs a tiny batch on
// a fresh executor, twice (state kept across iterations must stay consistent), and the allocation
// meter reads a known cost. tinybench itself is not run here: `npm run bench:micro` does that.
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/index.js';
import { allocatedBytes, bytesPerOp, calibrationRun } from '../../bench/micro/_alloc.js';
import { microBenches } from '../../bench/micro/all.js';
import { BACKEND } from '../util.js';

describe('micro-benchmarks', () => {
  it('microBenches have unique names and positive operation counts', () => {
    expect(new Set(microBenches.map((b) => b.name)).size).toBe(microBenches.length);
    for (const b of microBenches) expect(b.ops).toBeGreaterThan(0);
  });

  for (const b of microBenches) {
    it(`${b.name}: setup() and two tiny iterations run`, () => {
      const executor = new Executor({ backend: BACKEND });
      try {
        const run = b.setup(executor);
        run(4);
        run(3);
      } finally {
        executor.close();
      }
    });
  }

  it('bytesPerOp() and allocatedBytes() measure one { x } literal per operation at about 32 bytes', () => {
    for (let i = 0; i < 10; i++) calibrationRun(100_000);
    const r = bytesPerOp(calibrationRun, 100_000);
    expect(r.bytesPerOp).toBeGreaterThan(24);
    expect(r.bytesPerOp).toBeLessThan(48);
    // 32 MB outgrows the young generation: the bytes each scavenge freed must be added back.
    const big = allocatedBytes(() => calibrationRun(1_000_000));
    expect(big.gcs).toBeGreaterThan(0);
    expect(big.bytes / 1_000_000).toBeGreaterThan(24);
    expect(big.bytes / 1_000_000).toBeLessThan(48);
    expect(allocatedBytes(() => {}).bytes).toBeLessThan(4096);
  });
});
