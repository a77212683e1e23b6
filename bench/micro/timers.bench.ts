// Timers: a sleep whose deadline has passed completes at its first poll and never touches the
// heap; a sleep that has to wait inserts a TimerEntry into the executor's binary heap, and
// dropping it removes it (O(log n)). The insert + remove rows poll a Sleep by hand inside a task,
// once against an empty heap and once against 10,000 pending timers far in the future.
import { Sleep, sleep, sleepUntil, type Context, type Executor, type Task, type Waker } from '../../src/index.js';
import { CurrentWaker, type MicroBench } from './_micro.js';

/** Deadline offsets (ms) from a fixed PRNG, so inserts land at varied depths of the heap. */
const OFFSETS = (() => {
  const a = new Float64Array(4096);
  let x = 0x2545f491;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = ((x >>> 0) / 2 ** 32) * 1e7;
  }
  return a;
})();

/** Far enough ahead (about 3 hours) that nothing fires while the bench runs. */
const FAR_MS = 1e7;

function* sleepZero(n: number): Task<void> {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

function* sleepPast(n: number, past: number): Task<void> {
  for (let i = 0; i < n; i++) yield* sleepUntil(past);
}

function* insertRemove(n: number, base: number): Task<void> {
  const cx: Context = { waker: yield* new CurrentWaker() };
  for (let i = 0; i < n; i++) {
    const s = new Sleep(base + OFFSETS[i & 4095]!);
    s.poll(cx); // pending: inserts its timer
    s.drop(); // removes it
  }
}

/** Leaves `count` timers pending in the executor's heap, with wakers that do nothing. */
function fillHeap(ex: Executor, count: number, base: number): void {
  const noop: Waker = { wake() {} };
  const cx: Context = { waker: noop };
  ex.blockOn(
    (function* (): Task<void> {
      yield* new CurrentWaker(); // Sleep.poll needs a running executor
      for (let i = 0; i < count; i++) new Sleep(base + OFFSETS[(i * 7) & 4095]! + i * 1e-3).poll(cx);
    })(),
  );
  if (ex.timers.size !== count) throw new Error(`expected ${count} pending timers, found ${ex.timers.size}`);
}

export const timerBenches: MicroBench[] = [
  {
    name: 'timers: yield* sleep(0)',
    op: 'one sleep(0), ready at its first poll (no heap)',
    ops: 10_000,
    setup: (ex) => (n) => ex.blockOn(sleepZero(n)),
  },
  {
    name: 'timers: yield* sleepUntil(past)',
    op: 'one sleepUntil(a past time), ready at its first poll (no heap)',
    ops: 10_000,
    setup: (ex) => (n) => ex.blockOn(sleepPast(n, performance.now())),
  },
  {
    name: 'timers: insert + remove, empty heap',
    op: 'a new Sleep polled pending (heap insert) then dropped (heap remove)',
    ops: 10_000,
    setup: (ex) => (n) => ex.blockOn(insertRemove(n, performance.now() + FAR_MS)),
  },
  {
    name: 'timers: insert + remove, 10k pending',
    op: 'the same with 10,000 other timers pending in the heap',
    ops: 10_000,
    setup: (ex) => {
      const base = performance.now() + FAR_MS;
      fillHeap(ex, 10_000, base);
      return (n) => ex.blockOn(insertRemove(n, base));
    },
  },
];
