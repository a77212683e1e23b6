import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../src/errors.js';
import { ThreadChannel } from '../../src/thread/channel.js';
import { ThreadWorker, WorkerControl } from '../../src/thread/worker.js';
import { runNode } from '../child.js';
import { run } from '../util.js';

// The worker script is plain JS over dist/ (workers do not load .ts); this thread runs the TS
// source. They share only the SharedArrayBuffers inside the cloneable forms.
const ECHO = new URL('./fixtures/echo_worker.mjs', import.meta.url);
const DEFAULT_EXECUTOR_WORKER = new URL('./fixtures/default_executor_worker.mjs', import.meta.url);
const UNDER_FLAGS = new URL('./fixtures/under_flags.mjs', import.meta.url);
const WORKER_JS = JSON.stringify(new URL('../../dist/src/thread/worker.js', import.meta.url).href);

describe('ThreadWorker', () => {
  it('ThreadWorker.post() reaches a worker blocked in block(-1); requestStop() ends it gracefully', async () => {
    const out = new ThreadChannel<number | string>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable() } });
    const got = run((function* () {
      const seen: Array<number | string | undefined> = [];
      w.post(1);
      seen.push(yield* out.recv());
      w.post(2); // the worker has been idle in the kernel since the first message
      w.post(3);
      seen.push(yield* out.recv(), yield* out.recv());
      w.requestStop();
      seen.push(yield* out.recv());
      return seen;
    })());
    expect(got).toEqual([2, 4, 6, 'stopped']);
    expect(w.registryId).toBeGreaterThan(0);
    expect(await w.exited).toBe(0);
  });

  it('ThreadWorker.terminate() stops a worker blocked in the kernel (worker.terminate() alone would not)', async () => {
    const out = new ThreadChannel<number | string>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable(), sleep: true } });
    run((function* () {
      w.post(1);
      expect(yield* out.recv()).toBe(2);
      expect(yield* out.recv()).toBe('sleeping'); // now in block(~60000)
    })());
    const t0 = performance.now();
    w.terminate();
    expect(await w.exited).toBe(1);
    expect(performance.now() - t0).toBeLessThan(5_000); // the worker slept for 60 s
  });

  it('ThreadWorker.post() refuses what cannot cross threads and a transferList that is not an array, then posts on', async () => {
    const out = new ThreadChannel<number>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable() } });
    const error = (() => {
      try {
        w.post(() => 1);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(TypeError);
    expect(error?.message).toBe('ThreadWorker.post(): the message could not be cloned or transferred to the worker (() => 1 could not be cloned.)');
    expect((error?.cause as Error).name).toBe('DataCloneError');
    expect(() => w.post(1, 'x' as never)).toThrow(new TypeError('ThreadWorker.post(message, transferList): transferList must be an array, got string x'));
    expect(() => w.post(1, [{}] as never)).toThrow(/^ThreadWorker\.post\(\): .*Found invalid object in transferList/);
    w.post(21, []);
    expect(run(out.recv())).toBe(42);
    w.requestStop();
    expect(await w.exited).toBe(0);
    // The port is closed: the message was dropped without a word.
    expect(() => w.post(1)).toThrow(new ClosedError('ThreadWorker.post(): the worker thread exited (code 0); its queue'));
  });

  it("ThreadWorker: an uncaught error in the worker is emitted as 'error' on worker, then exited resolves with 1", async () => {
    const w = new ThreadWorker('data:text/javascript,throw new RangeError("worker boom")');
    const seen = new Promise<Error>((resolve) => w.worker.on('error', resolve));
    expect(await w.exited).toBe(1);
    expect(await seen).toMatchObject({ name: 'RangeError', message: 'worker boom' });
  });

  it('ThreadWorker.requestStop() refuses a grace that is not a number >= 0, and the worker keeps running', async () => {
    const out = new ThreadChannel<number | string>();
    const w = new ThreadWorker(ECHO, { workerData: { out: out.toCloneable() } });
    for (const grace of ['5000', 'abc', Number.NaN, {}]) {
      expect(() => w.requestStop(grace as never)).toThrow(/^ThreadWorker\.requestStop\(\): graceMs must be a number of milliseconds, got /);
    }
    expect(() => w.requestStop(-1)).toThrow(RangeError);
    expect(w.stopRequested).toBe(false);
    w.post(21);
    expect(run(out.recv())).toBe(42); // not terminated by a backstop of 0 ms
    w.requestStop();
    expect(await w.exited).toBe(0);
  });

  it('new ThreadWorker() and WorkerControl.connect() say what they got', () => {
    expect(() => new ThreadWorker(42 as never)).toThrow(/^new ThreadWorker\(script\): script must be a file: or data: URL, or a path .* got number 42$/);
    // Node's own ERR_INVALID_URL_SCHEME named neither ThreadWorker nor the script.
    expect(() => new ThreadWorker(new URL('http://127.0.0.1/worker.js'))).toThrow(/^new ThreadWorker\(script\): script must be a file: or data: URL, .* got URL http:\/\/127\.0\.0\.1\/worker\.js$/);
    expect(() => new ThreadWorker('worker.js')).toThrow(/absolute or starts with \.\/ or \.\.\/, got string worker\.js$/);
    const missing = 'new ThreadWorker(script): script must name an existing file, got';
    expect(() => new ThreadWorker('/no/such/worker.mjs')).toThrow(new TypeError(`${missing} string /no/such/worker.mjs`));
    expect(() => new ThreadWorker('./no_such_worker.mjs')).toThrow(`${missing} string ./no_such_worker.mjs (${process.cwd()}/no_such_worker.mjs)`);
    const url = new URL('./no_such_worker.mjs', ECHO);
    expect(() => new ThreadWorker(url)).toThrow(`${missing} URL ${url.href} (${fileURLToPath(url)})`);
    expect(() => new ThreadWorker('file:///no/such/worker.mjs')).toThrow(`${missing} string file:///no/such/worker.mjs (/no/such/worker.mjs)`);
    expect(() => new ThreadWorker(new URL('./', ECHO))).toThrow(missing); // a directory is no script
    expect(() => new ThreadWorker(ECHO, 5 as never)).toThrow('new ThreadWorker(script, options): options must be an object, got number 5');
    expect(() => new ThreadWorker(ECHO, [] as never)).toThrow('new ThreadWorker(script, options): options must be an object, got an object (Array)');
    expect(() => new ThreadWorker(ECHO, { name: 7 as never })).toThrow('options.name must be a string, got number 7');
    expect(() => new ThreadWorker(ECHO, { workerData: () => 1 })).toThrow(
      new TypeError('new ThreadWorker(): options.workerData could not be cloned or transferred to the worker (() => 1 could not be cloned.)'),
    );
    expect(() => WorkerControl.connect(5 as never)).toThrow('WorkerControl.connect(executor): executor must be an Executor, got number 5');
    // On a thread no ThreadWorker started (here, vitest's): it spoke of toCloneable().
    expect(() => WorkerControl.connect()).toThrow(new TypeError("WorkerControl.connect(): this thread was not started by a ThreadWorker (its workerData is not a ThreadWorker's)"));
  });
});

