// IoBlocker construction, closing and finalization, its own fds, and argument checks.
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { binding, INTEREST_READ } from '../../src/_binding.js';
import { BACKENDS, E, fdTarget, isCloexec, openFdCount, openFds, tcpPair } from './helpers.js';

function closedError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.each(BACKENDS)('IoBlocker lifetime (%s)', (backend) => {
  it('new IoBlocker() opens only close-on-exec fds and close() releases them', () => {
    const before = openFds();
    const b = new binding.IoBlocker(new Int32Array(8), { backend });
    const added = [...openFds()].filter((fd) => !before.has(fd));
    const kinds = added.map(fdTarget).sort();
    if (backend === 'epoll') {
      expect(kinds).toEqual(['anon_inode:[eventfd]', 'anon_inode:[eventpoll]']);
      expect(added).toContain(b.pollFd);
    } else {
      // The self-pipe, and an epoll set through which poll sees the edges of Node's loop fd.
      expect(kinds).toHaveLength(3);
      expect(kinds[0]).toBe('anon_inode:[eventpoll]');
      for (const k of kinds.slice(1)) expect(k).toMatch(/^pipe:/);
      expect(b.pollFd).toBe(-1);
    }
    for (const fd of added) expect(isCloexec(fd)).toBe(true);
    b.close();
    expect(openFds()).toEqual(before);
  });

  it("close() refuses a live blocker's own fds with a RangeError; after IoBlocker.close() they are free", () => {
    const before = openFds();
    const b = new binding.IoBlocker(new Int32Array(8), { backend });
    const own = [...openFds()].filter((fd) => !before.has(fd));
    expect(own.length).toBeGreaterThanOrEqual(2);
    for (const fd of own) {
      expect(() => binding.close(fd)).toThrow(RangeError);
      expect(() => binding.close(fd)).toThrow(`close: fd ${fd} belongs to an IoBlocker`);
      expect(fdTarget(fd)).not.toBe(''); // still open
    }
    b.notify();
    expect(b.block(1000)).toBe(0); // the blocker still works
    b.close();
    expect(openFds()).toEqual(before);
    // The numbers are anyone's again: a socket that gets one of them closes normally.
    const fd = binding.socket(4);
    expect(binding.close(fd)).toBe(0);
    for (const n of own) expect(binding.close(n)).toBe(-E.EBADF);
  });

  it('IoBlocker.registryId is a positive int32 and, like IoBlocker.backend, survives close()', () => {
    const b = new binding.IoBlocker(new Int32Array(2), { backend });
    expect(b.backend).toBe(backend);
    expect(Number.isInteger(b.registryId)).toBe(true);
    expect(b.registryId).toBeGreaterThan(0);
    expect(b.registryId).toBeLessThanOrEqual(0x7fffffff);
    const id = b.registryId;
    b.close();
    expect(b.backend).toBe(backend);
    expect(b.registryId).toBe(id);
    expect(b.pollFd).toBe(-1);
  });

  it('IoBlocker.close() is idempotent and every later call throws ERR_BLOCKER_CLOSED', () => {
    const b = new binding.IoBlocker(new Int32Array(2), { backend });
    b.close();
    b.close();
    const calls: Array<() => unknown> = [
      () => b.register(0, 1, 1),
      () => b.modify(0, 1, 1),
      () => b.deregister(0),
      () => b.block(0),
      () => b.notify(),
      () => b.attach!(() => {}),
      () => b.ref!(true),
    ];
    for (const call of calls) {
      const e = closedError(call) as { code?: string; message?: string } | undefined;
      expect(e).toBeInstanceOf(Error);
      expect(e!.code).toBe('ERR_BLOCKER_CLOSED');
      expect(e!.message).toMatch(/closed/);
    }
    b.detach!(); // detaching a closed blocker is a no-op, like close()
  });

  it('IoBlocker.close() with fds still registered releases the blocker and leaves the fds alone', () => {
    const before = openFdCount();
    const p = tcpPair();
    const b = new binding.IoBlocker(new Int32Array(8), { backend });
    expect(b.register(p.server, 1, INTEREST_READ)).toBe(0);
    expect(b.register(p.client, 2, INTEREST_READ)).toBe(0);
    b.close();
    expect(binding.socketError(p.server)).toBe(0); // still open
    p.close();
    expect(openFdCount()).toBe(before);
  });

  it('IoBlocker finalizer closes a blocker that was never closed', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = openFdCount();
    (() => {
      for (let i = 0; i < 200; i++) new binding.IoBlocker(new Int32Array(2), { backend });
    })();
    expect(openFdCount()).toBeGreaterThan(before);
    for (let i = 0; i < 20 && openFdCount() > before; i++) {
      gc();
      await new Promise((r) => setImmediate(r)); // finalizers run from the loop
    }
    expect(openFdCount()).toBe(before);
  });

  it('IoBlocker.block() throws a TypeError once the events array is detached', () => {
    const events = new Int32Array(8);
    const b = new binding.IoBlocker(events, { backend });
    expect(b.block(0)).toBe(0);
    structuredClone(events.buffer, { transfer: [events.buffer] });
    expect(() => b.block(0)).toThrow(TypeError);
    expect(() => b.block(0)).toThrow(/events array is detached/);
    b.close();
  });

  it('IoBlocker.block() uses the events array of an offset view, writing nowhere else', () => {
    const backing = new Int32Array(10).fill(-9);
    const view = new Int32Array(backing.buffer, 8, 4); // elements 2..5: two pairs
    const b = new binding.IoBlocker(view, { backend });
    const p = tcpPair();
    b.register(p.server, 1, INTEREST_READ);
    b.register(p.client, 2, INTEREST_READ);
    const msg = Buffer.from('x');
    binding.write(p.client, msg, 0, 1);
    binding.write(p.server, msg, 0, 1);
    let n = 0;
    for (let i = 0; i < 100 && n < 2; i++) n = b.block(20);
    expect(n).toBe(2);
    expect([backing[0], backing[1], backing[6], backing[7], backing[8], backing[9]]).toEqual(
      new Array(6).fill(-9),
    );
    expect(new Set([backing[2], backing[4]])).toEqual(new Set([1, 2]));
    b.deregister(p.server);
    b.deregister(p.client);
    p.close();
    b.close();
  });
});

