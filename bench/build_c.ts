// Builds the bench's C programs (bench/c/NAME.c -> bench/bin/NAME) with `cc -O2` when the binary
// is missing or older than its source or bench/c/common.h.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { binDir, repoRoot } from './paths.js';

export type BuildResult = { ok: true; path: string } | { ok: false; path: string; error: string };

export function buildC(name: string): BuildResult {
  const source = join(repoRoot, 'bench', 'c', `${name}.c`);
  const path = join(binDir, name);
  // bench/c/common.h is included by the load generators: a change to it rebuilds them too.
  const newest = Math.max(statSync(source).mtimeMs, statSync(join(repoRoot, 'bench', 'c', 'common.h')).mtimeMs);
  if (existsSync(path) && statSync(path).mtimeMs >= newest) return { ok: true, path };
  mkdirSync(binDir, { recursive: true });
  const cc = process.env.CC || 'cc';
  // Build beside the target and rename: a bench running at the same time never sees half a binary.
  const tmp = `${path}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', tmp, source], { encoding: 'utf8' });
  if (r.error) return { ok: false, path, error: `${cc}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, path, error: `${cc} -O2 ${name}.c failed:\n${r.stderr.trim()}` };
  renameSync(tmp, path);
  return { ok: true, path };
}
