// Mutex: lock() makes a Lock future and a MutexGuard per acquisition. Contention needs a guard held
// across a suspension (one thread): each task locks, yields with the guard held, and releases,
// which hands the lock straight to the other task's waiting lock().
import { Mutex, type Task } from '../../src/index.js';
import { Pass, type MicroBench } from './_micro.js';

function* lockRelease(n: number, m: Mutex<number>): Task<void> {
  for (let i = 0; i < n; i++) {
    const guard = yield* m.lock();
    guard.value++;
    guard.release();
  }
}

function* tryLockRelease(n: number, m: Mutex<number>): Task<void> {
  for (let i = 0; i < n; i++) {
    const guard = m.tryLock()!;
    guard.value++;
    guard.release();
  }
}

function* holdAcrossYield(n: number, m: Mutex<number>, pass: Pass): Task<void> {
  for (let i = 0; i < n; i++) {
    const guard = yield* m.lock();
    yield* pass.again();
    guard.value++;
    guard.release();
  }
}

export const mutexBenches: MicroBench[] = [
  {
    name: 'mutex: lock + release, uncontended',
    op: 'yield* lock() of a free mutex, then release()',
    ops: 10_000,
    setup: (ex) => {
      const m = new Mutex(0);
      return (n) => ex.blockOn(lockRelease(n, m));
    },
  },
  {
    name: 'mutex: tryLock + release',
    op: 'tryLock() of a free mutex, then release()',
    ops: 10_000,
    setup: (ex) => {
      const m = new Mutex(0);
      return (n) => ex.blockOn(tryLockRelease(n, m));
    },
  },
  {
    name: 'mutex: contended, 2 tasks',
    op: 'one lock + release, the guard held across a yield while the other task waits',
    ops: 1_000,
    setup: (ex) => {
      const m = new Mutex(0);
      const passes = [new Pass(), new Pass()] as const;
      return (n) => {
        const each = Math.max(1, n >> 1);
        ex.blockOn(
          (function* (): Task<void> {
            const other = ex.spawn(holdAcrossYield(each, m, passes[1]));
            yield* holdAcrossYield(each, m, passes[0]);
            yield* other;
          })(),
        );
      };
    },
  },
];
