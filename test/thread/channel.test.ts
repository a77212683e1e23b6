import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../src/index.js';
import { ThreadChannel } from '../../src/thread/channel.js';
import { run } from '../util.js';

const distChannel = new URL('../../dist/src/thread/channel.js', import.meta.url).href;

/** A worker that sends `count` messages `{ from, i }` on the channel, then `{ from, done: true }`. */
function sender(form: unknown, from: string, count: number): Worker {
  return new Worker(
    `(async () => {
      const { workerData } = await import('node:worker_threads');
      const { ThreadChannel } = await import(${JSON.stringify(distChannel)});
      const ch = ThreadChannel.from(workerData.form);
      for (let i = 0; i < workerData.count; i++) ch.send({ from: workerData.from, i, pad: 'x'.repeat(i % 40) });
      ch.send({ from: workerData.from, done: true });
    })();`,
    { eval: true, workerData: { form, from, count } },
  );
}

type Msg = { from: string; i?: number; done?: boolean };

describe('ThreadChannel', () => {
  it('ThreadChannel carries messages from two worker threads to an executor, in per-sender order', async () => {
    // a small ring: senders block while it is full, and messages wrap around its end
    const ch = new ThreadChannel<Msg>({ capacity: 256 });
    const workers = [sender(ch.toCloneable(), 'a', 500), sender(ch.toCloneable(), 'b', 500)];
    const got = run((function* () {
      const next: Record<string, number> = { a: 0, b: 0 };
      let done = 0;
      while (done < 2) {
        const m = (yield* ch.recv())!;
        if (m.done) done++;
        else if (m.i !== next[m.from]++) throw new Error(`out of order: ${JSON.stringify(m)}`);
      }
      return next;
    })());
    expect(got).toEqual({ a: 500, b: 500 });
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  });

  it('ThreadChannel.recv() gives the queued messages, then undefined once closed', () => {
    const ch = new ThreadChannel<unknown>();
    ch.send({ n: 1 });
    ch.send(new RangeError('as data'));
    ch.close();
    expect(() => ch.send(2)).toThrow(ClosedError);
    const got = run((function* () {
      return [yield* ch.recv(), yield* ch.recv(), yield* ch.recv()];
    })());
    expect(got[0]).toEqual({ n: 1 });
    expect(got[1]).toBeInstanceOf(RangeError);
    expect(got[2]).toBeUndefined();
  });

  it('ThreadChannel.trySend() reports a full ring; send() refuses messages that can never fit', () => {
    const ch = new ThreadChannel<string>({ capacity: 64 });
    let sent = 0;
    while (ch.trySend('0123456789')) sent++;
    expect(sent).toBeGreaterThan(0);
    expect(ch.send('late', 5)).toBe(false); // still full after 5 ms
    expect(ch.tryRecv()).toEqual({ value: '0123456789' });
    expect(ch.trySend('0123456789')).toBe(true);
    expect(() => ch.send('x'.repeat(100))).toThrow(RangeError);
    expect(() => ch.send((() => 1) as never)).toThrow(/could not be cloned/);
  });

  it('ThreadChannel.from() rebuilds the same channel from its cloneable form', () => {
    const ch = new ThreadChannel<number>();
    const other = ThreadChannel.from<number>(structuredClone(ch.toCloneable()));
    other.send(7);
    expect(ch.tryRecv()).toEqual({ value: 7 });
    other.close();
    expect(ch.closed).toBe(true);
  });
});
