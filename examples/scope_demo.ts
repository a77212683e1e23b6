// `wakeloop scope-demo`: the scoped-task trilemma in wakeloop's APIs. A parent/child task API can
// give at most two of: children run concurrently with the parent, children may run in parallel,
// children borrow the parent's data. spawn, scope and poolScope each pick a different two.
import { parseArgs } from 'node:util';
import { Executor, sleep, spawn, type Task } from '../src/index.js';
import { scope } from '../src/scope.js';
import { poolScope } from '../src/thread/pool.js';
import { integer, readCommandLine, say } from './command_line.js';
import { countPrimes } from './scope_demo_tasks.js';

const TASKS = new URL('./scope_demo_tasks.js', import.meta.url);
const USAGE = 'usage: wakeloop scope-demo [--limit N] [--workers N]';

const since = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;

/** A task that owns its input (a copy was moved into it) and sums it after `ms`. */
function* sumLater(owned: number[], ms: number): Task<number> {
  yield* sleep(ms);
  return owned.reduce((a, b) => a + b, 0);
}

/** spawn: concurrent with the parent, could move to another thread, so it must own its data. */
function* spawnCorner(): Task<void> {
  say('1. spawn: concurrent + parallelizable, no borrowing (each task owns its data)');
  const parts = [[1, 2, 3], [4, 5], [6]];
  const t0 = performance.now();
  const handles = parts.map((part, i) => spawn(sumLater([...part], 10 * (i + 1))));
  parts.length = 0; // the parent's own data is its business now: no task refers to it
  let ticks = 0;
  for (; ticks < 5; ticks++) yield* sleep(4); // the parent keeps working meanwhile
  const sums = [];
  for (const h of handles) sums.push(yield* h);
  say(`   3 tasks slept 10+20+30 ms while the parent ran ${ticks} ticks of its own: sums ${sums.join(', ')} in ${since(t0)}`);
  say('   (wakeloop runs them on this one thread; owning their data is what would let them move)');
}

/** scope: children borrow the parent's locals, because the scope outlives every child. */
function* scopeCorner(): Task<void> {
  say('2. scope: concurrent + borrowing (children use the parent\'s locals), not parallel');
  const seen: string[] = []; // a local of the parent, written by every child
  const t0 = performance.now();
  const children = yield* scope(function* (s) {
    for (const [name, ms] of [['a', 30], ['b', 10], ['c', 20]] as const) {
      s.spawn((function* () {
        yield* sleep(ms);
        seen.push(name);
      })());
    }
    seen.push('body'); // the body runs on while its children sleep
    return s.active;
  });
  say(`   ${children} children pushed into the parent's array; scope returned after the last one (${since(t0)}): [${seen.join(', ')}]`);
}

/** poolScope: tasks run in parallel on worker threads, share memory, the parent waits for all. */
function* poolCorner(limit: number, workers: number): Task<void> {
  say(`3. poolScope: parallel + borrowing (a SharedArrayBuffer), the parent waits for all; primes below ${limit}`);
  const chunks = 16;
  const bounds = (i: number): [number, number] => [Math.floor((limit * i) / chunks), Math.floor((limit * (i + 1)) / chunks)];
  const serialCells = new SharedArrayBuffer(4 * chunks);
  let t0 = performance.now();
  let serial = 0;
  for (let i = 0; i < chunks; i++) serial += countPrimes(...bounds(i), serialCells, i);
  const serialMs = performance.now() - t0;
  say(`   serial, this thread:           ${serialMs.toFixed(0)} ms, ${serial} primes`);

  t0 = performance.now();
  yield* poolScope(workers, function* () {}); // no tasks: what starting and stopping threads costs
  const startupMs = performance.now() - t0;

  const counts = new Int32Array(new SharedArrayBuffer(4 * chunks)); // every task writes one cell
  t0 = performance.now();
  yield* poolScope(workers, function* (pool) {
    for (let i = 0; i < chunks; i++) pool.spawn(TASKS, 'countPrimes', ...bounds(i), counts.buffer, i);
  });
  const poolMs = performance.now() - t0;
  const parallel = counts.reduce((a, b) => a + b, 0);
  say(
    `   ${workers} worker threads, ${chunks} tasks: ${poolMs.toFixed(0)} ms, ${parallel} primes ` +
      `(${(serialMs / poolMs).toFixed(2)}x the serial speed)${parallel === serial ? '' : ' MISMATCH'}`,
  );
  say(`   (an empty poolScope, only starting and stopping ${workers} threads, takes ${startupMs.toFixed(0)} ms)`);
  say('   every cell of the shared buffer was filled when poolScope returned: no join handle needed');
}

/** Reads the command line; throws a UsageError (or parseArgs' TypeError) saying what is wrong. */
function parseOptions(argv: string[]): { limit: number; workers: number } {
  const { values } = parseArgs({
    args: argv,
    options: { limit: { type: 'string', default: '6000000' }, workers: { type: 'string', default: '2' } },
  });
  // The primes are counted into Int32Array cells: a limit of 2^31 - 1 keeps every count in range.
  return { limit: integer('limit', values.limit, 16, 2 ** 31 - 1), workers: integer('workers', values.workers, 1, 64) };
}

/**
 * Runs the three corners and returns the exit code (2 for a bad command line).
 *
 * @example
 * ```ts
 * import { main } from './scope_demo.js';
 * process.exitCode = main(['--limit', '500000']);
 * ```
 */
export function main(argv: string[]): number {
  const o = readCommandLine('scope-demo', USAGE, argv, parseOptions);
  if (typeof o === 'number') return o;
  const { limit, workers } = o;
  const executor = new Executor();
  try {
    executor.blockOn((function* () {
      yield* spawnCorner();
      yield* scopeCorner();
      yield* poolCorner(limit, workers);
    })());
  } finally {
    executor.close();
  }
  return 0;
}
