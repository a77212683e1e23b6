import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ClosedError,
  RecvClosedError,
  TimeoutError,
  channel,
  select,
  sleep,
  spawn,
  timeout,
  unboundedChannel,
  yieldNow,
  type Receiver,
  type Task,
} from '../../src/index.js';
import { catching, run } from '../util.js';

/** Receives until RecvClosedError and returns what came. */
function* drain<T>(rx: Receiver<T>): Task<T[]> {
  const out: T[] = [];
  for (;;) {
    try {
      out.push(yield* rx.recv());
    } catch (e) {
      if (e instanceof RecvClosedError) return out;
      throw e;
    }
  }
}

describe('mpsc', () => {
  it('channel() rejects a capacity that is not a positive integer', () => {
    expect(() => channel(0)).toThrow(RangeError);
    expect(() => channel(-1)).toThrow(/capacity must be between 1 and/);
    expect(() => channel(2.5)).toThrow(TypeError);
    expect(() => channel(Infinity)).toThrow(TypeError);
    expect(() => channel(null as never)).toThrow(/capacity must be an integer, got null/);
  });

  it('Receiver.recv() gets the values of every sender in FIFO order, then RecvClosedError', () => {
    const { sender, receiver } = channel<string>(4);
    const got = run((function* () {
      const reader = spawn(drain(receiver));
      const other = sender.clone();
      const a = spawn((function* () { for (const v of ['a1', 'a2', 'a3']) yield* sender.send(v); sender.close(); })());
      const b = spawn((function* () { for (const v of ['b1', 'b2', 'b3']) yield* other.send(v); other.close(); })());
      yield* a;
      yield* b;
      return yield* reader;
    })());
    expect(got.filter((v) => v[0] === 'a')).toEqual(['a1', 'a2', 'a3']);
    expect(got.filter((v) => v[0] === 'b')).toEqual(['b1', 'b2', 'b3']);
  });

  it('Sender.send() waits while the channel is full (backpressure)', () => {
    const { sender, receiver } = channel<number>(2);
    run((function* () {
      let sent = 0;
      const producer = spawn((function* () {
        for (let i = 0; i < 5; i++) {
          yield* sender.send(i);
          sent++;
        }
        sender.close();
      })());
      for (let k = 0; k < 5; k++) yield* yieldNow();
      expect(sent).toBe(2);
      expect(receiver.len).toBe(2);
      expect(yield* receiver.recv()).toBe(0);
      yield* yieldNow();
      yield* yieldNow();
      expect(sent).toBe(3);
      expect(yield* drain(receiver)).toEqual([1, 2, 3, 4]);
      yield* producer;
    })());
  });

  it('Sender.trySend() returns full or closed with the value handed back', () => {
    const { sender, receiver } = channel<string>(1);
    expect(sender.trySend('a')).toEqual({ ok: true });
    expect(sender.trySend('b')).toEqual({ ok: false, reason: 'full', value: 'b' });
    expect(receiver.tryRecv()).toEqual({ ok: true, value: 'a' });
    expect(receiver.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    receiver.close();
    expect(sender.trySend('c')).toEqual({ ok: false, reason: 'closed', value: 'c' });
  });

  it('Sender.send() serves waiting senders in FIFO order and trySend() cannot overtake them', () => {
    const { sender, receiver } = channel<string>(1);
    const got = run((function* () {
      yield* sender.send('first');
      const waiting = ['w1', 'w2', 'w3'].map((v) => spawn(sender.send(v)));
      yield* yieldNow();
      expect(yield* receiver.recv()).toBe('first'); // frees a slot: reserved for w1
      expect(sender.trySend('rude')).toMatchObject({ ok: false, reason: 'full' });
      const out = [];
      for (let i = 0; i < 3; i++) out.push(yield* receiver.recv());
      for (const h of waiting) yield* h;
      return out;
    })());
    expect(got).toEqual(['w1', 'w2', 'w3']);
  });

  it('Receiver.tryRecv() returns closed once every sender is closed and the queue is drained', () => {
    const { sender, receiver } = unboundedChannel<number>();
    const clone = sender.clone();
    sender.send(1);
    sender.close();
    sender.close(); // idempotent
    expect(receiver.tryRecv()).toEqual({ ok: true, value: 1 });
    expect(receiver.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    clone.close();
    expect(receiver.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it("Sender.close() fails that handle's waiting sends with ClosedError; another handle's wait on", () => {
    const { sender, receiver } = channel<string>(1);
    const other = sender.clone();
    const [mine, theirs, received] = run((function* () {
      sender.trySend('fills the channel');
      const first = spawn(catching(sender.send('a')));
      const second = spawn(catching(sender.send('b'))); // two sends of one handle waiting at once
      const bystander = spawn(other.send('c'));
      yield* yieldNow();
      sender.close();
      const got = [yield* receiver.recv(), yield* receiver.recv()];
      return [[yield* first, yield* second], yield* bystander, got];
    })());
    expect(mine[0]).toBeInstanceOf(ClosedError);
    expect(mine[1]).toBeInstanceOf(ClosedError);
    expect(theirs).toBe(undefined);
    expect(received).toEqual(['fills the channel', 'c']);
  });

  it('Receiver.recv() waiting is woken by the last Sender.close() and throws RecvClosedError', () => {
    const { sender, receiver } = channel<number>(1);
    const err = run((function* () {
      const h = spawn(catching(receiver.recv()));
      yield* yieldNow();
      sender.close();
      return yield* h;
    })());
    expect(err).toBeInstanceOf(RecvClosedError);
  });

  it('Receiver.close() makes waiting and later sends fail with ClosedError', () => {
    const { sender, receiver } = channel<number>(1);
    const { sender: unbounded, receiver: urx } = unboundedChannel<number>();
    const err = run((function* () {
      yield* sender.send(1);
      const h = spawn(catching(sender.send(2)));
      yield* yieldNow();
      receiver.close();
      return yield* h;
    })());
    expect(err).toBeInstanceOf(ClosedError);
    expect(receiver.len).toBe(0); // queued values were discarded
    expect(run(catching(sender.send(3)))).toBeInstanceOf(ClosedError);
    expect(() => receiver.recv()).toThrow(/mpsc Receiver is closed/);
    expect(() => receiver.tryRecv()).toThrow(ClosedError);
    urx.close();
    expect(() => unbounded.send(1)).toThrow(/the mpsc Receiver is closed/);
  });

  it('Sender methods throw ClosedError after close(), and a send of it still waiting fails', () => {
    const { sender, receiver } = channel<number>(1);
    const { sender: unbounded } = unboundedChannel<number>();
    const keep = sender.clone();
    const err = run((function* () {
      yield* sender.send(1);
      const h = spawn(catching(sender.send(2)));
      yield* yieldNow();
      sender.close();
      return yield* h;
    })());
    expect(err).toBeInstanceOf(ClosedError);
    expect(() => sender.send(1)).toThrow(/this mpsc Sender is closed/);
    expect(() => sender.trySend(1)).toThrow(ClosedError);
    expect(() => sender.clone()).toThrow(ClosedError);
    unbounded.close();
    expect(() => unbounded.send(1)).toThrow(ClosedError);
    expect(() => unbounded.clone()).toThrow(ClosedError);
    expect(receiver.tryRecv()).toEqual({ ok: true, value: 1 }); // 2 was never queued
    expect(receiver.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    keep.close();
  });

  it('Sender.send() cancelled while waiting is not enqueued and does not block the next sender', () => {
    const { sender, receiver } = channel<string>(1);
    const got = run((function* () {
      yield* sender.send('first');
      const a = spawn(sender.send('cancelled'));
      const b = spawn(sender.send('b'));
      yield* yieldNow();
      a.cancel();
      expect(yield* catching(a)).toBeInstanceOf(CancelledError);
      const out = [yield* receiver.recv(), yield* receiver.recv()];
      yield* b;
      sender.close();
      return [...out, ...(yield* drain(receiver))];
    })());
    expect(got).toEqual(['first', 'b']);
  });

  it('Sender.send() cancelled after a slot was reserved for it passes the slot on (no lost wake-up)', () => {
    const { sender, receiver } = channel<string>(1);
    const got = run((function* () {
      yield* sender.send('first');
      const a = spawn(sender.send('granted-then-cancelled'));
      const b = spawn(sender.send('b'));
      yield* yieldNow();
      expect(receiver.tryRecv()).toEqual({ ok: true, value: 'first' }); // reserves the slot for a
      a.cancel(); // a never ran: its slot must go to b
      yield* b;
      sender.close();
      return yield* drain(receiver);
    })());
    expect(got).toEqual(['b']);
  });

  it('Sender.send() dropped by timeout() or a lost select is not enqueued', () => {
    const { sender, receiver } = channel<string>(1);
    const got = run((function* () {
      yield* sender.send('first');
      expect(yield* catching(timeout(5, sender.send('timed out')))).toBeInstanceOf(TimeoutError);
      expect((yield* select(sender.send('lost'), sleep(5))).index).toBe(1);
      expect(receiver.len).toBe(1);
      sender.close();
      return yield* drain(receiver);
    })());
    expect(got).toEqual(['first']);
  });

  it('Receiver.recv() cancelled or timed out loses nothing', () => {
    const { sender, receiver } = unboundedChannel<number>();
    const got = run((function* () {
      const h = spawn(receiver.recv());
      yield* yieldNow();
      h.cancel();
      expect(yield* catching(timeout(5, receiver.recv()))).toBeInstanceOf(TimeoutError);
      sender.send(1);
      sender.send(2);
      sender.close();
      return yield* drain(receiver);
    })());
    expect(got).toEqual([1, 2]);
  });

  it('UnboundedSender.send() never waits', () => {
    const { sender, receiver } = unboundedChannel<number>();
    for (let i = 0; i < 10_000; i++) sender.send(i);
    expect(receiver.len).toBe(10_000);
    sender.close();
    const got = run(drain(receiver));
    expect(got).toHaveLength(10_000);
    expect(got[9_999]).toBe(9_999);
  });

  it('Receiver.recv() on a busy channel spends the cooperative budget so other tasks still run', () => {
    const { sender, receiver } = unboundedChannel<number>();
    for (let i = 0; i < 10_000; i++) sender.send(i);
    sender.close();
    const seenAt = run((function* () {
      let received = 0;
      const reader = spawn((function* () {
        for (;;) {
          try { yield* receiver.recv(); } catch { return; }
          received++;
        }
      })());
      const other = spawn((function* () { return received; })());
      const at = yield* other;
      yield* reader;
      expect(received).toBe(10_000);
      return at;
    })());
    expect(seenAt).toBeLessThan(10_000);
  });

  it('Receiver.recv() recycles its future between messages', () => {
    const { sender, receiver } = channel<number>(4);
    run((function* () {
      yield* sender.send(1);
      yield* sender.send(2);
      const first = receiver.recv();
      expect(yield* first).toBe(1);
      const second = receiver.recv();
      expect(second).toBe(first);
      expect(yield* second).toBe(2);
    })());
  });
});
