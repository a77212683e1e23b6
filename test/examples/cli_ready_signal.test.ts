// A server demo announces its address only once SIGINT and SIGTERM are handled: whoever reads
// the `listening on` line may signal at once, and must see a clean exit, not the signal's
// default action killing the process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

/** Starts `wakeloop ...args`, sends `sig` the moment stdout says `listening`, and resolves with how it ended. */
async function signalOnFirstLine(args: string[], sig: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (!stdout.includes('listening') && (stdout += d).includes('listening')) child.kill(sig);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  clearTimeout(killer);
  return { code, signal, stderr };
}

describe.each([
  { command: 'echo-server', args: ['echo-server', '--port', '0'] },
  { command: 'echo-server --attached', args: ['echo-server', '--attached', '--port', '0'] },
  { command: 'echo-server --threads 1', args: ['echo-server', '--threads', '1', '--port', '0'] },
  { command: 'http-and-echo', args: ['http-and-echo', '--echo-port', '0', '--http-port', '0'] },
])('wakeloop $command', ({ args }) => {
  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s sent as soon as it prints its address (4 runs)', async (sig) => {
    for (let run = 0; run < 4; run++) {
      const ended = await signalOnFirstLine(args, sig);
      expect(ended, `run ${run}`).toEqual({ code: 0, signal: null, stderr: '' });
    }
  });
});
