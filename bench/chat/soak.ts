// A randomized soak of a chat server: for SECONDS, posters send bursts to three groups while
// members join and leave, some members stop reading for seconds at a time (so they lag), and
// vandals send garbage or vanish mid-line. Then it checks what the checked members got against
// a reference member that never stops reading: the same order, a `Dropped N` report exactly
// where N posts are missing, nothing lost at the end; and that the server's fd count and (for
// wakeloop) its SIGUSR2 counts are back to idle. Exits 0 if all held, 1 with the problems if not.
//
//   node dist/bench/chat/soak.js [--seconds 30] [--seed 1] [--server wakeloop|node-net] [--backend epoll|poll]
//                                [--posters 3] [--burst 400]
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, integer, readCommandLine } from '../../examples/command_line.js';
import { isProgram } from '../is_program.js';
import { exited, lineReader, sleep } from '../processes.js';
import { repoRoot } from '../paths.js';
import { checkStream } from './soak_check.js';
import { Crowd, Member, Random, VANDALS, postLine } from './soak_crowd.js';

const GROUPS = ['g0', 'g1', 'g2'];
/** Small, so that members that stop reading for a second or two do lag. */
const CAPACITY = 200;
/** How long the clients may take, once the posters stopped, to read what they are owed. */
const SETTLE_MS = 30_000;

/** What to soak. */
export interface SoakOptions {
  seconds: number;
  seed: number;
  server: 'wakeloop' | 'node-net';
  /** For wakeloop: `WAKELOOP_BACKEND`. */
  backend?: 'epoll' | 'poll';
  /** Posters running at once (default 3). */
  posters?: number;
  /** The most posts a poster sends in one write (default 400, twice the groups' capacity). */
  burst?: number;
}

/** What a soak did and found; `problems` is empty when everything held. */
export interface SoakReport {
  posted: number;
  members: number;
  checkedStreams: number;
  droppedReports: number;
  vandals: number;
  fds: { before: number; after: number };
  problems: string[];
}

/**
 * Runs one soak against a fresh server and reports.
 *
 * @example
 * ```ts
 * const report = await runSoak({ seconds: 5, seed: 7, server: 'wakeloop' });
 * if (report.problems.length > 0) console.log(report.problems.join('\n'));
 * ```
 */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const server = await startServer(o);
  try {
    return await soak(o, server);
  } finally {
    server.process.kill('SIGKILL'); // stopped with SIGINT by soak(); this is for an error on the way
    await exited(server.process);
  }
}

interface Server {
  process: ChildProcess;
  port: number;
  /** The lines it printed since the last call. */
  takeLines(): string[];
}

