// Bytes allocated per operation, on the V8 heap. V8 cannot turn its GC off, and
// process.memoryUsage().heapUsed deltas undercount as soon as a scavenge runs inside the batch (it
// frees what the batch made). Node 20 has no v8.getHeapStatistics().total_allocated_bytes, so:
// used_heap_size after - before, plus what every GC during the batch freed (v8.GCProfiler reports
// each GC's used heap before and after). Two batches, of n and 2n operations, and the difference
// divided by n cancels the fixed cost of a batch (blockOn, the task, the profiler); the median of
// three such differences drops a stray JIT or GC bookkeeping allocation.
import v8 from 'node:v8';
import type { MicroRun } from './_micro.js';

/** One allocation measurement of a benchmark. */
export interface AllocResult {
  /** The median of `samples`: bytes per operation. */
  bytesPerOp: number;
  /** Each repeat's (bytes(2n) - bytes(n)) / n. */
  samples: number[];
  /** bytes(2n) / 2n of the last repeat, fixed costs included. */
  rawBytesPerOp: number;
  /** GCs that ran during the batches (their freed bytes are added back). */
  gcs: number;
  /** Operations in the smaller batch. */
  n: number;
}

/** How the figures are made, for the JSON and the README. */
export const ALLOC_METHOD =
  'V8 heap: used_heap_size growth + bytes freed by each GC during the batch (v8.GCProfiler); ' +
  'one gc() and 3 warm-up batches first; median of 3 x (bytes(2n) - bytes(n)) / n, n = 20 iterations';

/** Heap bytes allocated while `body` runs, and how many GCs ran meanwhile. */
export function allocatedBytes(body: () => void): { bytes: number; gcs: number } {
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = v8.getHeapStatistics().used_heap_size;
  body();
  const after = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let freed = 0;
  for (const g of statistics) freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  return { bytes: after - before + freed, gcs: statistics.length };
}

/**
 * Allocation per operation of `run` (run it hot first), in batches of `n` and `2n`. One gc() at the
 * start, then warm-up batches: a full GC deoptimizes code that embeds objects it frees, and code
 * running below full optimization allocates more (boxed numbers), so no gc() between batches.
 */
export function bytesPerOp(run: MicroRun, n: number, repeats = 3): AllocResult {
  globalThis.gc?.();
  for (let i = 0; i < 3; i++) run(n);
  const samples: number[] = [];
  let gcs = 0;
  let raw = 0;
  for (let r = 0; r < repeats; r++) {
    const one = allocatedBytes(() => run(n));
    const two = allocatedBytes(() => run(2 * n));
    samples.push((two.bytes - one.bytes) / n);
    raw = two.bytes / (2 * n);
    gcs += one.gcs + two.gcs;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { bytesPerOp: sorted[sorted.length >> 1]!, samples, rawBytesPerOp: raw, gcs, n };
}

/** Keeps calibration objects reachable so the compiler cannot drop their allocation. */
export let calibrationSink: unknown = null;

/** A known cost to check the method: one `{ x }` literal per operation (32 bytes on 64-bit V8 without pointer compression). */
export const calibrationRun: MicroRun = (n) => {
  for (let i = 0; i < n; i++) calibrationSink = { x: i };
};
