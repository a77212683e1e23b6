// Channels. Same-task rows send then receive at once, so every recv finds the channel non-empty:
// the recycled recv future and the rings are designed to allocate nothing there. Multi-task rows
// keep the receivers alive across iterations (spawned once in setup) and count per message sent:
// the sender sends a burst, yields, and the woken receivers drain it in the next turn.
import { broadcast, channel, unboundedChannel, type Executor, type Receiver, type Task } from '../../src/index.js';
import type { BroadcastReceiver } from '../../src/index.js';
import { Pass, Signal, type MicroBench } from './_micro.js';

const BURST = 64;

/** Counts deliveries left in this iteration; the receiver taking the last one wakes the sender. */
class Tally {
  left = 0;
  readonly done = new Signal();
  take(): void {
    if (--this.left === 0) this.done.notify();
  }
}

function* drain<T>(rx: BroadcastReceiver<T> | Receiver<T>, tally: Tally): Task<void> {
  for (;;) {
    yield* rx.recv();
    tally.take();
  }
}

function* broadcastSameTask(n: number): Task<void> {
  const tx = broadcast<number>(16);
  const rx = tx.subscribe();
  for (let i = 0; i < n; i++) {
    tx.send(i);
    yield* rx.recv();
  }
}

/** 1 sender task and `receivers` receiver tasks; one op is one message sent (and received by all). */
function broadcastTasks(ex: Executor, receivers: number): (n: number) => void {
  const tx = broadcast<number>(2 * BURST);
  const tally = new Tally();
  for (let r = 0; r < receivers; r++) ex.spawn(drain(tx.subscribe(), tally));
  const pass = new Pass();
  return (n) => {
    tally.left = n * receivers;
    ex.blockOn(
      (function* (): Task<void> {
        for (let sent = 0; sent < n; ) {
          for (let b = 0; b < BURST && sent < n; b++, sent++) tx.send(sent);
          yield* pass.again();
        }
        yield* tally.done.wait();
      })(),
    );
  };
}

function* mpscSameTaskBounded(n: number): Task<void> {
  const { sender, receiver } = channel<number>(64);
  for (let i = 0; i < n; i++) {
    yield* sender.send(i);
    yield* receiver.recv();
  }
}

function* mpscSameTaskUnbounded(n: number): Task<void> {
  const { sender, receiver } = unboundedChannel<number>();
  for (let i = 0; i < n; i++) {
    sender.send(i);
    yield* receiver.recv();
  }
}

/** A producer task sends `n` values into a bounded(64) channel; a consumer task receives them. */
function mpscTasks(ex: Executor): (n: number) => void {
  const { sender, receiver } = channel<number>(64);
  const tally = new Tally();
  ex.spawn(drain(receiver, tally));
  return (n) => {
    tally.left = n;
    ex.blockOn(
      (function* (): Task<void> {
        for (let i = 0; i < n; i++) yield* sender.send(i);
        yield* tally.done.wait();
      })(),
    );
  };
}

export const channelBenches: MicroBench[] = [
  {
    name: 'broadcast 1 rx: send + recv, 1 task',
    op: 'send one message, then yield* recv() it (non-empty channel)',
    ops: 10_000,
    zeroAlloc: true,
    setup: (ex) => (n) => ex.blockOn(broadcastSameTask(n)),
  },
  {
    name: 'broadcast 1 rx: bursts of 64, 2 tasks',
    op: 'one message sent and received by the receiver task',
    ops: 6_400,
    zeroAlloc: true,
    setup: (ex) => broadcastTasks(ex, 1),
  },
  {
    name: 'broadcast 100 rx: bursts of 64, 101 tasks',
    op: 'one message sent and received by each of 100 receiver tasks',
    ops: 640,
    zeroAlloc: true,
    setup: (ex) => broadcastTasks(ex, 100),
  },
  {
    name: 'mpsc unbounded: send + recv, 1 task',
    op: 'send() one value, then yield* recv() it (non-empty channel)',
    ops: 10_000,
    zeroAlloc: true,
    setup: (ex) => (n) => ex.blockOn(mpscSameTaskUnbounded(n)),
  },
  {
    name: 'mpsc bounded(64): send + recv, 1 task',
    op: 'yield* send() one value (a new Send future), then yield* recv() it',
    ops: 10_000,
    setup: (ex) => (n) => ex.blockOn(mpscSameTaskBounded(n)),
  },
  {
    name: 'mpsc bounded(64): 2 tasks',
    op: 'one value sent by a producer task, received by a consumer task',
    ops: 6_400,
    setup: (ex) => mpscTasks(ex),
  },
];
