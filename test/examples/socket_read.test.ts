import { describe, expect, it } from 'vitest';
import { socketReadDemo } from '../../examples/socket_read.js';
import { noLeak, run } from '../util.js';

describe('wakeloop socket-read', () => {
  it('SocketRead reads every piece, pending and woken by the reactor between them', () => {
    const lines: string[] = [];
    const result = noLeak(() => run(socketReadDemo(30, (l) => lines.push(l))));
    expect(result.text).toBe('Hello, wakeloop from a real socket!');
    // Each of the 4 pieces arrives while the read is pending: a wake per piece at least.
    expect(result.wakes).toBeGreaterThanOrEqual(4);
    expect(result.polls).toBeGreaterThan(result.wakes);
    expect(lines.at(-1)).toMatch(/slept in the kernel/);
  });
});
