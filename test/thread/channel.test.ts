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
  });

  it('ThreadChannel.send() refuses a message that cannot be cloned with a TypeError, and the channel works on', () => {
    const ch = new ThreadChannel<unknown>({ capacity: 64 });
    expect(() => ch.send(() => 1, 100)).toThrow(
      new TypeError('ThreadChannel.send(): the message could not be cloned to another thread (() => 1 could not be cloned.)'),
    );
    expect(() => ch.trySend({ f: () => 1 })).toThrow(/^ThreadChannel\.trySend\(\): the message could not be cloned/);
    const error = (() => {
      try {
        ch.send(new SharedArrayBuffer(4));
      } catch (e) {
        return e as Error;
      }
    })();
    expect((error?.cause as Error).message).toBe('#<SharedArrayBuffer> could not be cloned.');
    // Nothing was queued or left locked: a send that needs the lock goes through at once.
    expect(ch.tryRecv()).toBeUndefined();
    expect(ch.send('after', 100)).toBe(true);
    expect(ch.trySend('again')).toBe(true);
    expect([ch.tryRecv(), ch.tryRecv(), ch.tryRecv()]).toEqual([{ value: 'after' }, { value: 'again' }, undefined]);
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

describe('ThreadChannel bad input', () => {
  it('new ThreadChannel() names options and capacity when they are wrong', () => {
    expect(() => new ThreadChannel(null as never)).toThrow(new TypeError('new ThreadChannel(): options must be an object, got null'));
    expect(() => new ThreadChannel('big' as never)).toThrow(/options must be an object, got string big/);
    expect(() => new ThreadChannel([] as never)).toThrow(/options must be an object, got an object \(Array\)/);
    expect(() => new ThreadChannel({ capacity: '4096' as never })).toThrow(
      new TypeError('new ThreadChannel(): options.capacity must be an integer, got string 4096'),
    );
    expect(() => new ThreadChannel({ capacity: null as never })).toThrow(/options.capacity must be an integer, got null/);
    expect(() => new ThreadChannel({ capacity: 100.5 })).toThrow(TypeError);
    expect(() => new ThreadChannel({ capacity: 15 })).toThrow(RangeError);
    expect(() => new ThreadChannel({ capacity: 2 ** 30 + 1 })).toThrow(RangeError);
    expect(new ThreadChannel({ capacity: 16 }).trySend(1)).toBe(true);
    expect(new ThreadChannel({}).trySend(1)).toBe(true);
  });

  it('ThreadChannel.from() refuses undefined and anything toCloneable() did not make', () => {
    const form = new ThreadChannel({ capacity: 64 }).toCloneable();
    expect(() => ThreadChannel.from(undefined as never)).toThrow(
      new TypeError("ThreadChannel.from: expected the object made by toCloneable() (kind 'wakeloop.ThreadChannel'), got undefined"),
    );
    expect(() => ThreadChannel.from({ ...form, signal: undefined as never })).toThrow(/form.signal: .* got undefined$/);
    expect(() => ThreadChannel.from({ ...form, kind: 'x' as never })).toThrow(/got kind string x/);
    // The header (with its magic number) copied into buffers too short to hold a ring.
    for (const bytes of [24, 32, 47]) {
      const sab = new SharedArrayBuffer(bytes);
      new Uint8Array(sab).set(new Uint8Array(form.sab, 0, 24));
      expect(() => ThreadChannel.from({ ...form, sab })).toThrow(new RegExp(`a ring of 16 to 2\\^30 bytes, got ${bytes} bytes`));
    }
  });

  it('ThreadChannel.send() refuses undefined: recv() would take it for the end of the channel', () => {
    const ch = new ThreadChannel<unknown>({ capacity: 64 });
    expect(() => ch.send(undefined)).toThrow(/ThreadChannel.send\(\): message must not be undefined/);
    expect(() => ch.trySend(undefined)).toThrow(/ThreadChannel.trySend\(\): message must not be undefined/);
    expect(ch.tryRecv()).toBeUndefined(); // nothing was queued
    expect(ch.send(null)).toBe(true);
    expect(ch.tryRecv()).toEqual({ value: null });
  });

  it('ThreadChannel.send() checks timeoutMs like Parker.parkTimeout()', () => {
    const ch = new ThreadChannel<string>({ capacity: 64 });
    for (const bad of [Number.NaN, '100', null, {}]) {
      expect(() => ch.send('m', bad as never)).toThrow(TypeError);
    }
    expect(() => ch.send('m', Number.NaN)).toThrow('ThreadChannel.send(): timeoutMs must be a number of milliseconds, got number NaN');
    expect(() => ch.send('m', -1)).toThrow(RangeError);
    expect(ch.tryRecv()).toBeUndefined(); // none of them queued anything
    expect(ch.send('m', 0)).toBe(true);
    expect(ch.send('m', Infinity)).toBe(true);
  });
});
