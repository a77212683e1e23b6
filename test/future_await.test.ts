// The `yield*` protocol of a future: one value per future, and what may be awaited again.
import { describe, expect, it } from 'vitest';
import {
  CancelledError, Executor, Future, JoinHandle, Mutex, PENDING, TimeoutError, broadcast, channel, oneshot, unboundedChannel, pollFn, ready, join, select, sleep, sleepUntil, spawn, timeout, toFuture, yieldNow,
  type Context, type Poll, type Task, type Waker,
} from '../src/index.js';
import { coop } from '../src/_coop.js';
import { Gate, catching, run } from './util.js';

describe('awaiting a future', () => {
  it('a future that gave its value throws a TypeError when awaited again, instead of giving undefined', () => {
    const errors = run((function* () {
      const mutex = new Mutex(0);
      const lock = mutex.lock();
      (yield* lock).release();
      const { sender, receiver } = channel<string>(4);
      sender.trySend('a');
      const recv = receiver.recv();
      expect(yield* recv).toBe('a');
      const nap = sleep(1);
      yield* nap;
      return [yield* catching(lock), yield* catching(nap)];
    })());
    for (const error of errors) {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/was already awaited: a future is awaited once/);
    }
  });

  it('a future that select, join, timeout or spawn polled to its end gives its value once too (it completed again)', () => {
    const messages = run((function* () {
      const never = () => pollFn(() => PENDING);
      const won = sleep(1);
      expect((yield* select(won, never())).index).toBe(0);
      const joined = ready(2);
      yield* join(joined);
      const timed = ready(3);
      yield* timeout(100, timed);
      const spawned = ready(4);
      yield* spawn(spawned);
      const failing = pollFn(() => {
        throw new Error('once');
      });
      yield* catching(select(failing));
      const seen: string[] = [];
      for (const again of [() => select(won, never()), () => join(joined), () => timeout(100, timed), () => spawn(spawned), () => select(failing)]) {
        try {
          again(); // refused at the call, as a future a yield* took is
          seen.push('taken again');
        } catch (error) {
          seen.push((error as Error).message);
        }
      }
      seen.push(((yield* catching(won)) as Error).message);
      // A loser that select dropped gave nothing: it may be awaited again.
      const lost = sleep(1);
      yield* select(ready(0), lost);
      yield* lost;
      return seen;
    })());
    expect(messages).toEqual([
      'select(): the argument at index 0: this Sleep was already awaited: a future gives its value once (make a new one)',
      'join(): the argument at index 0: this PollFn was already awaited: a future gives its value once (make a new one)',
      'timeout(): this PollFn was already awaited: a future gives its value once (make a new one)',
      'spawn(): this PollFn was already awaited: a future gives its value once (make a new one)',
      'select(): the argument at index 0: this PollFn was already awaited: a future gives its value once (make a new one)',
      'this Sleep was already awaited: a future is awaited once (make a new one to wait again)',
    ]);
  });

  it('a future handed to spawn, select, join or timeout cannot be awaited elsewhere meanwhile (one of the two waited for good)', () => {
    const messages = run((function* () {
      const { sender, receiver } = channel<number>(4);
      const spawned = receiver.recv();
      const handle = spawn(spawned);
      const selected = sleep(60_000);
      const joined = sleep(60_000);
      const timed = sleep(60_000);
      const failLater = (function* (): Task<void> {
        yield* sleep(20);
        throw new Error('sibling failed');
      })();
      const holders = [select(selected, sleep(20)), join(joined, failLater), timeout(20, timed)].map((f) => spawn(catching(f)));
      yield* yieldNow(); // each holder polled its future
      const seen = [];
      for (const f of [spawned, selected, joined, timed]) seen.push(((yield* catching(f)) as Error).message);
      yield* sender.send(7);
      expect(yield* handle).toBe(7); // spawn's task kept the value
      for (const holder of holders) yield* holder;
      return seen;
    })());
    expect(messages).toEqual([
      'this Recv is already being awaited (by a task, spawn or a combinator): a future is awaited by one task at a time',
      'this Sleep is already being awaited (by a task, spawn or a combinator): a future is awaited by one task at a time',
      'this Sleep is already being awaited (by a task, spawn or a combinator): a future is awaited by one task at a time',
      'this Sleep is already being awaited (by a task, spawn or a combinator): a future is awaited by one task at a time',
    ]);
  });

  it('a future select, join, timeout or a cancelled spawn dropped gave nothing: it may be awaited or handed on again', () => {
    const elapsed = run((function* () {
      const started = performance.now();
      const deadline = sleepUntil(started + 30);
      for (let i = 0; i < 3; i++) yield* select(deadline, sleep(1)); // the same deadline, dropped each time
      const joined = sleep(5);
      yield* catching(join(joined, pollFn(() => { throw new Error('sibling failed'); })));
      yield* joined;
      const timed = sleep(5);
      yield* catching(timeout(1, timed));
      yield* timed;
      const refused = sleep(5);
      expect(() => select(refused, 42 as never)).toThrow(/argument at index 1/); // refused as a whole: refused is not held
      expect(() => join(refused, refused)).toThrow(TypeError);
      yield* refused;
      const spawned = sleep(5);
      const handle = spawn(spawned);
      yield* yieldNow();
      handle.cancel();
      yield* spawned;
      yield* deadline;
      return performance.now() - started;
    })());
    expect(elapsed).toBeGreaterThanOrEqual(30);
  });

  it('a task awaiting its own handle through select or join gets the TypeError there (it waited for good)', () => {
    const messages = run((function* () {
      const tasks = [(h: () => JoinHandle<unknown>) => select(h(), new Gate<void>()), (h: () => JoinHandle<unknown>) => join(h(), sleep(0))].map((wrap) => {
        let handle: JoinHandle<unknown> | null = null;
        handle = spawn((function* () {
          return ((yield* catching(wrap(() => handle!))) as Error).message;
        })());
        return handle;
      });
      return [yield* tasks[0]!, yield* tasks[1]!];
    })(), 2_000);
    expect(messages).toEqual(['a task awaited its own JoinHandle: it cannot wait for its own end', 'a task awaited its own JoinHandle: it cannot wait for its own end']);
  });

  it('a root whose drop() throws is free again after its cancel (it stayed held)', () => {
    const result = run((function* () {
      let drops = 0;
      class Stubborn extends Future<string> {
        poll(): Poll<string> {
          return drops > 0 ? 'polled again' : PENDING;
        }
        override drop(): void {
          if (drops++ === 0) throw new Error('drop failed');
        }
      }
      const f = new Stubborn();
      const handle = spawn(f);
      yield* yieldNow();
      handle.cancel();
      yield* catching(handle);
      return yield* select(f, new Gate<void>());
    })(), 2_000);
    expect(result).toEqual({ index: 0, value: 'polled again' });
  });

  it('a future another task is awaiting cannot be awaited by a second task: the first keeps its value', () => {
    const [first, second] = run((function* () {
      const { sender, receiver } = channel<number>(4);
      const recv = receiver.recv();
      const a = spawn(function* () {
        return yield* recv;
      }());
      const b = spawn(function* () {
        yield* yieldNow(); // a awaits recv by now
        return yield* catching(recv);
      }());
      yield* sleep(5);
      yield* sender.send(42);
      return [yield* a, yield* b];
    })());
    expect(first).toBe(42);
    expect(second).toBeInstanceOf(TypeError);
    expect((second as Error).message).toMatch(/is already being awaited \(by a task, spawn or a combinator\): a future is awaited by one task at a time/);
  });

  it('a recv() future whose await was cancelled is finished: awaiting it again says so and what to do', () => {
    const error = run((function* () {
      const { receiver } = channel<string>(4);
      const recv = receiver.recv();
      expect(yield* catching(timeout(5, recv))).toBeInstanceOf(TimeoutError);
      return yield* catching(recv);
    })());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Receiver.recv(): this future already completed or was cancelled; call recv() again');
  });

  it('a future whose await was cancelled may be awaited again, and waits as it should', () => {
    const waited = run((function* () {
      const start = performance.now();
      const nap = sleepUntil(start + 60);
      expect(yield* catching(timeout(5, (function* () { yield* nap; })()))).toBeInstanceOf(TimeoutError);
      yield* nap;
      return performance.now() - start;
    })());
    expect(waited).toBeGreaterThanOrEqual(60);
  });

  it('a JoinHandle can be awaited again, and by several tasks at once; a dropped await wakes nobody else', () => {
    const results = run((function* () {
      const handle = spawn((function* () {
        yield* sleep(30);
        return 'done';
      })());
      // One awaiter gives up early (its await is dropped); two others keep waiting.
      const quitter = spawn(catching(timeout(5, (function* () { return yield* handle; })())));
      const a = spawn((function* () { return yield* handle; })());
      const b = spawn((function* () { return yield* handle; })());
      expect(yield* quitter).toBeInstanceOf(TimeoutError);
      const first = yield* handle;
      return [first, yield* handle, yield* a, yield* b];
    })());
    expect(results).toEqual(['done', 'done', 'done', 'done']);
  });

  it('a oneshot receiver awaited by two tasks wakes both; one that gives up does not strand the other', () => {
    const got = run((function* () {
      const { sender, receiver } = oneshot<number>();
      const waiting = spawn((function* () { return yield* receiver; })());
      const quitter = spawn(catching(timeout(5, receiver)));
      expect(yield* quitter).toBeInstanceOf(TimeoutError);
      yield* yieldNow();
      sender.send(7);
      return yield* timeout(1000, waiting);
    })());
    expect(got).toBe(7);
  });

  // A select whose first branch is ready drops the others without polling them: that drop must
  // not forget the waker another task registered on the same shared future.
  it.each([
    ['JoinHandle', () => {
      const handle = spawn((function* () { yield* sleep(20); return 'late'; })());
      return { shared: handle as Future<string>, finish: () => undefined };
    }],
    ['oneshot receiver', () => {
      const { sender, receiver } = oneshot<string>();
      return { shared: receiver as Future<string>, finish: () => void sender.send('late') };
    }],
  ])('a %s await dropped before it was polled leaves the other awaits waiting', (_name, make) => {
    const got = run((function* () {
      const { shared, finish } = make();
      const waiting = spawn((function* () { return yield* shared; })());
      yield* yieldNow(); // the waiting task registers its waker
      const lost = yield* select(ready('first'), shared);
      expect(lost).toEqual({ index: 0, value: 'first' });
      yield* sleep(25);
      finish();
      return yield* timeout(1000, waiting);
    })());
    expect(got).toBe('late');
  });

  it('awaits of a shared future that were dropped are forgotten, not woken later', () => {
    const wakes = run((function* () {
      const { sender, receiver } = oneshot<number>();
      const handle = spawn((function* () { yield* sleep(5); return 1; })());
      const waiting = spawn((function* () { return (yield* receiver) + (yield* handle); })());
      yield* yieldNow(); // a second await on each: they now hold more than one waker
      let woken = 0;
      const cx = { waker: { wake: () => void woken++ } };
      for (let i = 0; i < 1000; i++) {
        for (const shared of [receiver, handle] as Future<number>[]) {
          const oneAwait = toFuture(shared);
          oneAwait.poll(cx);
          oneAwait.drop();
        }
      }
      sender.send(1);
      expect(yield* waiting).toBe(2);
      return woken;
    })());
    expect(wakes).toBe(0);
  });

  it('a oneshot value goes to one await; the others wake and learn it was received', () => {
    const outcomes = run((function* () {
      const { sender, receiver } = oneshot<number>();
      const settle = function* (): Task<unknown> {
        try { return yield* receiver; } catch (error) { return error; }
      };
      const a = spawn(settle());
      const b = spawn(settle());
      yield* yieldNow();
      sender.send(5);
      return [yield* timeout(1000, a), yield* timeout(1000, b)];
    })());
    expect(outcomes).toContain(5);
    const other = outcomes.find((o) => o !== 5);
    expect((other as Error).name).toBe('RecvClosedError');
  });
});

