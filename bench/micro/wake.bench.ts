// Waking: a wake() plus the poll it causes. The executor runs only the tasks queued when a turn
// starts, and every turn calls the blocker with timeout 0 (one epoll_wait / poll syscall), so
// every wake-and-poll round here includes one executor turn.
import { yieldNow, type Task } from '../../src/index.js';
import { CurrentWaker, Pass, Signal, type MicroBench } from './_micro.js';

function* yieldLoop(n: number, pass: Pass): Task<void> {
  for (let i = 0; i < n; i++) yield* pass.again();
}

function* yieldNowLoop(n: number): Task<void> {
  for (let i = 0; i < n; i++) yield* yieldNow();
}

/** Waits for `mine` and sets `theirs`, `rounds` times; the other task does the mirror image. */
function* ping(rounds: number, mine: Signal, theirs: Signal, first: boolean): Task<void> {
  for (let i = 0; i < rounds; i++) {
    if (first) theirs.notify();
    yield* mine.wait();
    if (!first) theirs.notify();
  }
}

function* wakeQueued(n: number): Task<void> {
  const waker = yield* new CurrentWaker();
  for (let i = 0; i < n; i++) waker.wake(); // the first queues the task, the rest find it queued
}

export const wakeBenches: MicroBench[] = [
  {
    name: 'wake: self-wake + poll (reused)',
    op: 'one wake of the own task, one executor turn, one poll',
    ops: 1_000,
    zeroAlloc: true,
    setup: (ex) => {
      const pass = new Pass();
      return (n) => ex.blockOn(yieldLoop(n, pass));
    },
  },
  {
    name: 'wake: yieldNow()',
    op: 'one yield* yieldNow() (a new PollFn and closure each)',
    ops: 1_000,
    setup: (ex) => (n) => ex.blockOn(yieldNowLoop(n)),
  },
  {
    name: 'wake: ping-pong, 2 tasks',
    op: 'one task wakes the other, which is polled next turn (2 per round trip)',
    ops: 1_000,
    zeroAlloc: true,
    setup: (ex) => {
      const a = new Signal();
      const b = new Signal();
      return (n) => {
        const rounds = Math.max(1, n >> 1);
        ex.blockOn(
          (function* (): Task<void> {
            const other = ex.spawn(ping(rounds, b, a, false));
            yield* ping(rounds, a, b, true);
            yield* other;
          })(),
        );
      };
    },
  },
  {
    name: 'wake: wake() of a queued task',
    op: 'one waker.wake() while the task is already queued (a no-op)',
    ops: 100_000,
    zeroAlloc: true,
    setup: (ex) => (n) => ex.blockOn(wakeQueued(n)),
  },
];
