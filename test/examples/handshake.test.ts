import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { runNode, type ChildRun } from '../child.js';

// The demo's workers run compiled JS, so the test drives dist/ (`npm test` runs tsc first).
const cli = fileURLToPath(new URL('../../dist/examples/handshake_cli.js', import.meta.url));

/** The seed's output, line for line (its SYNC_RCVD spelling included). */
const SEED_LINES = [
  '[Server] CLOSED',
  '[Server] LISTEN',
  '[Client] CLOSED',
  '[Client] SYN_SENT',
  '[Server] SYNC_RCVD',
  '[Client] ESTABLISHED',
  '[Server] ESTABLISHED',
  '[Client] FIN_WAIT_1',
  '[Server] CLOSE_WAIT',
  '[Client] FIN_WAIT_2',
  '[Server] LAST_ACK',
  '[Client] TIME_WAIT',
  '[Server] CLOSED',
  '[Client] CLOSED',
  'TCP connection disconnected',
];
const SEED_OUTPUT = `${SEED_LINES.join('\n')}\n`;

beforeAll(() => {
  for (const [js, ts] of [
    ['examples/handshake_cli.js', 'examples/handshake_cli.ts'],
    ['examples/handshake.js', 'examples/handshake.ts'],
    ['examples/handshake_worker.js', 'examples/handshake_worker.ts'],
    ['src/sync/parker.js', 'src/sync/parker.ts'],
    ['src/sync/unparker.js', 'src/sync/unparker.ts'],
    ['src/sync/wait_group.js', 'src/sync/wait_group.ts'],
  ]) {
    const built = statSync(fileURLToPath(new URL(`../../dist/${js}`, import.meta.url)), { throwIfNoEntry: false });
    const source = statSync(fileURLToPath(new URL(`../../${ts}`, import.meta.url)));
    if (built === undefined || built.mtimeMs < source.mtimeMs) {
      throw new Error(`dist/${js} is missing or older than ${ts}: run \`npx tsc -p tsconfig.json\``);
    }
  }
});

/** Runs `node dist/examples/handshake_cli.js ...args`; a run that outlives 20 s is killed (and then fails on its exit code). */
const runDemo = (args: string[]): Promise<ChildRun> => runNode([cli, ...args]);

describe('handshake demo', () => {
  test("main() prints the seed's 15 lines with the seed's 1 s delays by default", async () => {
    const run = await runDemo([]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(SEED_OUTPUT);
    expect(run.ms).toBeGreaterThanOrEqual(2_000); // 1 s start delay + 1 s TIME_WAIT
  });

  test("main() prints the seed's 15 lines, in order, on 200 runs with 50 ms delays", async () => {
    const runs = 200;
    const concurrency = 4; // 2 cores; most of a run is spent parked or sleeping
    const outputs = new Map<string, number>();
    const failures: ChildRun[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < runs) {
        next += 1;
        const run = await runDemo(['--start-delay', '50', '--time-wait', '50']);
        outputs.set(run.stdout, (outputs.get(run.stdout) ?? 0) + 1);
        if (run.code !== 0 || run.stderr !== '') failures.push(run);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    expect(failures).toEqual([]);
    expect([...outputs]).toEqual([[SEED_OUTPUT, runs]]);
    // ~16 s on 2 idle cores; the margin is for a suite that runs other files alongside.
  }, 120_000);

  test('main() refuses --time-wait below 50 ms with exit code 2 and a clear message', async () => {
    const run = await runDemo(['--time-wait', '49']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/--time-wait must be at least 50 ms, got 49/);
  });

  test('main() refuses an unknown flag, a positional and a non-numeric value with exit code 2', async () => {
    const runs = await Promise.all([
      runDemo(['--bogus']),
      runDemo(['now']),
      runDemo(['--start-delay', 'soon']),
      runDemo(['--start-delay', '-5']),
      runDemo(['--time-wait']),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^wakeloop handshake: [^]+\n\nusage: wakeloop handshake/);
    }
    expect(runs[2]!.stderr).toMatch(/--start-delay must be a whole number of milliseconds, got 'soon'/);
  });

  test('main() accepts --start-delay 0: the client starts counting once the server listens', async () => {
    const run = await runDemo(['--start-delay', '0', '--time-wait', '50']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(SEED_OUTPUT);
  });
});
