// The bench's command line (bench/run.ts parseOptions()): what it accepts, and the bad options it
// turns into a UsageError (run.ts prints it with the usage and exits with 2).
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../bench/run.js';
import { UsageError } from '../../examples/command_line.js';

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
    expect(() => parseOptions(['--only', 'pingpong2'])).toThrow(/--only: unknown name "pingpong2"; valid names: pingpong1, /);
    expect(() => parseOptions(['--contenders', 'C'])).toThrow(/--contenders: unknown name "C"; valid names: wakeloop, /);
  });
});
