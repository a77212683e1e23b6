// AwaitWakers: one waker per pending await of a shared future, woken in the order the awaits came.
import { describe, expect, it } from 'vitest';
import { AwaitWakers } from '../src/_shared_future.js';

/** A waker that logs its name when woken. */
const named = (log: string[], name: string) => ({ wake: () => log.push(name) });

describe('AwaitWakers', () => {
  it('keeps one waker per await, the latest, and wakes them in the order the awaits came', () => {
    const log: string[] = [];
    const wakers = new AwaitWakers();
    const [a, b, c, d] = [{}, {}, {}, {}];
    wakers.set(a, named(log, 'a1'));
    wakers.set(b, named(log, 'b'));
    wakers.set(a, named(log, 'a2')); // a's poll again: replaces its waker, keeps its place
    wakers.set(c, named(log, 'c'));
    expect(wakers.size).toBe(3);
    expect(wakers.delete(a)).toBe(true);
    expect(wakers.delete(a)).toBe(false);
    wakers.set(d, named(log, 'd')); // after b and c, though the first slot is free again
    wakers.wakeAll();
    expect(log).toEqual(['b', 'c', 'd']);
    expect(wakers.size).toBe(0);
    wakers.wakeAll();
    expect(log).toEqual(['b', 'c', 'd']);
  });

  it('a lone await is woken once, and forgotten after the wake', () => {
    const log: string[] = [];
    const wakers = new AwaitWakers();
    const key = {};
    wakers.set(key, named(log, 'x'));
    expect(wakers.size).toBe(1);
    wakers.wakeAll();
    wakers.wakeAll();
    expect(log).toEqual(['x']);
    expect(wakers.delete(key)).toBe(false);
  });
});
