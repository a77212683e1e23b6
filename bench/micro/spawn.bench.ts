// Spawning: a task cell, its GenFuture, a JoinHandle and the generator object per spawn, plus the
// executor turns that run the child and wake the parent. One at a time costs two turns per task;
// spawning a batch before joining shares the turns.
import { spawn, type JoinHandle, type Task } from '../../src/index.js';
import type { MicroBench } from './_micro.js';

function* empty(): Task<void> {}

function* oneAtATime(n: number): Task<void> {
  for (let i = 0; i < n; i++) yield* spawn(empty());
}

function* batched(n: number, batch: number): Task<void> {
  const handles: JoinHandle<void>[] = [];
  for (let done = 0; done < n; done += batch) {
    const size = Math.min(batch, n - done);
    for (let i = 0; i < size; i++) handles.push(spawn(empty()));
    for (let i = 0; i < size; i++) yield* handles[i]!;
    handles.length = 0;
  }
}

export const spawnBenches: MicroBench[] = [
  {
    name: 'spawn: spawn + join, one at a time',
    op: 'spawn an empty task and yield* its JoinHandle',
    ops: 1_000,
    setup: (ex) => (n) => ex.blockOn(oneAtATime(n)),
  },
  {
    name: 'spawn: spawn 100, then join them',
    op: 'one spawn + join of an empty task, 100 spawned before the joins',
    ops: 1_000,
    setup: (ex) => (n) => ex.blockOn(batched(n, 100)),
  },
];
