// The figures bench/measure.ts derives from its runs.
import { describe, expect, it } from 'vitest';
import { lessDisturbed, median, type Run } from '../../bench/measure.js';

describe('bench figures', () => {
  it('median() takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('median() leaves out NaN whatever its place (summarize() gives NaN for a server CPU it could not read): regression', () => {
    // It sorted with a NaN in place, so the result depended on the order: [NaN, 1, 2] -> 1, [1, NaN, 2] -> NaN.
    for (const xs of [[NaN, 1, 2], [1, NaN, 2], [1, 2, NaN]]) expect(median(xs), String(xs)).toBe(1.5);
    expect(median([NaN, 5, Infinity, 1, 3])).toBe(3);
  });

  it('median() of no usable value is NaN, which the report shows as "-"', () => {
    expect(median([])).toBeNaN();
    expect(median([NaN, NaN])).toBeNaN();
  });

  it('lessDisturbed() keeps a run not flagged disturbed over a flagged one, whatever other processes used (a steal-flagged run beat a clean one)', () => {
    const run = (otherCpu: number, disturbed?: string) => ({ otherCpu, disturbed }) as Run;
    expect(lessDisturbed(run(0.05), run(0.02, 'hypervisor steal 10% of a CPU'))).toBe(true);
    expect(lessDisturbed(run(0.02, 'hypervisor steal 10% of a CPU'), run(0.05))).toBe(false);
    expect(lessDisturbed(run(0.03), run(0.05))).toBe(true);
    expect(lessDisturbed(run(0.03, 'a'), run(0.02, 'b'))).toBe(false);
  });
});
