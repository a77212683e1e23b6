// The public IoBlocker: timeouts taken as given, and registry ids that never name a newer blocker.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BufReader, Executor, IoBlocker, TcpListener, notifyBlocker, ready } from '../src/index.js';
import { BACKEND } from './util.js';

describe('IoBlocker (public API)', () => {
  it('running out of fds in new Executor() or new IoBlocker() is an IoError (EMFILE), as other failed syscalls are', () => {
    // In a child with a low fd limit, every fd taken first; dist/ is the built package.
    const index = new URL('../dist/src/index.js', import.meta.url).href;
    const child = `
      import { openSync } from 'node:fs';
      const { Executor, IoBlocker, IoError } = await import(${JSON.stringify(index)});
      const held = [];
      try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
      const seen = [];
      for (const make of [() => new Executor(), () => new IoBlocker()]) {
        try { make(); seen.push('made'); } catch (e) { seen.push({ io: e instanceof IoError, code: e.code, message: e.message }); }
      }
      console.log(JSON.stringify(seen));`;
    const r = spawnSync('bash', ['-c', 'ulimit -n 64 && exec "$0" --input-type=module -e "$1"', process.execPath, child], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, WAKELOOP_BACKEND: BACKEND },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([
      { io: true, code: 'EMFILE', message: `open the ${BACKEND} backend for new Executor(): Too many open files (EMFILE)` },
      { io: true, code: 'EMFILE', message: `open the ${BACKEND} backend for new IoBlocker(): Too many open files (EMFILE)` },
    ]);
  });

  it('new IoBlocker() refuses an unknown backend name with a RangeError and a non-string with a TypeError', () => {
    expect(() => new IoBlocker({ backend: 'kqueue' as never })).toThrow(new RangeError(`new IoBlocker(): backend must be 'epoll' or 'poll', got "kqueue"`));
    expect(() => new IoBlocker({ backend: 5 as never })).toThrow(new TypeError("new IoBlocker(): backend must be 'epoll' or 'poll', got number 5"));
  });

  it('the options objects refuse an array (options.x of an array is always undefined: a silent default)', () => {
    expect(() => new IoBlocker([] as never)).toThrow('new IoBlocker(): options must be an object, got an object (Array)');
    expect(() => new Executor([] as never)).toThrow('new Executor(): options must be an object, got an object (Array)');
    expect(() => new BufReader({ read: () => ready(new Uint8Array(0)) }, [] as never)).toThrow(/new BufReader\(\): options must be an object/);
    expect(() => TcpListener.bind('127.0.0.1:0', [] as never)).toThrow(/TcpListener.bind\(\): options must be an object/);
    const executor = new Executor({ backend: null as never }); // null, like undefined, is the default
    const blocker = new IoBlocker({ backend: null as never });
    expect(executor.reactor.blocker.backend).toBe(blocker.backend);
    blocker.close();
    executor.close();
  });

  it('block() refuses a timeout between -1 and 0 instead of waiting forever', () => {
    const blocker = new IoBlocker({ backend: BACKEND });
    try {
      for (const bad of [-0.5, -0.001, -1.5, -2, Infinity]) {
        expect(() => blocker.block(bad)).toThrow(new RegExp(`timeoutMs must be -1 \\(forever\\) or from 0 to 2\\^31-1, got ${bad}`));
      }
      expect(() => blocker.block(NaN)).toThrow(TypeError);
      expect(blocker.block(0.5)).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('events cannot be replaced: the addon keeps writing into the array it was given (eventList read the new one)', () => {
    const blocker = new IoBlocker({ backend: BACKEND, capacity: 4 });
    try {
      const original = blocker.events;
      expect(() => {
        (blocker as { events: Int32Array }).events = new Int32Array(8);
      }).toThrow(TypeError);
      expect(blocker.events).toBe(original);
    } finally {
      blocker.close();
    }
  });

  it('eventList(n) returned events with undefined fields past the capacity: it checks n against the capacity', () => {
    const blocker = new IoBlocker({ backend: BACKEND, capacity: 16 });
    try {
      blocker.notify();
      expect(blocker.block(1000)).toBe(0); // a notify delivers no event
      expect(blocker.eventList(16)).toHaveLength(16);
      expect(blocker.eventList(0)).toEqual([]);
      expect(() => blocker.eventList(17)).toThrow(new RangeError('IoBlocker.eventList(): n must be from 0 to the events capacity, 16, got 17'));
      expect(() => blocker.eventList(5000)).toThrow(RangeError);
      expect(() => blocker.eventList(-1)).toThrow(RangeError);
      expect(() => blocker.eventList(1.5)).toThrow(TypeError);
    } finally {
      blocker.close();
    }
  });

  it("a closed blocker's registry id is never given to a later blocker (a stale notify wakes nobody)", () => {
    const first = new IoBlocker({ backend: BACKEND });
    const stale = first.registryId;
    first.close();
    // Each slot's generation counts up on reuse; after 32,767 reuses the slot is retired, so the
    // id cannot come round again.
    for (let i = 0; i < 33_000; i++) {
      const blocker = new IoBlocker({ backend: BACKEND });
      const id = blocker.registryId;
      blocker.close();
      if (id === stale) throw new Error(`registry id ${stale} was reused after ${i + 1} blockers`);
    }
    expect(notifyBlocker(stale)).toBe(false);
  });
});