describe('ThreadWorker and process lifetime', () => {
  it.each(['beforeBlockOn', 'inTask'])(
    'WorkerControl.connect() with no executor (%s) publishes the default executor, so terminate() ends a worker asleep in the kernel',
    async (mode) => {
      const script = `
        import { ThreadWorker } from ${WORKER_JS};
        const w = new ThreadWorker(new URL(${JSON.stringify(DEFAULT_EXECUTOR_WORKER.href)}), { workerData: ${JSON.stringify(mode)} });
        for (let i = 0; i < 200 && w.registryId === 0; i++) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 100)); // asleep in block(~60000) by now
        console.log('published ' + (w.registryId > 0));
        w.terminate();
        console.log('exit ' + (await w.exited));
      `;
      const child = await runNode(['--input-type=module', '-e', script], { killAfterMs: 15_000 });
      expect({ out: child.stdout, err: child.stderr, code: child.code }).toEqual({ out: 'published true\nexit 1\n', err: '', code: 0 });
      expect(child.ms).toBeLessThan(10_000);
    },
  );

  it.each([
    ['a script file', ['--max-old-space-size=256', '--expose-gc', '--title=wakeloop-flags', '--abort-on-uncaught-exception', fileURLToPath(UNDER_FLAGS)]],
    ['--input-type=module -e', ['--max-old-space-size=256', '--expose-gc', '--input-type=module', '-e', `await import(${JSON.stringify(UNDER_FLAGS.href)});`]],
  ])('ThreadWorker, poolScope() and serveOnThreads() start under Node flags a worker cannot be given (%s)', async (_, args) => {
    const child = await runNode(args, { killAfterMs: 20_000 });
    expect({ out: child.stdout, err: child.stderr, code: child.code }).toEqual({
      out: 'ThreadWorker exit 0\npoolScope 3\nserveOnThreads ready [0]\nserveOnThreads stopped 0\n',
      err: '',
      code: 0,
    });
  });
});

describe("the runtime's warnings from a worker thread", () => {
  it("an attached worker's go through its process.stderr, which a Worker with stderr: true captures (they went past it, to fd 2)", () => {
    const fixture = fileURLToPath(new URL('./fixtures/attached_warning.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [fixture], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^worker exit 0\ncaptured: wakeloop: a spawned task failed and nobody joined it:\nError: attached task failed\n/);
  });

  it('a long one reaches a piped stderr whole, the reader slow (it was cut at 64 KiB, where the pipe was full)', () => {
    const fixture = fileURLToPath(new URL('./fixtures/long_warning.mjs', import.meta.url));
    // The reader starts after 0.5 s: the worker's writes meet a full pipe.
    const r = spawnSync('bash', ['-c', `"$0" "$1" 2>&1 >/dev/null | { sleep 0.5; cat; }`, process.execPath, fixture], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wakeloop: a spawned task failed and nobody joined it:\nError: x{200000}END\n/);
  });
});