describe('PENDING is not a value', () => {
  it('sending PENDING, returning it from a task or making ready(PENDING) is a TypeError (it was lost or hung)', () => {
    const outcome = run((function* () {
      const bounded = channel<unknown>(4);
      const unbounded = unboundedChannel<unknown>();
      const fanout = broadcast<unknown>(4);
      const listener = fanout.subscribe();
      const reply = oneshot<unknown>();
      const refusals = [
        () => bounded.sender.send(PENDING),
        () => bounded.sender.trySend(PENDING),
        () => unbounded.sender.send(PENDING),
        () => fanout.send(PENDING),
        () => reply.sender.send(PENDING),
        () => ready(PENDING),
      ].map((f) => {
        try {
          f();
          return 'accepted';
        } catch (error) {
          return (error as Error).message;
        }
      });
      // Nothing was queued: each channel still gives the next real value.
      unbounded.sender.send('next');
      fanout.send('next');
      reply.sender.send('next');
      const after = [yield* unbounded.receiver.recv(), yield* listener.recv(), yield* reply.receiver];
      const task = yield* catching(spawn((function* () {
        return PENDING;
      })()));
      return { refusals, after, task: (task as Error).message };
    })(), 5_000);
    expect(outcome.refusals).toEqual([
      'Sender.send(): PENDING cannot be sent: it is not a value, but what poll() returns for "not ready yet"',
      'Sender.trySend(): PENDING cannot be sent: it is not a value, but what poll() returns for "not ready yet"',
      'UnboundedSender.send(): PENDING cannot be sent: it is not a value, but what poll() returns for "not ready yet"',
      'BroadcastSender.send(): PENDING cannot be sent: it is not a value, but what poll() returns for "not ready yet"',
      'OneshotSender.send(): PENDING cannot be sent: it is not a value, but what poll() returns for "not ready yet"',
      'ready(value): PENDING cannot be a value: it is what poll() returns for "not ready yet"',
    ]);
    expect(outcome.after).toEqual(['next', 'next', 'next']);
    expect(outcome.task).toBe('a generator task returned PENDING: it is not a value, but what poll() returns for "not ready yet"');
  });
});

