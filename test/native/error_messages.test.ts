// The texts of the addon's argument errors: TypeError for a wrong type, RangeError for a right
// type with a bad value, and every message names the function (or accessor) and the argument.
import { describe, expect, it } from 'vitest';
import { binding } from '../../src/_binding.js';

/** The error `f` throws, as "Name: message". */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
  return 'nothing thrown';
}

const Ctor = binding.IoBlocker as unknown as new (...args: unknown[]) => unknown;

describe('addon error messages', () => {
  it('IoBlocker accessors on a foreign receiver throw a TypeError naming the accessor', () => {
    const proto = binding.IoBlocker.prototype as unknown as Record<string, unknown>;
    for (const name of ['backend', 'pollFd', 'registryId', 'wakeCount']) {
      const get = Object.getOwnPropertyDescriptor(proto, name)!.get!;
      for (const receiver of [{}, proto, Object.create(proto), 42]) {
        expect(thrown(() => get.call(receiver))).toBe(`TypeError: IoBlocker.${name}: receiver is not an IoBlocker`);
      }
    }
    expect(thrown(() => proto.pollFd)).toBe('TypeError: IoBlocker.pollFd: receiver is not an IoBlocker');
    const b = new binding.IoBlocker(new Int32Array(2), { backend: 'poll' });
    expect([b.backend, b.pollFd, b.wakeCount]).toEqual(['poll', -1, 0]);
    b.close();
  });

  it('an events array with room for no [eventId, signals] pair is a RangeError', () => {
    expect(thrown(() => new Ctor(new Int32Array(1)))).toBe(
      'RangeError: IoBlocker: events must have room for one [eventId, signals] pair (length >= 2), got length 1',
    );
  });

  it('an unknown backend is a RangeError with the value quoted and escaped', () => {
    expect(thrown(() => new Ctor(new Int32Array(2), { backend: 'kqueue' }))).toBe(
      "RangeError: IoBlocker: options.backend must be 'epoll' or 'poll', got 'kqueue'",
    );
    const message = thrown(() => new Ctor(new Int32Array(2), { backend: "ep\0oll'\n" }));
    expect(message).toBe("RangeError: IoBlocker: options.backend must be 'epoll' or 'poll', got 'ep\\x00oll\\'\\x0a'");
    expect(message).not.toContain('\0');
    expect(thrown(() => new Ctor(new Int32Array(2), { backend: 'x'.repeat(100) }))).toMatch(/got 'x{40}'\.\.\.$/);
  });

  it('numbers out of range are printed exactly, 2**53 included', () => {
    const buf = new Uint8Array(1);
    expect(thrown(() => binding.read(2 ** 53, buf, 0, 1))).toBe(
      'RangeError: read: fd must be between 0 and 2147483647, got 9007199254740992',
    );
    expect(thrown(() => binding.read(1e20, buf, 0, 1))).toBe(
      'RangeError: read: fd must be between 0 and 2147483647, got 100000000000000000000',
    );
    expect(thrown(() => binding.notifyBlocker(-(2 ** 60)))).toBe(
      'RangeError: notifyBlocker: registryId must be between -9007199254740991 and 9007199254740991, got -1152921504606846976',
    );
    expect(thrown(() => binding.read(1e300, buf, 0, 1))).toBe(
      'RangeError: read: fd must be between 0 and 2147483647, got 1e+300',
    );
  });

  it('IoBlocker.attach() names itself: onReady is checked first, then the backend', () => {
    const poll = new binding.IoBlocker(new Int32Array(2), { backend: 'poll' });
    const epoll = new binding.IoBlocker(new Int32Array(2), { backend: 'epoll' });
    for (const b of [poll, epoll]) {
      expect(thrown(() => b.attach!(3 as unknown as () => void))).toBe(
        'TypeError: IoBlocker.attach(): onReady must be a function',
      );
    }
    expect(thrown(() => poll.attach!(() => {}))).toBe(
      "Error: IoBlocker.attach(): needs the epoll backend (this blocker uses 'poll')",
    );
    poll.close();
    epoll.close();
  });

  it('typed-array checks use the right article', () => {
    expect(thrown(() => new Ctor(new Float64Array(4)))).toBe('TypeError: IoBlocker: events must be an Int32Array');
    expect(thrown(() => binding.read(0, [1] as unknown as Uint8Array, 0, 1))).toBe(
      'TypeError: read: buf must be a Uint8Array',
    );
    expect(thrown(() => binding.writev(0, [3 as unknown as Uint8Array]))).toBe(
      'TypeError: writev: bufs[0] must be a Uint8Array',
    );
  });
});
