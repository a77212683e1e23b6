// Reading the load generator's output (bench/loadgen.ts); echo_bench.test.ts runs the real one.
import { describe, expect, it } from 'vitest';
import { parseLoadgenLine } from '../../bench/loadgen.js';

describe('load generator output', () => {
  it('parseLoadgenLine() reads the ready event and the result line, and passes over other lines', () => {
    expect(parseLoadgenLine('{"event":"ready","conns":10000}')).toEqual({ kind: 'ready' });
    expect(parseLoadgenLine('{"ok":true,"mode":"pingpong","messages":12}')).toEqual({ kind: 'result', result: { ok: true, mode: 'pingpong', messages: 12 } });
    expect(parseLoadgenLine('{"event":"progress"}')).toEqual({ kind: 'other' });
    expect(parseLoadgenLine('connecting...')).toEqual({ kind: 'other' });
  });

  it('parseLoadgenLine() turns a malformed JSON line into an error naming the output, not a throw (it was uncaught in a data handler): regression', () => {
    for (const line of ['{"ok":tru', '{"ok":true}}', '{']) {
      const read = parseLoadgenLine(line);
      expect(read.kind, line).toBe('bad');
      expect(read.kind === 'bad' && read.error, line).toMatch(/^the load generator printed a line that is not JSON: \{.*\(.+\)$/);
    }
    const long = parseLoadgenLine(`{"x":"${'y'.repeat(500)}`);
    expect(long.kind === 'bad' && long.error.length).toBeLessThan(300);
  });
});