describe('a yield* polls its future inside the task step', () => {
  /**
   * A hand-written future that drives a generator as GenFuture drives a plain `yield fut`: polls
   * each yielded future with cx. Dropping it runs the generator's `finally` blocks, and keeps the
   * future a `finally` awaits (to see with which context it gets polled).
   */
  class Drive extends Future<string> {
    #current: Future<unknown> | null = null;
    constructor(private readonly gen: Generator<Future<unknown>, string, unknown>) {
      super();
    }
    poll(cx: Context): Poll<string> {
      let input: unknown;
      for (;;) {
        if (this.#current !== null) {
          const v = this.#current.poll(cx);
          if (v === PENDING) return PENDING;
          this.#current = null;
          input = v;
        }
        const step = this.gen.next(input);
        if (step.done) return step.value;
        this.#current = step.value;
      }
    }
    override drop(): void {
      this.#current?.drop();
      const step = this.gen.return('dropped');
      this.#current = step.done ? null : step.value;
    }
  }

  /** A future pending until `open()` (which wakes the waker its last poll stored), counting its polls. */
  function gate(): Future<number> & { polls: number; wakers: Waker[]; open(): void } {
    let opened = false;
    const fut: Future<number> & { polls: number; wakers: Waker[]; open(): void } = Object.assign(
      pollFn<number>((cx) => {
        fut.polls++;
        if (opened) return fut.polls;
        fut.wakers.push(cx.waker);
        return PENDING;
      }),
      {
        polls: 0,
        wakers: [] as Waker[],
        open(): void {
          opened = true;
          fut.wakers.at(-1)!.wake();
        },
      },
    );
    return fut;
  }

  it('polls a ready future once, and a pending one once until it is woken', () => {
    const [readyPolls, gatePolls] = run((function* () {
      let polls = 0;
      expect(yield* pollFn(() => ++polls * 7)).toBe(7);
      const later = gate();
      spawn((function* () {
        yield* sleep(5);
        later.open();
      })());
      expect(yield* later).toBe(2);
      return [polls, later.polls];
    })());
    expect(readyPolls).toBe(1);
    expect(gatePolls).toBe(2); // pending once (its waker stored), then ready after the wake
  });

  it('an error from the first poll surfaces at the yield*, and the future counts as awaited', () => {
    const [caught, again] = run((function* () {
      const failing = pollFn<number>(() => {
        throw new RangeError('bad poll');
      });
      let first: unknown;
      try {
        yield* failing;
      } catch (error) {
        first = error;
      }
      return [first, yield* catching(failing)];
    })());
    expect((caught as Error).message).toBe('bad poll');
    expect((again as Error).message).toMatch(/was already awaited/);
  });

  it("a cancelled task's awaiting finally is polled with its own waker, even when another task cancels it", () => {
    const cleanup = gate();
    const [log, victimWaker] = run((function* () {
      const log: string[] = [];
      let victimWaker: Waker | null = null;
      const victim = spawn((function* () {
        victimWaker = yield* pollFn((cx) => cx.waker);
        try {
          yield* sleep(60_000);
        } finally {
          yield* cleanup;
          log.push('cleanup done');
        }
      })());
      yield* yieldNow(); // the victim waits in its sleep
      yield* spawn((function* () {
        victim.cancel(); // runs the victim's finally, which waits on `cleanup`
        log.push('cancel returned');
      })());
      yield* sleep(5);
      cleanup.open();
      yield* catching(timeout(1000, victim));
      return [log, victimWaker];
    })());
    expect(log).toEqual(['cancel returned', 'cleanup done']);
    expect(cleanup.wakers).toEqual([victimWaker]); // polled once while pending, by the victim
    expect(cleanup.polls).toBe(2);
  });

  it('a task that yields null (not yield*) gets the TypeError at its yield', () => {
    const caught = run((function* (): Task<unknown> {
      try {
        yield null as never;
      } catch (error) {
        return error;
      }
      return 'resumed without an error';
    })());
    expect((caught as Error).message).toBe('a task yielded null; await futures with `yield* future`');
  });

  it('a future that steps a generator by hand polls what it yields with its own context, once', () => {
    let flag = false;
    const seen = run((function* () {
      spawn((function* () {
        flag = true;
      })());
      return yield* new Drive((function* () {
        let spins = 0;
        while (!flag && ++spins < 1000) yield* yieldNow(); // lets the other task run
        return `flag seen after ${spins} spin(s)`;
      })());
    })());
    expect(seen).toBe('flag seen after 1 spin(s)');
  });

  it('a generator task that awaits itself gets a TypeError at the yield*, and carries on', () => {
    let self: Future<string> | null = null;
    self = toFuture((function* (): Task<string> {
      try {
        return yield* self!;
      } catch (error) {
        return (error as Error).message;
      }
    })());
    expect(run(self)).toBe('a generator task awaited itself: it cannot wait for its own end');
  });

  it("a spawned task that awaits its own JoinHandle gets a TypeError at the yield* (it waited for good: blockOn's generic 'nothing can wake' error)", () => {
    const message = run((function* (): Task<string> {
      let handle: JoinHandle<string> | null = null;
      handle = spawn((function* (): Task<string> {
        yield* yieldNow(); // the handle is assigned by now
        try {
          return yield* handle!;
        } catch (error) {
          return (error as Error).message;
        }
      })());
      return yield* handle;
    })());
    expect(message).toBe('a task awaited its own JoinHandle: it cannot wait for its own end');
  });

  it('a detached task that awaits its own JoinHandle fails visibly: its TypeError is reported as unhandled', () => {
    const seen: unknown[] = [];
    const executor = new Executor({ onUnhandledError: (error) => seen.push(error) });
    try {
      executor.blockOn((function* (): Task<void> {
        let handle: JoinHandle<void> | null = null;
        handle = spawn((function* (): Task<void> {
          yield* yieldNow();
          yield* handle!;
        })());
        yield* sleep(20);
        expect(handle.finished).toBe(true);
      })());
    } finally {
      executor.close();
    }
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toBe('a task awaited its own JoinHandle: it cannot wait for its own end');
  });

  it('a task that cancelled itself and then awaits its own JoinHandle stops there, cancelled', () => {
    const error = run((function* (): Task<unknown> {
      let handle: JoinHandle<string> | null = null;
      handle = spawn((function* (): Task<string> {
        yield* yieldNow();
        handle!.cancel();
        yield* handle!;
        return 'not cancelled';
      })());
      return yield* catching(handle);
    })());
    expect(error).toBeInstanceOf(CancelledError);
  });

  it('generator futures nested thousands deep still fit on the stack', () => {
    function* nest(n: number): Task<number> {
      if (n === 0) {
        yield* sleep(1);
        return 0;
      }
      return 1 + (yield* toFuture(nest(n - 1)));
    }
    expect(run(nest(3000))).toBe(3000);
  });

  it("a task cancelled from another task's body runs its cleanup without that task's context", () => {
    const cleanup = gate();
    const victim = (function* (): Task<string> {
      return yield* new Drive((function* () {
        try {
          yield* sleep(60_000);
        } finally {
          yield* cleanup; // reached by Drive.drop(): handed over, not polled by anyone's context
        }
        return 'not reached';
      })());
    })();
    run((function* () {
      const handle = spawn(victim);
      yield* sleep(1); // the victim waits inside Drive
      handle.cancel();
    })());
    expect(cleanup.polls).toBe(0);
  });

  it("an executor closed from another executor's task runs its tasks' cleanup with their own contexts", () => {
    const cleanup = gate();
    const other = new Executor();
    try {
      other.spawn((function* () {
        try {
          yield* sleep(60_000);
        } finally {
          yield* new Drive((function* () {
            return String(yield* cleanup);
          })());
        }
      })());
      other.turn(0);
      let mainWaker: Waker | null = null;
      run((function* () {
        mainWaker = yield* pollFn((cx) => cx.waker);
        other.close(); // runs the other executor's cancel and its cleanup, inside this task
      })());
      expect(cleanup.polls).toBe(1); // by Drive, once, not first by the yield* with this task's waker
      expect(cleanup.wakers).not.toContain(mainWaker);
    } finally {
      other.close();
    }
  });

  it("a generator a task steps by hand polls with the task's context, and leaves no mark after the step", () => {
    const later = gate();
    const polledBy = run((function* () {
      const gen = (function* () {
        return yield* later;
      })();
      const step = gen.next(); // polled at once: pending, so handed out
      expect(step.value).toBe(later);
      later.drop(); // abandoned: the armed future is dropped, as the Future docs ask
      gen.return(undefined as never);
      return yield* pollFn((cx) => cx.waker);
    })());
    expect(later.wakers).toEqual([polledBy]);
    expect([coop.cx, coop.polledPending, coop.depth]).toEqual([null, null, 0]);
  });

  it('a generator stepped by hand, outside a task, gets the future itself, unpolled', () => {
    const fut = gate();
    const gen = (function* () {
      return yield* fut;
    })();
    const step = gen.next();
    expect(step.value).toBe(fut);
    expect(fut.polls).toBe(0);
  });
});
