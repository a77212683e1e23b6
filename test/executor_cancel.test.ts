// Cancellation corners: a drop that throws, a second cancel, awaiting cleanup of a dropped future
// with two executors on the thread.
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  Executor,
  PENDING,
  pollFn,
  select,
  sleep,
  spawn,
  timeout,
  yieldNow,
  type Future,
  type JoinHandle,
  type Task,
} from '../src/index.js';
import { BACKEND, catching, run } from './util.js';

/** A task whose own finally throws when it is dropped. */
function* failingCleanup(): Task<void> {
  try {
    yield* sleep(60_000);
  } finally {
    throw new Error('inner cleanup failed');
  }
}

describe('cancelling a task whose awaited future throws when dropped', () => {
  const wrappers: Array<[string, () => Future<unknown>]> = [
    ['timeout', () => timeout(1000, failingCleanup())],
    ['select', () => select(failingCleanup(), sleep(60_000))],
  ];

  for (const [name, wrap] of wrappers) {
    it(`cancel() still runs the task's own finally, then fails with the drop error (${name})`, () => {
      const log: string[] = [];
      const error = run((function* () {
        const t = spawn((function* (): Task<void> {
          try {
            yield* wrap();
          } finally {
            log.push('own finally');
          }
        })());
        yield* sleep(5);
        t.cancel();
        return yield* catching(t);
      })());
      expect(log).toEqual(['own finally']);
      expect((error as Error).message).toBe('inner cleanup failed');
    });
  }

  it("a finally that awaits runs to its end first; the drop error is thrown when it completes", () => {
    const log: string[] = [];
    const error = run((function* () {
      const t = spawn((function* (): Task<void> {
        try {
          yield* timeout(1000, failingCleanup());
        } finally {
          yield* sleep(5);
          log.push('own finally done');
        }
      })());
      yield* sleep(5);
      t.cancel();
      expect(t.finished).toBe(false);
      return yield* catching(t);
    })());
    expect(log).toEqual(['own finally done']);
    expect((error as Error).message).toBe('inner cleanup failed');
  });

  it("an error thrown by the task's own finally replaces the drop error, as in JS", () => {
    const error = run((function* () {
      const t = spawn((function* (): Task<void> {
        try {
          yield* timeout(1000, failingCleanup());
        } finally {
          throw new Error('own finally failed');
        }
      })());
      yield* sleep(5);
      t.cancel();
      return yield* catching(t);
    })());
    expect((error as Error).message).toBe('own finally failed');
  });
});

describe('a cancelled task whose finally yields a non-future', () => {
  it('gets the TypeError thrown back in at that yield, so the finally blocks around it still run', () => {
    const log: string[] = [];
    const error = run((function* () {
      const handle = spawn((function* () {
        try {
          try {
            yield* sleep(60_000);
          } finally {
            log.push('inner finally');
            yield Promise.resolve(1) as never; // a mistake: not a future
            log.push('not reached');
          }
        } finally {
          log.push('outer finally');
        }
      })());
      yield* sleep(1);
      handle.cancel();
      return yield* catching(handle);
    })());
    expect(log).toEqual(['inner finally', 'outer finally']);
    expect((error as Error).message).toMatch(/^a cancelled task yielded an object \(Promise\) in a finally block/);
  });
});

describe('cancelling twice', () => {
  it("cancel() again while a cancelled task's finally awaits changes nothing: the cleanup runs to its end", () => {
    const log: string[] = [];
    run((function* () {
      const t = spawn((function* (): Task<void> {
        try {
          yield* sleep(60_000);
        } finally {
          log.push('cleanup start');
          yield* sleep(20);
          log.push('cleanup end');
        }
      })());
      yield* sleep(5);
      t.cancel();
      yield* sleep(5); // the cleanup now awaits its sleep(20)
      t.cancel();
      log.push(String((yield* catching(t)) instanceof CancelledError));
    })());
    expect(log).toEqual(['cleanup start', 'cleanup end', 'true']);
  });
});

describe('cancelling from plain code', () => {
  it("the cancelled task's finally runs as inside a turn: blockOn() there is refused, spawn() reaches the executor", () => {
    const executor = new Executor({ backend: BACKEND });
    const log: string[] = [];
    let waker: { wake(): void } | undefined;
    const handle = executor.spawn((function* (): Task<void> {
      try {
        // A drop that wakes its own task: a blockOn() in the finally used to poll it mid-cancel.
        yield* pollFn<void>((cx) => ((waker = cx.waker), PENDING), () => waker!.wake());
      } finally {
        try {
          executor.blockOn(sleep(1));
          log.push('nested blockOn ran');
        } catch (error) {
          log.push((error as Error).message);
        }
        spawn((function* (): Task<void> {
          log.push('spawned by the finally');
        })());
      }
    })());
    executor.turn(0);
    handle.cancel();
    expect(log).toEqual(['blockOn() cannot be called from inside a running task: use yield* or spawn()']);
    expect(executor.blockOn((function* () { return yield* catching(handle); })())).toBeInstanceOf(CancelledError);
    expect(log).toEqual(['blockOn() cannot be called from inside a running task: use yield* or spawn()', 'spawned by the finally']);
    expect(executor.taskCount).toBe(0);
    executor.close();
  });
});

