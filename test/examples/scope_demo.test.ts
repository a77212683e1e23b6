import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ChildRun } from '../child.js';

// The demo's pool workers run compiled JS, so the test drives dist/ (`npm test` runs tsc first).
beforeAll(() => {
  for (const name of ['scope_demo', 'scope_demo_tasks']) {
    const built = statSync(fileURLToPath(new URL(`../../dist/examples/${name}.js`, import.meta.url)), { throwIfNoEntry: false });
    const source = statSync(fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url)));
    if (built === undefined || built.mtimeMs < source.mtimeMs) {
      throw new Error(`dist/examples/${name}.js is missing or older than its source: run \`npx tsc -p tsconfig.json\``);
    }
  }
});

/** Runs `wakeloop scope-demo ...args` in a child process (killed after 30 s). */
const runDemo = (args: string[]): Promise<ChildRun> => runCli(['scope-demo', ...args], { killAfterMs: 30_000 });

describe('scope-demo', () => {
  it('wakeloop scope-demo shows the three corners and exits by itself (its worker threads are gone)', async () => {
    const { code, stdout, stderr } = await runDemo(['--limit', '200000']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^1\. spawn: .*\n.*sums 6, 9, 6 in \d+ ms/m);
    expect(stdout).toMatch(/^2\. scope: .*\n.*3 children pushed .*: \[body, b, c, a\]/m);
    expect(stdout).toMatch(/^3\. poolScope: .*primes below 200000/m);
    // 17984 primes below 200000, found by the serial run and by the 2 workers alike
    expect(stdout).toMatch(/serial, this thread: +\d+ ms, 17984 primes/);
    expect(stdout).toMatch(/2 worker threads, 16 tasks: \d+ ms, 17984 primes \([\d.]+x the serial speed\)\n/);
  });

  it('wakeloop scope-demo rejects a bad option with exit code 2', async () => {
    const { code, stdout, stderr } = await runDemo(['--limit', 'lots']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--limit must be an integer/);
  });
});
