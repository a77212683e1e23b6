// The attached mode (an executor inside Node's event loop) and the Promise <-> Future bridges.
// In-process tests run on Node's loop (vitest's async tests); process lifetime and uncaught
// errors run in child processes over dist/ with a kill timer.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Attachment,
  CancelledError,
  ClosedError,
  Executor,
  NotAttachedError,
  PENDING,
  StateError,
  TcpListener,
  attach,
  fromPromise,
  oneshot,
  pollFn,
  sleep,
  timeout,
  toPromise,
  yieldNow,
  type Task,
} from '../src/index.js';
import { runNode, type ChildRun } from './child.js';
import { BACKEND, openFds, run } from './util.js';

const ROOT = new URL('..', import.meta.url);
const INDEX = new URL('dist/src/index.js', ROOT).href;
const ADDON = new URL('build/Release/wakeloop.node', ROOT).pathname;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs an ES module snippet (with `w` = wakeloop from dist/) in a child process; kills it after 15 s. */
function child(code: string): Promise<ChildRun> {
  return runNode(['--input-type=module', '-e', `import * as w from ${JSON.stringify(INDEX)};\n${code}`], {
    env: { WAKELOOP_BACKEND: 'epoll' },
    killAfterMs: 15_000,
  });
}

describe('attach() on the poll backend', () => {
  it('attach() throws a clear error: the attached mode needs epoll', () => {
    const executor = new Executor({ backend: 'poll' });
    expect(() => attach(executor)).toThrow(/attach\(\) needs the epoll backend/);
    expect(executor.attached).toBe(false);
    expect(run((function* () { yield* sleep(1); return 'still usable'; })())).toBe('still usable');
    executor.close();
  });

  it('fromPromise() inside blockOn throws NotAttachedError: Promise continuations cannot run there', () => {
    const error = run((function* () {
      try {
        yield* fromPromise(Promise.resolve(1));
        return null;
      } catch (e) {
        return e;
      }
    })());
    expect(error).toBeInstanceOf(NotAttachedError);
    expect((error as Error).message).toMatch(/Promise continuations cannot run inside blockOn/);
  });

  it('fromPromise() and toPromise() reject bad input with a TypeError', () => {
    expect(() => fromPromise(42 as unknown as Promise<number>)).toThrow(TypeError);
    expect(() => toPromise((() => 1) as unknown as Task<number>)).toThrow(TypeError);
    expect(() => attach({} as Executor)).toThrow(TypeError);
  });
});