describe('IoBlocker argument checks', () => {
  it('new IoBlocker() throws a TypeError for a missing or wrong events array, a RangeError for a short one', () => {
    const Ctor = binding.IoBlocker as unknown as new (...args: unknown[]) => unknown;
    expect(() => new Ctor()).toThrow(TypeError);
    expect(() => new Ctor(new Float64Array(8))).toThrow(/Int32Array/);
    expect(() => new Ctor(new Uint32Array(8))).toThrow(TypeError);
    expect(() => new Ctor([0, 0])).toThrow(TypeError);
    expect(() => new Ctor(new Int32Array(1))).toThrow(/length >= 2/);
    expect(() => new Ctor(new Int32Array(1))).toThrow(RangeError);
    expect(() => new Ctor(new Int32Array(0))).toThrow(RangeError);
    const detached = new Int32Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => new Ctor(detached)).toThrow(/detached/);
  });

  it('new IoBlocker() throws a TypeError for bad options, a RangeError for an unknown backend', () => {
    const Ctor = binding.IoBlocker as unknown as new (...args: unknown[]) => unknown;
    expect(() => new Ctor(new Int32Array(2), 'poll')).toThrow(TypeError);
    expect(() => new Ctor(new Int32Array(2), { backend: 3 })).toThrow(TypeError);
    expect(() => new Ctor(new Int32Array(2), { backend: 'kqueue' })).toThrow(RangeError);
    expect(() => new Ctor(new Int32Array(2), { backend: 'kqueue' })).toThrow(
      "IoBlocker: options.backend must be 'epoll' or 'poll', got 'kqueue'",
    );
    expect(() => (binding.IoBlocker as unknown as () => unknown)()).toThrow(TypeError);
  });

  it('IoBlocker.register()/modify()/deregister()/block() throw TypeError/RangeError for bad arguments', () => {
    const b = new binding.IoBlocker(new Int32Array(2));
    expect(() => b.register(-1, 1, 1)).toThrow(RangeError);
    expect(() => b.register(1.5, 1, 1)).toThrow(TypeError);
    expect(() => b.register('1' as unknown as number, 1, 1)).toThrow(TypeError);
    expect(() => b.register(0, 2 ** 31, 1)).toThrow(RangeError);
    expect(() => b.register(0, 0.5, 1)).toThrow(TypeError);
    expect(() => b.register(0, 1, 4)).toThrow(RangeError);
    expect(() => b.register(0, 1, -1)).toThrow(RangeError);
    expect(() => b.modify(-1, 1, 1)).toThrow(/modify: fd/);
    expect(() => b.deregister(NaN)).toThrow(TypeError);
    expect(() => b.block(NaN)).toThrow(TypeError);
    expect(() => b.block('10' as unknown as number)).toThrow(TypeError);
    expect(() => b.block(undefined as unknown as number)).toThrow(/block: timeoutMs/);
    expect(() => b.ref!('yes' as unknown as boolean)).toThrow(TypeError);
    expect(() => b.attach!(42 as unknown as () => void)).toThrow(TypeError);
    b.close();
  });
});
