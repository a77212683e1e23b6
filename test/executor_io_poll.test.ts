// When the executor asks the kernel for events: not on every turn while tasks keep each other
// busy, but never so rarely that I/O or timers wait on them.
import { describe, expect, it } from 'vitest';
import { Executor, PENDING, attach, channel, pollFn, sleep, spawn, timeout, toPromise, yieldNow, type Future, type Task } from '../src/index.js';
import { BACKEND, noLeak, pair } from './util.js';

/** Runs `main` on a fresh executor and counts its calls into the kernel (reactor.block). */
function countingBlocks<T>(main: Task<T>): { value: T; blocks: number } {
  const executor = new Executor({ backend: BACKEND });
  const reactor = executor.reactor;
  const block = reactor.block.bind(reactor);
  let blocks = 0;
  reactor.block = (timeoutMs: number) => {
    blocks++;
    return block(timeoutMs);
  };
  try {
    return { value: executor.blockOn(timeout(10_000, main)), blocks };
  } finally {
    executor.close();
  }
}

/** Sends 0..999 through a channel of capacity 1 to another task; returns the sum received. */
function* thousandMessages(): Task<number> {
  const { sender, receiver } = channel<number>(1);
  const summing = spawn((function* () {
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += yield* receiver.recv();
    return sum;
  })());
  for (let i = 0; i < 1000; i++) yield* sender.send(i);
  return yield* summing;
}

/** Pending once, waking its task at once, then ready: a turn passed without spending budget. */
function passTurn(): Future<void> {
  let passed = false;
  return pollFn<void>((cx) => {
    if (passed) return undefined;
    passed = true;
    cx.waker.wake();
    return PENDING;
  });
}

/** A task that passes the turn forever: always ready, never doing I/O. */
function* spinner(): Task<void> {
  for (;;) yield* passTurn();
}

describe('Executor: polling for I/O', () => {
  it('1,000 turns of tasks waking each other make far fewer than 1,000 epoll_waits, but some', () => {
    const { value, blocks } = countingBlocks(thousandMessages());
    expect(value).toBe(499_500);
    expect(blocks).toBeLessThan(100);
    expect(blocks).toBeGreaterThan(3); // each budget of work still ends with a look at the kernel
  });

  it('yieldNow() lets the kernel be asked before its task runs again', () => {
    const { blocks } = countingBlocks((function* () {
      for (let i = 0; i < 100; i++) yield* yieldNow();
    })());
    expect(blocks).toBeGreaterThanOrEqual(100);
  });

  it('a socket is served and a timer fires while two tasks spin forever', () => {
    noLeak(() => {
      const { value } = countingBlocks((function* () {
        const spinners = [spawn(spinner()), spawn(spinner())];
        try {
          const [a, b] = yield* pair();
          try {
            yield* a.writeAll(new TextEncoder().encode('ping'));
            const got = new TextDecoder().decode((yield* b.read()).slice());
            const started = performance.now();
            yield* sleep(20);
            return { got, slept: performance.now() - started };
          } finally {
            a.close();
            b.close();
          }
        } finally {
          for (const s of spinners) s.cancel();
        }
      })());
      expect(value.got).toBe('ping');
      expect(value.slept).toBeGreaterThanOrEqual(20);
    });
  });

  it.skipIf(BACKEND === 'poll')('attached: 1,000 messages between two tasks take far fewer than 1,000 turns from Node', async () => {
    const executor = new Executor({ backend: 'epoll' });
    const attachment = attach(executor);
    const turnAttached = executor._turnAttached.bind(executor);
    let turns = 0;
    executor._turnAttached = () => {
      turns++;
      turnAttached();
    };
    try {
      expect(await toPromise(thousandMessages(), executor)).toBe(499_500);
    } finally {
      attachment.detach();
      executor.close();
    }
    expect(turns).toBeLessThan(100);
    expect(turns).toBeGreaterThan(3); // one budget of work per turn, then Node's loop goes on
  });
});
