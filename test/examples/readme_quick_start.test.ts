// The README's first example, run as a user would copy it: it must echo, and a client that
// resets its connection must end only that connection, not the server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { echoOnce } from '../child.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'wakeloop-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The README's first TypeScript block, compiled, importing the built package, on `port`. */
function quickStart(port: number): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const source = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  expect(source).toContain("'127.0.0.1:7000'");
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
  const entry = pathToFileURL(path.join(root, 'dist/src/index.js')).href;
  return js.replace("from 'wakeloop'", `from '${entry}'`).replace("'127.0.0.1:7000'", `'127.0.0.1:${port}'`);
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once a connection to `port` succeeds. */
async function reachable(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const socket = connect(port, '127.0.0.1');
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    });
    socket.destroy();
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

describe('README quick start', () => {
  it('echoes, and a reset ends only that connection', async () => {
    const port = await freePort();
    const file = path.join(dir, 'quick_start.mjs');
    writeFileSync(file, quickStart(port));
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await reachable(port);
      expect((await echoOnce(port, Buffer.from('hello'))).toString()).toBe('hello');
      const rude = connect(port, '127.0.0.1');
      await once(rude, 'connect');
      rude.write('x');
      await new Promise((r) => setTimeout(r, 50));
      rude.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 100));
      expect((await echoOnce(port, Buffer.from('still here'))).toString()).toBe('still here');
      expect(child.exitCode).toBe(null);
      expect(output).toBe('');
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
});
