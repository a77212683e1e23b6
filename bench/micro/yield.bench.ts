// The await path: `yield*` of a future that is ready at once, as a task body does for every
// operation that does not have to wait. Future.next() hands out shared iterator results, so a
// re-armed future is awaited with no allocation; ready() and a nested generator show the cost of
// a new future or a new generator per await.
import { ready, type Future, type Task } from '../../src/index.js';
import { Again, type MicroBench } from './_micro.js';

function* awaitAgain(n: number, f: Again<number>): Task<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += yield* f.again();
  return sum;
}

function* awaitReady(n: number): Task<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += yield* ready(i);
  return sum;
}

function* child(f: Future<number>): Task<number> {
  return yield* f;
}

function* awaitChild(n: number, f: Again<number>): Task<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += yield* child(f.again());
  return sum;
}

export const yieldBenches: MicroBench[] = [
  {
    name: 'yield*: ready future, reused',
    op: 'one yield* of a future that is ready at its first poll',
    ops: 10_000,
    zeroAlloc: true,
    setup: (ex) => {
      const f = new Again(1);
      return (n) => void ex.blockOn(awaitAgain(n, f));
    },
  },
  {
    name: 'yield*: ready(v), new each time',
    op: 'one yield* ready(i) (a new PollFn and closure per await)',
    ops: 10_000,
    setup: (ex) => (n) => void ex.blockOn(awaitReady(n)),
  },
  {
    name: 'yield*: sub-generator awaiting it',
    op: 'one yield* child() whose body awaits a reused ready future',
    ops: 10_000,
    setup: (ex) => {
      const f = new Again(1);
      return (n) => void ex.blockOn(awaitChild(n, f));
    },
  },
];