describe('two executors on one thread', () => {
  it("a task of one executor cancelled from another executor's cancel runs its finally on its own executor", () => {
    const a = new Executor({ backend: BACKEND });
    const b = new Executor({ backend: BACKEND });
    const log: string[] = [];
    const victim = b.spawn((function* (): Task<void> {
      try {
        yield* sleep(60_000);
      } finally {
        log.push(Executor.tryCurrent() === b ? 'finally on b' : 'finally elsewhere');
        spawn((function* (): Task<void> {
          log.push('follow-up ran');
        })());
      }
    })());
    a.spawn((function* (): Task<void> {
      try {
        yield* sleep(60_000);
      } finally {
        victim.cancel(); // a's cancel, run by a.close() inside b's task
      }
    })());
    a.turn(0);
    b.blockOn((function* () {
      yield* sleep(0);
      a.close();
      yield* sleep(5);
    })());
    expect(log).toEqual(['finally on b', 'follow-up ran']);
    b.close();
  });


  it("a dropped future's awaiting cleanup runs on the cancelled task's executor, not the one that ran last", () => {
    const exA = new Executor({ backend: BACKEND });
    const exB = new Executor({ backend: BACKEND });
    const log: string[] = [];
    try {
      function* cleanupTask(): Task<void> {
        try {
          yield* sleep(60_000);
        } finally {
          yield* sleep(5);
          log.push('cleanup finished');
        }
      }
      const h = exA.spawn((function* () { yield* timeout(1000, cleanupTask()); })());
      exA.turn(0); // the task now awaits the timeout
      exB.blockOn(yieldNow()); // exB entered a turn last
      h.cancel(); // from plain code: the timeout drops cleanupTask, whose finally awaits
      expect(exA.taskCount).toBe(2); // the cancelled task, waiting for the cleanup task it owns
      expect(exB.taskCount).toBe(0);
      const t0 = performance.now();
      while (exA.turn(50) && performance.now() - t0 < 2000);
      expect(log).toEqual(['cleanup finished']);
      expect(h.finished).toBe(true);
    } finally {
      exA.close();
      exB.close();
    }
  });

  it("Executor.close() from another executor's task leaves that executor running", () => {
    const other = new Executor({ backend: BACKEND });
    other.spawn(sleep(60_000));
    const value = run((function* () {
      const before = Executor.current();
      other.close();
      expect(Executor.current()).toBe(before);
      yield* sleep(1);
      return 'still running';
    })());
    expect(value).toBe('still running');
  });
});

describe('a task whose root is a select (not a generator) and whose cleanup awaits', () => {
  /** A child whose finally sleeps `ms`, then throws `name` if given. */
  function* slowCleanup(ms: number, fails?: string): Task<void> {
    try {
      yield* sleep(60_000);
    } finally {
      yield* sleep(ms);
      if (fails !== undefined) throw new Error(fails);
    }
  }

  it('cancel(): the first cleanup error fails the handle, a second goes to the unhandled-error policy (it was lost)', () => {
    const unhandled: unknown[] = [];
    const executor = new Executor({ backend: BACKEND, onUnhandledError: (error) => unhandled.push(error) });
    try {
      const failure = executor.blockOn((function* () {
        const handle = spawn(select(slowCleanup(5, 'A'), slowCleanup(5, 'B')));
        yield* sleep(5);
        handle.cancel();
        const error = yield* catching(handle);
        yield* sleep(20);
        return error;
      })());
      expect((failure as Error).message).toBe('A');
    } finally {
      executor.close();
    }
    expect(unhandled).toHaveLength(1);
    expect((unhandled[0] as Error).message).toBe('B');
  });

  it('a cleanup that awaits its own task gets CancelledError (it waited for good)', () => {
    const seen: unknown[] = [];
    run((function* () {
      let handle: JoinHandle<unknown> | null = null;
      handle = spawn(select((function* (): Task<void> {
        try {
          yield* sleep(60_000);
        } finally {
          seen.push(yield* catching(handle!));
        }
      })(), sleep(60_000)));
      yield* sleep(5);
      handle.cancel();
      seen.push(yield* catching(handle));
    })(), 2000);
    expect(seen).toHaveLength(2);
    for (const error of seen) expect(error).toBeInstanceOf(CancelledError);
  });

  it('Executor.close() settles the handles of tasks whose cleanup still waits (they stayed pending for good)', () => {
    const executor = new Executor({ backend: BACKEND });
    const selectRoot = executor.spawn(select(slowCleanup(1000), sleep(60_000)));
    const generatorRoot = executor.spawn(slowCleanup(1000));
    executor.turn(0);
    executor.close();
    for (const handle of [selectRoot, generatorRoot]) {
      expect(handle.finished).toBe(true);
      expect(() => handle.poll({ waker: { wake() {} } })).toThrow(CancelledError);
    }
  });
});
