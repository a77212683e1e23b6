import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ClosedError,
  LaggedError,
  RecvClosedError,
  TimeoutError,
  broadcast,
  select,
  sleep,
  spawn,
  timeout,
  yieldNow,
  type BroadcastReceiver,
  type Task,
} from '../../src/index.js';
import { catching, run } from '../util.js';

/**
 * Reads until RecvClosedError; returns the values and the Lagged counts in arrival order. With
 * `pace`, gives the other tasks that many turns before each read (a slow reader).
 */
function* drain<T>(rx: BroadcastReceiver<T>, pace = 0): Task<Array<T | { lagged: number }>> {
  const out: Array<T | { lagged: number }> = [];
  for (;;) {
    for (let k = 0; k < pace; k++) yield* yieldNow();
    try {
      out.push(yield* rx.recv());
    } catch (e) {
      if (e instanceof LaggedError) out.push({ lagged: e.missed });
      else if (e instanceof RecvClosedError) return out;
      else throw e;
    }
  }
}

describe('broadcast', () => {
  it('broadcast() rejects a capacity that is not a positive integer', () => {
    expect(() => broadcast(0)).toThrow(RangeError);
    expect(() => broadcast(-3)).toThrow(/capacity must be between 1 and/);
    expect(() => broadcast(1.5)).toThrow(TypeError);
    expect(() => broadcast(Number.NaN)).toThrow(TypeError);
    expect(() => broadcast('8' as never)).toThrow(/capacity must be an integer, got string 8/);
    expect(() => broadcast(undefined as never)).toThrow(TypeError);
  });

  it('BroadcastSender.send() returns the receiver count and stores nothing without receivers', () => {
    const tx = broadcast<number>(4);
    expect(tx.send(1)).toBe(0);
    expect(tx.len).toBe(0);
    const a = tx.subscribe();
    tx.subscribe();
    expect(tx.send(2)).toBe(2);
    a.close();
    expect(tx.receiverCount).toBe(1);
    expect(tx.send(3)).toBe(1);
  });

  it('BroadcastReceiver.recv() sees only messages sent after subscribe(), in order, shared not copied', () => {
    const tx = broadcast<{ n: number }>(8);
    const early = tx.subscribe();
    const first = { n: 1 };
    tx.send(first);
    const late = tx.subscribe();
    tx.send({ n: 2 });
    tx.close();
    const [e, l] = run((function* () {
      return [yield* drain(early), yield* drain(late)];
    })());
    expect(e).toEqual([{ n: 1 }, { n: 2 }]);
    expect(e[0]).toBe(first); // the very object that was sent
    expect(l).toEqual([{ n: 2 }]);
    expect(l[0]).toBe(e[1]);
  });

  it('BroadcastSender.send() wakes every waiting receiver with one shared message', () => {
    const tx = broadcast<object>(1000);
    const msg = { text: 'hi' };
    const got = run((function* () {
      const handles = [];
      for (let i = 0; i < 150; i++) {
        const rx = tx.subscribe();
        handles.push(spawn(rx.recv()));
      }
      yield* yieldNow(); // all 150 are waiting
      expect(tx.send(msg)).toBe(150);
      const values = [];
      for (const h of handles) values.push(yield* h);
      return values;
    })());
    expect(got).toHaveLength(150);
    expect(got.every((v) => v === msg)).toBe(true);
  });

  it('BroadcastReceiver.recv() throws one LaggedError at the gap, then the rest in order', () => {
    const tx = broadcast<number>(4);
    const rx = tx.subscribe();
    for (let i = 0; i < 10; i++) {
      tx.send(i);
      expect(tx.len).toBeLessThanOrEqual(4);
    }
    expect(rx.len).toBe(10);
    tx.close();
    const [err, rest] = run((function* () {
      return [yield* catching(rx.recv()), yield* drain(rx)] as const;
    })());
    expect(err).toBeInstanceOf(LaggedError);
    expect(err).toMatchObject({ missed: 6, code: 'ERR_LAGGED', message: expect.stringMatching(/missed 6 messages/) });
    expect(rest).toEqual([6, 7, 8, 9]);
    expect(tx.len).toBe(0); // every value read: nothing pinned
  });

  it('a slow receiver gets received + missed = sent while a fast one gets all, and the ring never exceeds capacity', () => {
    const capacity = 16;
    const sent = 1000;
    const tx = broadcast<number>(capacity);
    const fast = tx.subscribe();
    const slow = tx.subscribe();
    const [fastOut, slowOut, maxHeld] = run((function* () {
      const f = spawn(drain(fast));
      const s = spawn(drain(slow, 37)); // reads far more slowly than messages come
      let held = 0;
      for (let i = 0; i < sent; i++) {
        tx.send(i);
        held = Math.max(held, tx.len);
        yield* yieldNow();
      }
      tx.close();
      return [yield* f, yield* s, held] as const;
    })(), 30_000);
    expect(fastOut).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(maxHeld).toBeLessThanOrEqual(capacity);
    const values = slowOut.filter((v): v is number => typeof v === 'number');
    const missed = slowOut.filter((v): v is { lagged: number } => typeof v !== 'number');
    expect(missed.length).toBeGreaterThan(0);
    expect(values.length + missed.reduce((n, m) => n + m.lagged, 0)).toBe(sent);
    // Each Lagged sits exactly at its gap: the next value is the previous one + 1 + missed.
    let expectNext = 0;
    for (const item of slowOut) {
      if (typeof item === 'number') expect(item).toBe(expectNext++);
      else expectNext += item.lagged;
    }
    expect(tx.len).toBe(0);
  });

  it('BroadcastReceiver.recv() throws RecvClosedError after every sender closed and all was read', () => {
    const tx = broadcast<string>(8);
    const tx2 = tx.clone();
    const rx = tx.subscribe();
    const out = run((function* () {
      const reader = spawn(drain(rx));
      yield* yieldNow();
      tx.send('a');
      tx.close();
      tx2.send('b');
      yield* yieldNow();
      tx2.close(); // the last sender: wakes the waiting reader
      return yield* reader;
    })());
    expect(out).toEqual(['a', 'b']);
    const e = new RecvClosedError();
    expect(e.code).toBe('ERR_RECV_CLOSED');
    expect(e).not.toBeInstanceOf(ClosedError);
  });

  it('BroadcastReceiver.tryRecv() returns value, empty, lagged and closed results', () => {
    const tx = broadcast<number>(2);
    const rx = tx.subscribe();
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    tx.send(1);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
    for (let i = 2; i <= 5; i++) tx.send(i);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'lagged', missed: 2 });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 4 });
    tx.close();
    expect(rx.tryRecv()).toEqual({ ok: true, value: 5 });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('BroadcastReceiver.close() unsubscribes and releases what it had not read', () => {
    const tx = broadcast<string>(8);
    const reader = tx.subscribe();
    const idle = tx.subscribe();
    tx.send('x');
    tx.send('y');
    expect(reader.tryRecv()).toEqual({ ok: true, value: 'x' });
    expect(reader.tryRecv()).toEqual({ ok: true, value: 'y' });
    expect(tx.len).toBe(2); // still held for `idle`
    idle.close();
    idle.close(); // idempotent
    expect(tx.len).toBe(0);
    expect(tx.receiverCount).toBe(1);
    expect(() => idle.recv()).toThrow(ClosedError);
    expect(() => idle.tryRecv()).toThrow(/broadcast Receiver is closed/);
  });

  it('BroadcastReceiver.close() makes a recv of it that is waiting fail with ClosedError', () => {
    const tx = broadcast<string>(8);
    const rx = tx.subscribe();
    const err = run((function* () {
      const h = spawn(catching(rx.recv()));
      yield* yieldNow();
      rx.close();
      return yield* h;
    })());
    expect(err).toBeInstanceOf(ClosedError);
  });

  it("BroadcastReceiver.close() wakes each of its waiting recvs (two at once too) and no other receiver's", () => {
    const tx = broadcast<string>(8);
    const rx = tx.subscribe();
    const other = tx.subscribe();
    const [a, b, c] = run((function* () {
      const first = spawn(catching(rx.recv()));
      const second = spawn(catching(rx.recv())); // a second recv at once gets a future of its own
      const bystander = spawn(other.recv());
      yield* yieldNow();
      rx.close();
      yield* yieldNow();
      expect(bystander.finished).toBe(false);
      tx.send('still here');
      return [yield* first, yield* second, yield* bystander];
    })());
    expect(a).toBeInstanceOf(ClosedError);
    expect(b).toBeInstanceOf(ClosedError);
    expect(c).toBe('still here');
  });

  it('BroadcastSender methods throw ClosedError after close()', () => {
    const tx = broadcast<number>(1);
    tx.close();
    tx.close(); // idempotent
    expect(() => tx.send(1)).toThrow(ClosedError);
    expect(() => tx.subscribe()).toThrow(/this broadcast Sender is closed/);
    expect(() => tx.clone()).toThrow(ClosedError);
  });

  it('BroadcastReceiver.recv() cancelled by JoinHandle.cancel() loses nothing', () => {
    const tx = broadcast<number>(8);
    const rx = tx.subscribe();
    const got = run((function* () {
      const h = spawn(rx.recv());
      yield* yieldNow();
      h.cancel();
      expect(yield* catching(h)).toBeInstanceOf(CancelledError);
      tx.send(1);
      tx.send(2);
      return [yield* rx.recv(), yield* rx.recv()];
    })());
    expect(got).toEqual([1, 2]);
  });

  it('BroadcastReceiver.recv() dropped by timeout() or a lost select loses nothing and duplicates nothing', () => {
    const tx = broadcast<number>(8);
    const rx = tx.subscribe();
    const got = run((function* () {
      expect(yield* catching(timeout(5, rx.recv()))).toBeInstanceOf(TimeoutError);
      expect((yield* select(rx.recv(), sleep(5))).index).toBe(1);
      const later = spawn(drain(rx));
      tx.send(1);
      tx.send(2);
      tx.close();
      return yield* later;
    })());
    expect(got).toEqual([1, 2]);
  });

  it('BroadcastReceiver.recv() on a busy channel spends the cooperative budget so other tasks still run', () => {
    const tx = broadcast<number>(20_000);
    const rx = tx.subscribe();
    for (let i = 0; i < 10_000; i++) tx.send(i);
    tx.close();
    const [seenAt, total] = run((function* () {
      let received = 0;
      const reader = spawn((function* () { received = (yield* drain(rx)).length; })());
      const other = spawn((function* () { return received; })());
      const at = yield* other;
      yield* reader;
      return [at, received];
    })());
    expect(total).toBe(10_000);
    expect(seenAt).toBe(0); // the reader had not finished when the other task ran
  });

  it('BroadcastReceiver.recv() recycles its future, so receiving does not allocate one per message', () => {
    const tx = broadcast<number>(8);
    const rx = tx.subscribe();
    run((function* () {
      tx.send(1);
      tx.send(2);
      const first = rx.recv();
      expect(yield* first).toBe(1);
      const second = rx.recv();
      expect(second).toBe(first);
      expect(yield* second).toBe(2);
    })());
  });

  it('BroadcastReceiver.recv() called twice at once gives each caller its own message', () => {
    const tx = broadcast<string>(8);
    const rx = tx.subscribe();
    const got = run((function* () {
      const a = spawn(rx.recv());
      const b = spawn(rx.recv());
      yield* yieldNow();
      tx.send('one');
      tx.send('two');
      return [yield* a, yield* b].sort();
    })());
    expect(got).toEqual(['one', 'two']);
  });
});
