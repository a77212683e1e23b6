// The bench's command lines (bench/run.ts parseOptions(), bench/chat/fanout.ts
// parseFanoutOptions()): what they accept, and the bad options they turn into a UsageError (the
// tools print it with the usage and exit with 2).
import { describe, expect, it } from 'vitest';
import { parseFanoutOptions } from '../../bench/chat/fanout.js';
import { parseOptions } from '../../bench/run.js';
import { UsageError } from '../../examples/command_line.js';
import { runNode } from '../child.js';

describe('bench command line', () => {
  it('parseOptions() gives the defaults, and the --quick ones', () => {
    expect(parseOptions([])).toMatchObject({ quick: false, only: [], contenders: [], duration: 5, repeats: 3, warmup: 1, waitQuiet: 0 });
    expect(parseOptions(['--quick'])).toMatchObject({ quick: true, duration: 2, repeats: 1, warmup: 0.5, waitQuiet: 0 });
  });

  it('parseOptions() rejects --repeats 0.4 (rounded to 0 repeats, an empty result) and 1.5 (silently 2): regression', () => {
    for (const bad of ['0.4', '1.5', '0', '-1', 'two', '', 'Infinity']) {
      expect(() => parseOptions([`--repeats=${bad}`]), bad).toThrow(UsageError);
      expect(() => parseOptions([`--repeats=${bad}`]), bad).toThrow(/--repeats must be a whole number, 1 or more/);
    }
    expect(parseOptions(['--repeats', '1']).repeats).toBe(1);
    expect(parseOptions(['--repeats', '7']).repeats).toBe(7);
  });

  it('parseOptions() accepts --wait-quiet 0, the documented default (do not wait): regression', () => {
    expect(parseOptions(['--wait-quiet', '0']).waitQuiet).toBe(0);
    expect(parseOptions(['--wait-quiet', '2.5']).waitQuiet).toBe(2.5);
    for (const bad of ['-1', 'soon', '', 'Infinity']) expect(() => parseOptions([`--wait-quiet=${bad}`]), bad).toThrow(/--wait-quiet must be a number of seconds, 0 or more/);
  });

  it('parseOptions() refuses an empty --only or --contenders (it selected everything, the full suite): regression', () => {
    for (const args of [['--only', ''], ['--only', ','], ['--only', ' , '], ['--only=', '--only=,']]) {
      expect(() => parseOptions(args), args.join(' ')).toThrow(UsageError);
      expect(() => parseOptions(args), args.join(' ')).toThrow(/--only names nothing; valid names: pingpong1, .*idle/);
    }
    for (const args of [['--contenders', ''], ['--contenders', ',']]) {
      expect(() => parseOptions(args), args.join(' ')).toThrow(/--contenders names nothing; valid names: wakeloop, node-net, c\b/);
    }
  });

  it('parseOptions() keeps the names of a list, names the valid ones for an unknown one', () => {
    expect(parseOptions(['--only', 'churn,,idle', '--only', 'bulk', '--contenders', 'c, node-net'])).toMatchObject({ only: ['churn', 'idle', 'bulk'], contenders: ['c', 'node-net'] });
    // --contenders repeats as --only does (the last one alone was kept): regression
    expect(parseOptions(['--contenders', 'c', '--contenders', 'wakeloop'])).toMatchObject({ contenders: ['c', 'wakeloop'] });
    expect(() => parseOptions(['--only', 'pingpong2'])).toThrow(/--only: unknown name "pingpong2"; valid names: pingpong1, /);
    expect(() => parseOptions(['--contenders', 'C'])).toThrow(/--contenders: unknown name "C"; valid names: wakeloop, /);
  });
});

describe('chat fan-out command line', () => {
  it('parseFanoutOptions() gives the defaults and takes a window list', () => {
    expect(parseFanoutOptions([])).toEqual({ help: false, windows: [16, 64, 256], members: 100, size: 64, duration: 5, repeats: 3, warmup: 1, waitQuiet: 0 });
    expect(parseFanoutOptions(['--windows', '8,64', '--members', '10', '--repeats', '1', '--wait-quiet', '0'])).toMatchObject({ windows: [8, 64], members: 10, repeats: 1 });
  });

  it('parseFanoutOptions() refuses what it used to change or run as NaN: regression', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--warmup', '0'], /--warmup must be a positive number of seconds \(got "0"\)/], // became 0.5 s
      [['--repeats', '1.5'], /--repeats must be a whole number, 1 or more/], // rounded to 2
      [['--windows', '16,x'], /--windows must be whole numbers, 1 or more \(got "x"\)/], // a NaN window
      [['--windows', ''], /--windows must be whole numbers/],
      [['--members', '0'], /--members must be a whole number, 1 or more/],
      [['--size', 'big'], /--size must be a whole number, 1 or more/],
      [['--duration=-1'], /--duration must be a positive number of seconds/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseFanoutOptions(args), args.join(' ')).toThrow(UsageError);
      expect(() => parseFanoutOptions(args), args.join(' ')).toThrow(message);
    }
  });

  it.each([
    ['micro/run.js', ['--only', 'no-such-row'], /no benchmark name contains that/],
    ['micro/run.js', ['--time', '1e3'], /--time must be an integer/],
    ['chat/soak.js', ['--seconds', '0'], /--seconds must be an integer from 1 to 3600/],
    ['chat/soak.js', ['--server', 'c'], /--server must be wakeloop or node-net/],
    ['targets.js', [], /no RESULTS.json given/],
    ['targets.js', ['--verbose'], /Unknown option '--verbose'/],
  ] as const)('dist/bench/%s %j prints the problem and its usage on stderr and exits 2; --help prints the usage and exits 0', async (script, args, problem) => {
    const path = new URL(`../../dist/bench/${script}`, import.meta.url).pathname;
    const bad = await runNode([path, ...args], { killAfterMs: 15_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(problem);
    expect(bad.stderr).toMatch(/^usage: /m);
    const help = await runNode([path, '--help'], { killAfterMs: 15_000 });
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: /);
  });
});
