// Smoke test of the echo benchmark harness: the C programs build, the load generator drives the
// C, node:net and IoBlocker-loop echo servers, refuses to score a server that corrupts bytes, and
// a contender that cannot start is reported with its reason. Uses dist/ (built by `npm test`'s tsc
// step).
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { buildC } from '../../bench/build_c.js';
import { contenders, startServer, type RunningServer } from '../../bench/contenders.js';
import { runLoadgen } from '../../bench/loadgen.js';
import { stopAll } from '../../bench/processes.js';
import { textTable, type Results } from '../../bench/report.js';
import { svgChart } from '../../bench/svg_chart.js';
import { workloads } from '../../bench/workloads.js';

afterAll(stopAll);

const contender = (name: string) => contenders.find((c) => c.name === name)!;

async function started(name: string): Promise<RunningServer> {
  const s = await startServer(contender(name), 'echo', 4096);
  if (typeof s === 'string') throw new Error(`${name}: ${s}`);
  return s;
}

describe('echo bench', () => {
  it('buildC() builds the load generator and the C echo server', () => {
    for (const name of ['loadgen', 'epoll_echo']) expect(buildC(name)).toMatchObject({ ok: true });
  });

  it('the load generator refuses a --close other than fin or rst (any other word meant fin)', () => {
    const built = buildC('loadgen');
    if (!built.ok) throw new Error(built.error);
    const r = spawnSync(built.path, ['--mode', 'churn', '--port', '9', '--close', 'reset'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^loadgen: --close must be fin or rst\nusage: loadgen/);
  });

  for (const name of ['c', 'node-net', 'blocker']) {
    it(`runLoadgen() drives the ${name} echo server and samples its CPU`, async () => {
      buildC('loadgen');
      buildC('epoll_echo');
      const server = await started(name);
      const r = await runLoadgen(['--mode', 'pipelined', '--conns', '8', '--depth', '4'], { port: server.port, serverPid: server.pid, duration: 0.3 });
      expect(await server.stop()).toBe('term');
      expect(r.ok).toBe(true);
      expect(r.messages).toBeGreaterThan(100);
      expect(r.lat_us.p99).toBeGreaterThan(0);
      expect(r.server_cpu_ticks).toBeGreaterThanOrEqual(0);
    });
  }

  it('runLoadgen() keeps writing when a read fills its whole 256 KiB buffer (bulk, 4 x 64 KiB in flight: it stalled after the first window)', async () => {
    buildC('loadgen');
    buildC('epoll_echo');
    const server = await started('c');
    const r = await runLoadgen(['--mode', 'bulk', '--conns', '1', '--size', '65536', '--depth', '4'], { port: server.port, serverPid: server.pid, duration: 0.5 });
    expect(await server.stop()).toBe('term');
    expect(r.ok).toBe(true);
    expect(r.messages).toBeGreaterThan(100); // it read 8 messages in 2 s when stalled
  });

  it('runLoadgen() does not score a server that changes one byte', async () => {
    buildC('loadgen');
    let flipped = false;
    const broken = net.createServer((s) =>
      s.on('data', (d: Buffer) => {
        if (!flipped && d.length > 10) (flipped = true), (d[10] = d[10]! ^ 1);
        s.write(d);
      }),
    );
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const { port } = broken.address() as net.AddressInfo;
    const r = await runLoadgen(['--mode', 'pingpong', '--conns', '2'], { port, serverPid: process.pid, duration: 0.3 });
    broken.close();
    expect(r.ok).toBe(false);
    expect(r.errors.mismatch).toBe(1);
    expect(r.first_error).toMatch(/differ .* offset \d+/);
  });

  it('startServer() returns the reason when a contender cannot start', async () => {
    const missing = { name: 'missing', label: 'missing', color: '#000', servers: { echo: [process.execPath, 'dist/no/such/server.js'] } };
    expect(await startServer(missing, 'echo', 1024)).toMatch(/exited \(code 1\).*Cannot find module/);
    expect(await startServer(missing, 'chat', 1024)).toMatch(/no chat server/);
  });

  it('textTable() and svgChart() render an unavailable contender', () => {
    const w = workloads.find((x) => x.name === 'pingpong256')!;
    const chat = workloads.find((x) => x.name === 'chat-fanout')!;
    const results: Results = {
      date: 'test',
      quick: true,
      options: { duration: 1, warmup: 1, repeats: 1, waitQuiet: 0, only: [], contenders: [] },
      machine: { cpuModel: 'cpu', cores: 2, kernel: 'k', node: 'v20', loadavg: '0', pinned: 'no' },
      contenders: contenders.map(({ name, label, color }) => ({ name, label, color })),
      workloads: [
        {
          workload: w,
          cells: [
            { contender: 'wakeloop', status: 'unavailable', reason: 'exited (code 1)', runs: [], notes: [] },
            { contender: 'node-net', status: 'ok', runs: [], notes: [], median: { value: 50, p50Us: 1, p99Us: 2, cpuPerMsgUs: 3, serverCpu: 1, loadgenCpu: 0.5 } },
            { contender: 'c', status: 'ok', runs: [], notes: [], median: { value: 100, p50Us: 1, p99Us: 2, cpuPerMsgUs: 1, serverCpu: 1, loadgenCpu: 1 } },
          ],
        },
        {
          workload: chat,
          cells: [
            { contender: 'wakeloop', status: 'ok', runs: [], notes: [], median: { value: 150, p50Us: 1, p99Us: 2, cpuPerMsgUs: 1, serverCpu: 1, loadgenCpu: 1 } },
            { contender: 'node-net', status: 'ok', runs: [], notes: [], median: { value: 100, p50Us: 1, p99Us: 2, cpuPerMsgUs: 1, serverCpu: 1, loadgenCpu: 1 } },
            { contender: 'c', status: 'unavailable', reason: 'C epoll has no chat server', runs: [], notes: [] },
          ],
        },
      ],
    };
    expect(textTable(results)).toMatch(/node:net\s+50\.0 msg\/s.*1\.00\s+0\.50/);
    expect(textTable(results)).toMatch(/unavailable: exited \(code 1\)/);
    const svg = svgChart(results);
    expect(svg).toMatch(/^<svg[^]*<\/svg>\n$/);
    expect(svg).toContain('n/a');
    // Where C has no server, the bars are relative to node:net, and the group says so.
    expect(svg).toContain('wakeloop, chat-fanout: 1.500 x node:net');
    expect(svg).toContain('deliveries/s, vs node:net');
    expect(svg).toContain('node:net, pingpong256: 0.500 x C');
  });
});