async function startServer(o: SoakOptions): Promise<Server> {
  const script = o.server === 'wakeloop' ? ['dist/src/cli.js', 'chat-server'] : ['dist/bench/chat/node_net_chat_server.js'];
  const argv = [...script.map((s, i) => (i === 0 ? join(repoRoot, s) : s)), '127.0.0.1:0', '--capacity', String(CAPACITY)];
  const env = o.backend === undefined ? process.env : { ...process.env, WAKELOOP_BACKEND: o.backend };
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const lines: string[] = [];
  lineReader(child.stdout!, (line) => lines.push(line));
  const takeLines = (): string[] => lines.splice(0);
  for (let waited = 0; waited < 15_000; waited += 20) {
    const announced = lines.map((l) => /listening on 127\.0\.0\.1:(\d+)/.exec(l)).find((m) => m !== null);
    if (announced) return { process: child, port: Number(announced[1]), takeLines };
    if (child.exitCode !== null) break;
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(`the ${o.server} chat server did not start: ${lines.join(' | ')}`);
}

async function soak(o: SoakOptions, server: Server): Promise<SoakReport> {
  const random = new Random(o.seed);
  const crowd = new Crowd(server.port);
  const fdCount = (): number => readdirSync(`/proc/${server.process.pid}/fd`).length;
  const report: SoakReport = { posted: 0, members: 0, checkedStreams: 0, droppedReports: 0, vandals: 0, fds: { before: fdCount(), after: 0 }, problems: [] };
  let running = true;
  server.process.once('exit', (code, signal) => {
    if (running) report.problems.push(`the server exited during the soak (${signal ?? code})`);
  });

  const reference = new Member(crowd, 'reference', GROUPS);
  // Joined before anyone posts: it is owed every post, which checkPosters() counts.
  for (const end = Date.now() + 10_000; !GROUPS.every((g) => reference.events.get(g)!.includes(reference.markers.get(g)!)); await sleep(10)) {
    if (Date.now() > end) throw new Error('the reference member did not get its own first posts back within 10 s');
  }
  const members: Member[] = [];
  let serial = 0;
  const addMember = (): Member => {
    const groups = GROUPS.filter(() => random.next() < 0.7);
    const member = new Member(crowd, `m${serial++}`, groups.length > 0 ? groups : [random.pick(GROUPS)]);
    members.push(member);
    return member;
  };

  const stallers = async (): Promise<void> => {
    const slow = Array.from({ length: 3 }, addMember);
    for (let i = 0; i < 3; i++) addMember(); // these read at once
    while (running) await Promise.all(slow.map((m) => (random.next() < 0.5 ? m.stall(300 + random.below(3000)) : sleep(200))));
  };
  const comersAndGoers = async (): Promise<void> => {
    while (running) {
      const member = addMember();
      // Only while the soak runs: a member that left after it stopped would be checked.
      if (random.next() < 0.7) setTimeout(() => running && member.leave(random.next() < 0.5), random.below(o.seconds * 1000)).unref();
      await sleep(300 + random.below(700));
    }
  };
  const sent = new Map<string, number>(); // posts made per poster and group: `p${id}:${group}`
  const poster = async (id: number): Promise<void> => {
    const socket = crowd.connect();
    while (running) {
      const group = random.pick(GROUPS);
      const key = `p${id}:${group}`;
      const count = 1 + random.below(random.next() < 0.1 ? (o.burst ?? 400) : 8);
      let lines = '';
      for (let i = 0; i < count; i++) {
        const seq = sent.get(key) ?? 0;
        sent.set(key, seq + 1);
        lines += postLine(group, `${key}:${seq}:${'x'.repeat(random.below(random.next() < 0.2 ? 3000 : 120))}`);
      }
      report.posted += count;
      if (!socket.write(lines)) await new Promise((resolve) => socket.once('drain', resolve));
      await sleep(random.below(15));
    }
    socket.end();
  };
  const vandals = async (): Promise<void> => {
    const kinds = Object.keys(VANDALS);
    while (running) {
      const act = VANDALS[random.pick(kinds)];
      const socket = crowd.connect();
      socket.on('connect', () => act(socket, random, GROUPS));
      setTimeout(() => socket.destroy(), 5000).unref();
      report.vandals++;
      await sleep(random.below(30));
    }
  };

  const statsTicker = setInterval(() => o.server === 'wakeloop' && server.process.kill('SIGUSR2'), 1000);
  const actors = [stallers(), comersAndGoers(), vandals(), ...Array.from({ length: o.posters ?? 3 }, (_, i) => poster(i))];
  await sleep(o.seconds * 1000);
  running = false;
  clearInterval(statsTicker);
  await Promise.all(actors);

  const staying = members.filter((m) => !m.left);
  await settle(reference, staying);
  for (const member of [reference, ...members]) report.problems.push(...member.problems);
  if (reference.droppedReports > 0) {
    report.problems.push(
      'the reference member, which never stops reading, got a Dropped report, so nothing could be checked against it: ' +
        'the server lagged a member that reads at once, or this process fell behind (try fewer posters)',
    );
  } else {
    checkPosters(reference, sent, report.problems);
    report.checkedStreams = check(reference, staying, report.problems);
  }
  report.members = members.length;
  report.droppedReports = members.reduce((n, m) => n + m.droppedReports, 0);

  crowd.closeAll();
  // The server sees every close within moments; a busy machine gets up to 10 s.
  for (let waited = 0; (report.fds.after = fdCount()) !== report.fds.before && waited < 10_000; waited += 100) await sleep(100);
  if (report.fds.after !== report.fds.before) report.problems.push(`the server's open fds went from ${report.fds.before} to ${report.fds.after}`);
  if (o.server === 'wakeloop') await checkIdleStats(server, report.problems);
  server.process.kill('SIGINT');
  await exited(server.process);
  return report;
}

/** Waits until every staying member got all it is owed and the reference stopped growing. */
async function settle(reference: Member, staying: Member[]): Promise<void> {
  const total = (): number => GROUPS.reduce((n, g) => n + reference.events.get(g)!.length, 0);
  let last = -1;
  for (const end = Date.now() + SETTLE_MS; Date.now() < end; await sleep(500)) {
    const now = total();
    if (now === last && staying.every((m) => m.groups.every((g) => streamProblem(reference, m, g, true) === null))) return;
    last = now;
  }
}

function streamProblem(reference: Member, member: Member, group: string, complete: boolean): string | null {
  const order = reference.events.get(group)! as string[]; // the reference never lagged: only posts
  return checkStream(order, member.events.get(group)!, member.markers.get(group)!, complete);
}

/** The reference got each poster's posts to each group, all of them, in the order they were sent. */
function checkPosters(reference: Member, sent: Map<string, number>, problems: string[]): void {
  const got = new Map<string, number>();
  for (const group of GROUPS) {
    for (const message of reference.events.get(group)! as string[]) {
      const post = /^(p\d+:\w+):(\d+):/.exec(message);
      if (post === null) continue; // a marker or a vandal's post
      const expected = got.get(post[1]) ?? 0;
      if (Number(post[2]) !== expected) {
        problems.push(`the reference got ${post[1]}:${post[2]} where ${post[1]}:${expected} was due`);
        return;
      }
      got.set(post[1], expected + 1);
    }
  }
  for (const [key, count] of sent) {
    if (got.get(key) !== count) problems.push(`the reference got ${got.get(key) ?? 0} of the ${count} posts ${key} made`);
  }
}

/** Checks each staying member's stream of each of its groups; returns how many were checked. */
function check(reference: Member, staying: Member[], problems: string[]): number {
  let checked = 0;
  for (const member of staying) {
    for (const group of member.groups) {
      const problem = streamProblem(reference, member, group, true);
      if (problem !== null) problems.push(`${member.name} in ${group}: ${problem}`);
      checked++;
    }
  }
  return checked;
}

/** With every client gone, wakeloop's SIGUSR2 line must show nothing left: no connection, post or subscription. */
async function checkIdleStats(server: Server, problems: string[]): Promise<void> {
  server.takeLines();
  server.process.kill('SIGUSR2');
  let stats: string | undefined;
  for (let waited = 0; stats === undefined && waited < 5000; waited += 50) {
    await sleep(50);
    stats = server.takeLines().find((l) => l.includes('stats'));
  }
  const idle = /connections=0 .*subscriptions=0 .*held-posts=0 arena-bytes=0/;
  if (stats === undefined || !idle.test(stats)) problems.push(`the server is not idle at the end: ${stats ?? 'no stats line'}`);
}

const USAGE = 'usage: node dist/bench/chat/soak.js [--seconds 1-3600] [--seed 0-2147483647] [--server wakeloop|node-net] [--backend epoll|poll]\n' +
  '         [--posters 1-64] [--burst 1-10000]   (defaults: 30 s, seed 1, wakeloop, its default backend, 3 posters, bursts of 400)';

/** The command line, checked. */
function parseSoakOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '30' },
      seed: { type: 'string', default: '1' },
      server: { type: 'string', default: 'wakeloop' },
      backend: { type: 'string' },
      posters: { type: 'string', default: '3' },
      burst: { type: 'string', default: '400' },
    },
  });
  const { server, backend } = values;
  if (server !== 'wakeloop' && server !== 'node-net') throw new UsageError(`--server must be wakeloop or node-net, got '${server}'`);
  if (backend !== undefined && backend !== 'epoll' && backend !== 'poll') throw new UsageError(`--backend must be epoll or poll, got '${backend}'`);
  return {
    seconds: integer('seconds', values.seconds, 1, 3600),
    seed: integer('seed', values.seed, 0, 2 ** 31 - 1),
    server,
    backend,
    posters: integer('posters', values.posters, 1, 64),
    burst: integer('burst', values.burst, 1, 10_000),
  };
}

if (isProgram(import.meta.url)) {
  const options = readCommandLine('soak', USAGE, process.argv.slice(2), parseSoakOptions);
  if (typeof options === 'number') process.exit(options);
  const report = await runSoak(options);
  const { problems, ...figures } = report;
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.stdout.write(problems.length === 0 ? 'OK\n' : `${problems.length} problem(s):\n${problems.slice(0, 30).join('\n')}\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
