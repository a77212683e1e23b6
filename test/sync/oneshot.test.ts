import { describe, expect, it } from 'vitest';
import {
  AlreadySentError,
  CancelledError,
  ClosedError,
  RecvClosedError,
  TimeoutError,
  oneshot,
  select,
  sleep,
  spawn,
  timeout,
  yieldNow,
} from '../../src/index.js';
import { catching, run } from '../util.js';

describe('oneshot', () => {
  it('OneshotReceiver resolves with the value sent before or after it is awaited', () => {
    const before = oneshot<number>();
    expect(before.sender.send(1)).toBe(true);
    const after = oneshot<number>();
    const got = run((function* () {
      const h = spawn(after.receiver);
      yield* yieldNow();
      after.sender.send(2);
      return [yield* before.receiver, yield* h];
    })());
    expect(got).toEqual([1, 2]);
  });

  it('OneshotReceiver throws RecvClosedError when the sender closes without sending', () => {
    const { sender, receiver } = oneshot<string>();
    const err = run((function* () {
      const h = spawn(catching(receiver));
      yield* yieldNow();
      sender.close();
      sender.close(); // idempotent
      return yield* h;
    })());
    expect(err).toBeInstanceOf(RecvClosedError);
    expect((err as Error).message).toMatch(/closed without sending/);
  });

  it('OneshotSender.send() a second time throws AlreadySentError; after close() ClosedError', () => {
    const a = oneshot<number>();
    a.sender.send(1);
    expect(() => a.sender.send(2)).toThrow(AlreadySentError);
    expect(() => a.sender.send(2)).toThrow(/a value was already sent/);
    a.sender.close(); // a no-op after a send: the value stays
    expect(a.receiver.tryRecv()).toEqual({ ok: true, value: 1 });
    const b = oneshot<number>();
    b.sender.close();
    expect(() => b.sender.send(1)).toThrow(ClosedError);
  });

  it('OneshotSender.send() returns false once the receiver is closed', () => {
    const { sender, receiver } = oneshot<number>();
    receiver.close();
    expect(sender.send(1)).toBe(false);
    expect(() => receiver.tryRecv()).toThrow(/oneshot Receiver is closed/);
    expect(run(catching(receiver))).toBeInstanceOf(ClosedError);
  });

  it('OneshotReceiver.tryRecv() returns empty, the value, then closed', () => {
    const { sender, receiver } = oneshot<string>();
    expect(receiver.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    sender.send('v');
    expect(receiver.tryRecv()).toEqual({ ok: true, value: 'v' });
    expect(receiver.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('OneshotReceiver awaited after a timeout, a lost select or a cancelled task still gets the value', () => {
    const { sender, receiver } = oneshot<string>();
    const got = run((function* () {
      expect(yield* catching(timeout(5, receiver))).toBeInstanceOf(TimeoutError);
      expect((yield* select(receiver, sleep(5))).index).toBe(1);
      const h = spawn((function* () { return yield* receiver; })()); // cancelled inside its yield*
      yield* yieldNow();
      h.cancel();
      expect(yield* catching(h)).toBeInstanceOf(CancelledError);
      sender.send('kept');
      return yield* receiver;
    })());
    expect(got).toBe('kept');
  });

  it('OneshotReceiver awaited again after it resolved throws RecvClosedError', () => {
    const { sender, receiver } = oneshot<number>();
    sender.send(7);
    const [first, again] = run((function* () {
      const v = yield* receiver;
      return [v, yield* catching(receiver)];
    })());
    expect(first).toBe(7);
    expect(again).toBeInstanceOf(RecvClosedError);
    expect((again as Error).message).toMatch(/already received/);
  });
});
