import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { echoOnce, runCli, startCli } from '../child.js';

describe('wakeloop echo-server', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('echoes every byte on many connections and exits 0 on %s', async (sig) => {
    const { child, ports: [port], output } = await startCli(['echo-server', '--port', '0']);
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1000 * (i + 1), i + 1));
    const echoed = await Promise.all(payloads.map((p) => echoOnce(port, p)));
    echoed.forEach((e, i) => expect(e.equals(payloads[i])).toBe(true));
    // An idle connection stays open until shutdown closes it.
    const idle = connect(port, '127.0.0.1');
    await once(idle, 'connect');
    const closed = once(idle, 'close');
    child.kill(sig);
    const [code] = await once(child, 'exit');
    await closed;
    expect(code).toBe(0);
    expect(output()).toContain(`${sig}: closed the listener`);
    expect(output()).toMatch(/closed 1 connection\(s\)/);
  });

  it('rejects a bad port with exit code 2', async () => {
    const { code, stderr: err } = await runCli(['echo-server', '--port', 'http']);
    expect(code).toBe(2);
    expect(err).toMatch(/--port must be an integer/);
  });
});
