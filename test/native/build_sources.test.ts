// binding.gyp (shipped builds, via prebuildify/node-gyp) and CMakeLists.txt (cmake-js dev
// builds) must compile the same sources, and every native/*.cc must be in both.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';

/** native/*.cc paths mentioned in a build file, sorted and unique. */
function sourcesIn(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line)) // CMake comments
    .join('\n');
  return [...new Set(text.match(/native\/[\w./-]+\.cc\b/g) ?? [])].sort();
}

describe('build files', () => {
  it('binding.gyp and CMakeLists.txt list the same native sources', () => {
    const gyp = sourcesIn('binding.gyp');
    const cmake = sourcesIn('CMakeLists.txt');
    expect(gyp.length).toBeGreaterThan(0);
    expect(cmake).toEqual(gyp);
  });

  it('binding.gyp and CMakeLists.txt compile every .cc file under native/', () => {
    const onDisk = readdirSync(path.join(ROOT, 'native'))
      .filter((f) => f.endsWith('.cc'))
      .map((f) => `native/${f}`)
      .sort();
    expect(sourcesIn('binding.gyp')).toEqual(onDisk);
  });

  it('backend_epoll.cc is compiled only on Linux in both files', () => {
    const gyp = JSON.parse(readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8'));
    const target = gyp.targets.find((t: { target_name: string }) => t.target_name === 'wakeloop');
    expect(target.sources).not.toContain('native/backend_epoll.cc');
    const linux = target.conditions.find((c: [string]) => c[0] === "OS=='linux'");
    expect(linux[1].sources).toEqual(['native/backend_epoll.cc']);
    const cmake = readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8');
    expect(cmake).toMatch(/if\(CMAKE_SYSTEM_NAME STREQUAL "Linux"\)\s*\n\s*list\(APPEND WAKELOOP_SOURCES native\/backend_epoll\.cc\)/);
    const common = /set\(WAKELOOP_SOURCES([^)]*)\)/.exec(cmake)![1];
    expect(common).not.toContain('backend_epoll.cc');
  });
});
