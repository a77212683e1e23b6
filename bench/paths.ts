// Where the bench finds the repository, its C binaries and its results. The same code runs from
// bench/ (vitest imports the .ts) and from dist/bench/ (npm run bench), so the root is searched.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the repository root (no package.json above)');
    dir = up;
  }
  return dir;
}

/** The repository root: servers are started with it as their working directory. */
export const repoRoot = findRepoRoot();
/** Built C programs (git-ignored). */
export const binDir = join(repoRoot, 'bench', 'bin');
/** JSON, SVG and Markdown results. */
export const resultsDir = join(repoRoot, 'bench', 'results');
