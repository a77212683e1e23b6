// EMFILE on an edge-triggered listener: in a child under `ulimit -n 64`, the reserve fd from
// openReserveFd() lets the process accept-and-close instead of spinning or stalling.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { BACKENDS, E, FIXTURES } from './helpers.js';
import { runFixture } from './helpers.js';

describe.each(BACKENDS)('openReserveFd() under EMFILE (%s)', (backend) => {
  it('openReserveFd() lets a process at its fd limit accept and close a connection', async () => {
    const script = path.join(FIXTURES, 'emfile.mjs');
    const r = await runFixture([], { shell: `ulimit -n 64 && exec node '${script}' ${backend}` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out).toMatchObject({
      listen: 0,
      exhausted: -E.EMFILE,
      connect: -E.EINPROGRESS,
      listenerReady: true,
      acceptFull: -E.EMFILE,
      acceptedWithReserve: true,
      reserveBack: true,
      acceptStillFull: -E.EMFILE,
      acceptDrained: -E.EAGAIN,
      quietAfter: 0,
      clientRead: 0, // the peer was accepted and closed: EOF, not a hang
    });
    expect(out.hogs).toBeGreaterThan(0);
    expect(out.fdsAtEnd).toBe(out.fdsAtStart);
  });
});
