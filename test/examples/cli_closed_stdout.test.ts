// A demo whose stdout nobody reads any more (`wakeloop echo-server --attached | head -1`) drops
// its status lines and ends with its normal exit code: EPIPE on stdout is not an error.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

/**
 * Runs `wakeloop ...args`, closes our end of its stdout after the first output (as `head -1`
 * does), sends `sig` if given, and resolves with how it ended and its stderr.
 */
async function runHeadOne(args: string[], sig?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.once('data', () => {
    child.stdout.destroy(); // the read end is closed: the child's next write fails with EPIPE
    if (sig !== undefined) setTimeout(() => child.kill(sig), 100);
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  clearTimeout(killer);
  return { code, signal, stderr };
}

describe('wakeloop demos with a closed stdout', () => {
  it.each([
    ['echo-server', '--port', '0'],
    ['echo-server', '--attached', '--port', '0'],
    ['echo-server', '--threads', '1', '--port', '0'],
    ['http-and-echo', '--echo-port', '0', '--http-port', '0'],
  ])('wakeloop %s %s … exits 0 on SIGINT after its stdout was closed', async (...args) => {
    expect(await runHeadOne(args, 'SIGINT')).toEqual({ code: 0, signal: null, stderr: '' });
  });

  it.each([
    ['select-demo', '--messages', '3'],
    ['socket-read', '--pause', '20'],
    ['handshake', '--start-delay', '0', '--time-wait', '50'],
  ])('wakeloop %s %s %s runs to its end and exits 0 after its stdout was closed', async (...args) => {
    expect(await runHeadOne(args)).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
