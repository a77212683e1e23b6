// .ci/summarize.mjs: the last line of CI, from vitest JSON reports (written here in the shape
// vitest 4 gives them, with the fields the script reads).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '.ci', 'summarize.mjs');
const dir = mkdtempSync(join(tmpdir(), 'wakeloop-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Status = 'passed' | 'failed' | 'skipped';

/** Writes a report of test files, each a status and its tests' statuses; returns its path. */
function report(name: string, files: { status: Status; tests: Status[] }[]): string {
  const tests = files.flatMap((f) => f.tests);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({
    numPassedTests: tests.filter((s) => s === 'passed').length,
    numFailedTests: tests.filter((s) => s === 'failed').length,
    success: files.every((f) => f.status === 'passed'),
    testResults: files.map((f, i) => ({
      name: `/repo/test/file${i}.test.ts`,
      status: f.status,
      message: '',
      assertionResults: f.tests.map((status, j) => ({ title: `test ${j}`, status })),
    })),
  }));
  return path;
}

function summarize(...paths: string[]): { line: string; status: number | null } {
  const r = spawnSync(process.execPath, [SCRIPT, ...paths], { encoding: 'utf8' });
  return { line: r.stdout.trim(), status: r.status };
}

describe('.ci/summarize.mjs', () => {
  it('sums passed and failed tests over the reports; exits 0 only when nothing failed', () => {
    const epoll = report('epoll.json', [{ status: 'passed', tests: ['passed', 'passed'] }]);
    const poll = report('poll.json', [{ status: 'passed', tests: ['passed', 'skipped'] }]);
    expect(summarize(epoll, poll)).toEqual({ line: '3 passed, 0 failed', status: 0 });
    const failing = report('failing.json', [{ status: 'failed', tests: ['failed', 'passed'] }, { status: 'passed', tests: ['passed'] }]);
    expect(summarize(epoll, failing)).toEqual({ line: '4 passed, 1 failed', status: 1 });
  });

  it('counts a file that failed outside its tests (not loaded, or a hook threw) once', () => {
    const notLoaded = report('not_loaded.json', [{ status: 'failed', tests: [] }, { status: 'passed', tests: ['passed'] }]);
    expect(summarize(notLoaded)).toEqual({ line: '1 passed, 1 failed', status: 1 });
    const hook = report('hook.json', [{ status: 'failed', tests: ['skipped', 'skipped'] }]);
    expect(summarize(hook)).toEqual({ line: '0 passed, 1 failed', status: 1 });
  });

  it('counts a report it cannot read, and no report at all, as one failure', () => {
    const epoll = report('ok.json', [{ status: 'passed', tests: ['passed'] }]);
    const garbled = join(dir, 'garbled.json');
    writeFileSync(garbled, '{"numPassedTests": 3');
    expect(summarize(epoll, garbled)).toEqual({ line: '1 passed, 1 failed', status: 1 });
    expect(summarize(epoll, join(dir, 'missing.json'))).toEqual({ line: '1 passed, 1 failed', status: 1 });
    expect(summarize()).toEqual({ line: '0 passed, 1 failed', status: 1 });
  });
});