describe.skipIf(BACKEND === 'poll')('attach()', () => {
  let executor: Executor;
  let attachment: Attachment | undefined;

  afterEach(() => {
    attachment?.detach();
    attachment = undefined;
    executor?.close();
  });

  function attached(): Executor {
    executor = new Executor({ backend: 'epoll' });
    attachment = attach(executor);
    return executor;
  }

  it('attach() runs tasks from Node\'s loop; toPromise() resolves with the value after the timer', async () => {
    const ex = attached();
    const t0 = performance.now();
    const value = await toPromise(function* () { yield* sleep(30); return 42; }(), ex);
    expect(value).toBe(42);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    expect(ex.attached).toBe(true);
  });

  it('attach() re-arms its Node timer when an earlier deadline appears', async () => {
    const ex = attached();
    const slow = toPromise(function* () { yield* sleep(2000); return 'slow'; }(), ex);
    await pause(10); // the 2 s timer is armed
    const t0 = performance.now();
    expect(await toPromise(function* () { yield* sleep(20); return 'fast'; }(), ex)).toBe('fast');
    expect(performance.now() - t0).toBeLessThan(1000);
    ex.close(); // cancels the slow one
    await expect(slow).rejects.toBeInstanceOf(CancelledError);
  });

  it('attach() serves TCP inside Node\'s loop: a wakeloop echo server answers a node:net client', async () => {
    const ex = attached();
    const listener = await toPromise(TcpListener.bind('127.0.0.1:0'), ex);
    const served = toPromise(function* () {
      const stream = yield* listener.accept();
      for (;;) {
        const data = yield* stream.read();
        if (data.length === 0) break;
        yield* stream.writeAll(data);
      }
      stream.close();
      listener.close();
      return 'served';
    }(), ex);
    const socket = connect(listener.localAddress.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.end(Buffer.alloc(100_000, 7));
    await once(socket, 'close');
    expect(Buffer.concat(chunks).equals(Buffer.alloc(100_000, 7))).toBe(true);
    expect(await served).toBe('served');
  });

  it('attach() and detach() repeatedly leave no fd or Node timer behind, and blockOn works again', async () => {
    executor = new Executor({ backend: 'epoll' });
    const fds = openFds();
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 20; i++) {
      const a = attach(executor);
      expect(await toPromise(function* () { yield* sleep(1); return i; }(), executor)).toBe(i);
      executor.spawn(sleep(10_000)); // pending work across the detach
      a.detach();
      a.detach(); // idempotent
      expect(a.detached).toBe(true);
      expect(executor.attached).toBe(false);
    }
    expect(executor.taskCount).toBe(20);
    expect(executor.blockOn(function* () { yield* sleep(1); return 'plain'; }())).toBe('plain');
    await pause(20); // uv_close completes on the next loop turn
    expect(openFds()).toBe(fds);
    // vitest's own timers come and go: ours must not add any.
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timers);
  });

  it('attach() twice throws a clear error; blockOn() and turn() on an attached executor throw', () => {
    const ex = attached();
    expect(() => attach(ex)).toThrow(/already attached/);
    expect(() => attach(ex)).toThrow(StateError);
    expect(() => ex.blockOn(sleep(1))).toThrow(StateError);
    expect(() => ex.blockOn(sleep(1))).toThrow(/Executor\.blockOn\(\): this executor is attached to Node's event loop/);
    expect(() => ex.turn(0)).toThrow(/Executor\.turn\(\): this executor is attached/);
    expect(() => new Attachment(ex)).toThrow(/already attached/); // the constructor checks too
    expect(() => new Attachment({} as never)).toThrow(/executor must be an Executor, got an object/);
    ex.close();
    expect(() => attach(ex)).toThrow(ClosedError);
    expect(() => attach(ex)).toThrow(/attach\(\): the executor is closed/);
  });

  it('toPromise() rejects with the task\'s own error, stack included', async () => {
    const ex = attached();
    let original: Error | undefined;
    function* failingTask(): Task<void> {
      yield* sleep(1);
      throw (original = new Error('from the task'));
    }
    const error = await toPromise(failingTask(), ex).catch((e: unknown) => e);
    expect(error).toBe(original);
    expect((error as Error).stack).toMatch(/at failingTask/);
  });

  it('toPromise() of a JoinHandle that is cancelled rejects with CancelledError', async () => {
    const ex = attached();
    const handle = ex.spawn(sleep(60_000));
    const promise = toPromise(handle, ex);
    await pause(5);
    handle.cancel();
    await expect(promise).rejects.toBeInstanceOf(CancelledError);
  });

  it('toPromise() of a task its executor closes before it ran rejects with CancelledError', async () => {
    const ex = new Executor({ backend: 'epoll' }); // not attached: nothing runs the task before close()
    const promise = toPromise(function* () { return 'never'; }(), ex);
    ex.close();
    await expect(promise).rejects.toBeInstanceOf(CancelledError);
  });

  it('toPromise(handle) without an executor waits on the handle\'s own executor, attached but not the default', async () => {
    const ex = attached();
    const handle = ex.spawn(function* () { yield* sleep(5); return 'from ex'; }());
    await expect(toPromise(handle)).resolves.toBe('from ex');
  });

  it('toPromise(task, executor) throws ClosedError at once for a closed executor, as spawn() does', () => {
    const ex = new Executor({ backend: 'epoll' });
    ex.close();
    expect(() => toPromise(function* () { return 1; }(), ex)).toThrow(ClosedError);
  });

  it('toPromise(handle) after its executor closed settles with how the task ended', async () => {
    const ex = attached();
    const ran = ex.spawn(function* () { return 'ran'; }());
    await pause(5);
    const never = ex.spawn(function* () { return 'never runs'; }());
    ex.close();
    await expect(toPromise(ran)).resolves.toBe('ran');
    await expect(toPromise(never)).rejects.toBeInstanceOf(CancelledError);
  });

  it('toPromise(handle) of a task whose cleanup throws when close() cancels it rejects with that error', async () => {
    const ex = attached();
    const handle = ex.spawn(function* () {
      try {
        yield* sleep(60_000);
      } finally {
        throw new Error('cleanup failed');
      }
    }());
    const promise = toPromise(handle);
    await pause(5);
    ex.close(); // the promise took charge of the failure: close() reports nothing
    await expect(promise).rejects.toThrow('cleanup failed');
  });

  it('toPromise(handle, otherExecutor) joins the task at once: its failure goes to the promise, and nothing is reported', async () => {
    const r = await child(`
      const e1 = new w.Executor(), e2 = new w.Executor();
      w.attach(e1);
      w.attach(e2);
      const h = e1.spawn(function* () { throw new Error('task failed'); }());
      w.toPromise(h, e2).catch((e) => process.stdout.write('rejected: ' + e.message + '\\n'));`);
    expect(r).toMatchObject({ code: 0, stdout: 'rejected: task failed\n', stderr: '' });
  });

  it('fromPromise() of a Promise that rejects before the task first awaits it: the task catches it, Node reports nothing', async () => {
    const ex = attached();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const rejection = new Error('early');
    const future = fromPromise(Promise.reject(rejection));
    await pause(10); // Node's unhandled-rejection check runs in between
    const caught = await toPromise(function* () {
      try {
        yield* future;
        return null;
      } catch (e) {
        return e;
      }
    }(), ex);
    process.off('unhandledRejection', onUnhandled);
    expect(caught).toBe(rejection);
    expect(unhandled).toEqual([]);
  });

  it('fromPromise() of a promise that resolves to PENDING throws a TypeError (the task waited for good)', async () => {
    const ex = attached();
    const message = await toPromise(function* () {
      try {
        yield* timeout(5_000, fromPromise(Promise.resolve(PENDING)));
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    }(), ex);
    expect(message).toMatch(/^fromPromise\(\): the promise resolved to PENDING/);
  });

  it('fromPromise() gives the value, or throws the rejection (same error), inside an attached executor', async () => {
    const ex = attached();
    const rejection = new Error('rejected');
    const out = await toPromise(function* () {
      const a = yield* fromPromise(new Promise<number>((r) => setTimeout(() => r(20), 10)));
      const b = yield* fromPromise(Promise.resolve(22));
      let caught: unknown;
      try {
        yield* fromPromise(Promise.reject(rejection));
      } catch (e) {
        caught = e;
      }
      return { sum: a + b, same: caught === rejection };
    }(), ex);
    expect(out).toEqual({ sum: 42, same: true });
  });

  it('cancelling a task that awaits fromPromise() drops its interest: no wake, no unhandled rejection', async () => {
    const ex = attached();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    let rejectLater!: (e: Error) => void;
    const pending = new Promise<never>((_, reject) => (rejectLater = reject));
    const log: string[] = [];
    const handle = ex.spawn(function* () {
      try {
        yield* fromPromise(pending);
        log.push('resumed');
      } finally {
        log.push('finally');
      }
    }());
    await pause(10);
    handle.cancel();
    expect(log).toEqual(['finally']);
    rejectLater(new Error('too late'));
    await pause(20);
    process.off('unhandledRejection', onUnhandled);
    expect(log).toEqual(['finally']);
    expect(unhandled).toEqual([]);
    expect(ex.taskCount).toBe(0);
    expect(ex.hasReadyTasks).toBe(false);
  });

  it('detach() from inside a task ends the current turn: tasks it wakes afterwards wait for the next driver', async () => {
    const ex = attached();
    const a = attachment!;
    const { sender, receiver } = oneshot<number>();
    const log: string[] = [];
    ex.spawn(function* () { log.push(`B got ${yield* receiver}`); }());
    ex.spawn(function* () {
      yield* sleep(5);
      a.detach();
      sender.send(1); // wakes B in what was an attached turn
      log.push('A detached');
    }());
    await pause(60);
    expect(log).toEqual(['A detached']);
    expect(ex.taskCount).toBe(1);
    ex.blockOn(yieldNow()); // the plain state: B runs now
    expect(log).toEqual(['A detached', 'B got 1']);
  });

  it('Executor.close() ends its attachment: attachment.detached is true at once', () => {
    const ex = attached();
    const a = attachment!;
    ex.spawn(sleep(60_000));
    ex.close();
    expect(a.detached).toBe(true);
    expect(ex.attached).toBe(false);
  });

  it('a wake outside a turn (a Node timer callback sending on a oneshot) schedules a turn', async () => {
    const ex = attached();
    const { sender, receiver } = oneshot<string>();
    setTimeout(() => sender.send('from a Node callback'), 10);
    expect(await toPromise(receiver, ex)).toBe('from a Node callback');
  });

  it('a turn that ends with tasks still ready continues on setImmediate; Node callbacks run in between', async () => {
    const ex = attached();
    let nodeTicks = 0;
    const ticker = setInterval(() => nodeTicks++, 0);
    const seenByTask = await toPromise(function* () {
      const start = performance.now();
      while (performance.now() - start < 50) yield* yieldNow(); // always ready, never in the kernel
      return nodeTicks;
    }(), ex);
    clearInterval(ticker);
    expect(seenByTask).toBeGreaterThan(0);
  });

  it('a wake from another thread (notifyBlocker) reaches an attached executor through the epoll fd', async () => {
    const ex = attached();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const woken = toPromise(pollFn((cx) => {
      if (Atomics.load(flag, 0) === 1) return 'woken';
      Executor.current().reactor.waitNotify(cx.waker);
      return PENDING;
    }), ex);
    await pause(10);
    const worker = new Worker(
      `const { workerData: d } = require('node:worker_threads');
       Atomics.store(new Int32Array(d.sab), 0, 1);
       require(d.addon).notifyBlocker(d.id);`,
      { eval: true, workerData: { sab: flag.buffer, addon: ADDON, id: ex.reactor.blocker.registryId } },
    );
    expect(await woken).toBe('woken');
    await once(worker, 'exit');
  });
});

describe.skipIf(BACKEND === 'poll')('attach() and process lifetime (child processes)', () => {
  it('the process stays alive while attached work is pending, then exits by itself', async () => {
    const r = await child(`
      w.attach();
      w.spawn(function* () { yield* w.sleep(300); process.stdout.write('done\\n'); }());
      process.stdout.write('main returned\\n');`);
    expect(r).toMatchObject({ code: 0, stdout: 'main returned\ndone\n', stderr: '' });
    expect(r.ms).toBeGreaterThanOrEqual(300);
  });

  it('an attached executor with no work does not keep the process alive', async () => {
    const r = await child(`w.attach(); process.stdout.write('attached\\n');`);
    expect(r).toMatchObject({ code: 0, stdout: 'attached\n', stderr: '' });
  });

  it('Executor.close() while attached ends the attachment: pending work no longer keeps the process alive', async () => {
    const r = await child(`
      const a = w.attach();
      w.spawn(w.sleep(60_000));
      setTimeout(() => { a.executor.close(); process.stdout.write(String(a.executor.attached) + '\\n'); }, 20);`);
    expect(r).toMatchObject({ code: 0, stdout: 'false\n', stderr: '' });
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a sleep longer than setTimeout\'s 2^31-1 ms limit does not turn the attached executor every millisecond', async () => {
    const r = await child(`
      let warnings = 0;
      process.on('warning', (e) => { if (e.name === 'TimeoutOverflowWarning') warnings++; });
      const a = w.attach();
      let turns = 0;
      const turn = a.executor._turnAttached.bind(a.executor);
      a.executor._turnAttached = () => { turns++; return turn(); };
      const h = w.spawn(w.sleep(30 * 24 * 3600 * 1000)); // 30 days
      setTimeout(() => { process.stdout.write(turns + ' ' + warnings + '\\n'); h.cancel(); }, 300);`);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [turns, warnings] = r.stdout.trim().split(' ').map(Number);
    expect(warnings).toBe(0);
    expect(turns).toBeLessThanOrEqual(2); // the task's first poll; not one per millisecond
    expect(r.ms).toBeLessThan(10_000); // cancelled, the sleep no longer keeps the process alive
  });

  it('a task that throws in the attached mode fails the process with UnhandledTaskError, as in blockOn', async () => {
    const r = await child(`
      w.attach();
      w.spawn(function* failingTask() { yield* w.sleep(5); throw new Error('boom in task'); }());`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UnhandledTaskError: a spawned task failed and nobody joined it: boom in task/);
    expect(r.stderr).toMatch(/at failingTask/);
  });

  it('after an UnhandledTaskError caught by process.on(\'uncaughtException\'), the attached executor goes on', async () => {
    const r = await child(`
      process.on('uncaughtException', (e) => process.stdout.write(e.name + '\\n'));
      w.attach();
      w.spawn(function* () { yield* w.sleep(5); throw new Error('boom'); }());
      w.spawn(function* () { yield* w.sleep(50); process.stdout.write('later task ran\\n'); }());`);
    expect(r).toMatchObject({ code: 0, stdout: 'UnhandledTaskError\nlater task ran\n' });
  });

  it('a task cancelled from plain Node code ends the work: the process exits by itself', async () => {
    const r = await child(`
      w.attach();
      const h = w.spawn(function* () { try { yield* w.sleep(60_000); } finally { process.stdout.write('finally\\n'); } }());
      setTimeout(() => h.cancel(), 20);`);
    expect(r).toMatchObject({ code: 0, stdout: 'finally\n', stderr: '' });
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a listener closed from plain Node code, with no task left, lets the process exit by itself', async () => {
    const r = await child(`
      w.attach();
      const listener = await w.toPromise(w.TcpListener.bind('127.0.0.1:0'));
      setTimeout(() => { listener.close(); process.stdout.write('closed\\n'); }, 20);`);
    expect(r).toMatchObject({ code: 0, stdout: 'closed\n', stderr: '' });
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a signal wait cancelled from plain Node code lets the process exit by itself', async () => {
    const r = await child(`
      w.attach();
      const h = w.spawn(w.signal('SIGUSR2'));
      setTimeout(() => { h.cancel(); process.stdout.write('cancelled\\n'); }, 20);`);
    expect(r).toMatchObject({ code: 0, stdout: 'cancelled\n', stderr: '' });
    expect(r.ms).toBeLessThan(10_000);
  });

  it("with an 'uncaughtException' handler, every unhandled failure of a turn is reported, one per turn", async () => {
    const r = await child(`
      process.on('uncaughtException', (e) => process.stdout.write(e.name + ': ' + e.cause.message + '\\n'));
      w.attach();
      w.spawn(function* () { throw new Error('first'); }());
      w.spawn(function* () { throw new Error('second'); }());`);
    expect(r).toMatchObject({ code: 0, stdout: 'UnhandledTaskError: first\nUnhandledTaskError: second\n' });
  });

  it('a task that throws a null-prototype object in the attached mode is reported as an UnhandledTaskError with that cause', async () => {
    const r = await child(`
      const thrown = Object.create(null);
      process.on('uncaughtException', (e) => process.stdout.write(e.name + ' ' + (e.cause === thrown) + '\\n'));
      w.attach();
      w.spawn(function* () { throw thrown; }());`);
    expect(r).toMatchObject({ code: 0, stdout: 'UnhandledTaskError true\n' });
  });

  it('a task cancelled from plain Node code whose finally throws is reported as an UnhandledTaskError', async () => {
    const r = await child(`
      process.on('uncaughtException', (e) => process.stdout.write(e.name + ': ' + e.cause.message + '\\n'));
      w.attach();
      const h = w.spawn(function* () { try { yield* w.sleep(60_000); } finally { throw new Error('cleanup failed'); } }());
      setTimeout(() => h.cancel(), 20);`);
    expect(r).toMatchObject({ code: 0, stdout: 'UnhandledTaskError: cleanup failed\n' });
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a server that closes everything lets the process exit by itself: no handle leaks', async () => {
    const r = await child(`
      import net from 'node:net';
      w.attach();
      const listener = await w.toPromise(w.TcpListener.bind('127.0.0.1:0'));
      w.spawn(function* () {
        const s = yield* listener.accept();
        const data = yield* s.read();
        yield* s.writeAll(data);
        s.close();
        listener.close();
      }());
      const c = net.connect(listener.localAddress.port, '127.0.0.1', () => c.write('ping'));
      c.on('data', (d) => { process.stdout.write(d + '\\n'); c.destroy(); });`);
    expect(r).toMatchObject({ code: 0, stdout: 'ping\n', stderr: '' });
  });
});
