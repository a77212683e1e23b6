// The chat soak: its checker on made-up streams, then a short real soak of `wakeloop chat-server`
// (compiled, in dist/) on the backend this run uses (WAKELOOP_BACKEND).
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/chat/soak.js';
import { checkStream } from '../../bench/chat/soak_check.js';

describe('checkStream()', () => {
  const reference = ['a', 'mark', 'b', 'c', 'd', 'e'];

  it('checkStream() accepts the posts after the marker in order, with a lag report standing for exactly the posts missing', () => {
    expect(checkStream(reference, ['mark', 'b', 'c', 'd', 'e'], 'mark', true)).toBeNull();
    expect(checkStream(reference, ['mark', { dropped: 2 }, 'd', 'e'], 'mark', true)).toBeNull();
    expect(checkStream(reference, ['mark', 'b', { dropped: 3 }], 'mark', true)).toBeNull();
  });

  it('checkStream() reports a post missing, one out of order, a wrong lag count and a stream cut short', () => {
    expect(checkStream(reference, ['mark', 'b', 'd', 'e'], 'mark', true)).toBe('after 2 events: got d, expected c');
    expect(checkStream(reference, ['mark', 'c', 'b', 'd', 'e'], 'mark', true)).toBe('after 1 events: got c, expected b');
    expect(checkStream(reference, ['mark', { dropped: 1 }, 'd', 'e'], 'mark', true)).toBe('after 2 events: got d, expected c');
    expect(checkStream(reference, ['mark', 'b', { dropped: 9 }], 'mark', true)).toBe("reports of dropped posts go 6 past the reference's end");
    expect(checkStream(reference, ['mark', 'b'], 'mark', true)).toBe('ended at post 3 of 6');
    expect(checkStream(reference, ['mark', 'b'], 'mark', false)).toBeNull();
    expect(checkStream(reference, ['b'], 'mark', true)).toBe('marker mark missing (member)');
  });
});

describe('chat soak', () => {
  it('runSoak() finds nothing wrong with wakeloop chat-server: every member in the reference order, lag reports exact, fds and counts back to idle', async () => {
    const report = await runSoak({ seconds: 4, seed: 20261122, server: 'wakeloop', posters: 2 });
    expect(report.problems).toEqual([]);
    expect(report.posted).toBeGreaterThan(1000);
    expect(report.checkedStreams).toBeGreaterThan(5);
    expect(report.vandals).toBeGreaterThan(20);
  }, 60_000);
});
