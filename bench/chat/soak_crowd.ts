/**
 * The soak's clients, over node:net: members whose every line is recorded for checking (some
 * pause reading for seconds, so they lag), posters sending bursts, and vandals that send garbage,
 * overlong lines, or vanish mid-line by reset or FIN.
 *
 * @module
 */
import net from 'node:net';
import { lineReader, sleep } from '../processes.js';
import type { StreamEvent } from './soak_check.js';

/** A seeded pseudo-random source, so a soak that found something can be run again alike. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (Math.imul(this.#state, 1103515245) + 12345) >>> 0;
    return this.#state / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One of `items`, chosen at random. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

/** A Join request line. */
export const joinLine = (group: string): string => `${JSON.stringify({ Join: { group_name: group } })}\n`;
/** A Post request line. */
export const postLine = (group: string, message: string): string => `${JSON.stringify({ Post: { group_name: group, message } })}\n`;

/** The server's lines, parsed. */
interface ServerLine {
  Message?: { group_name: string; message: string };
  Error?: string;
}

/** Every client of one soak, so the end can close whatever is still open. */
export class Crowd {
  readonly #sockets = new Set<net.Socket>();

  constructor(readonly port: number) {}

  /** Connects a client; `onLine` gets each server line parsed (a line that does not parse throws). */
  connect(onLine: (line: ServerLine) => void = () => {}): net.Socket {
    const socket = net.connect(this.port, '127.0.0.1');
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {}); // vandals and leavers reset on purpose; 'close' follows
    socket.setNoDelay(true);
    lineReader(socket, (line) => onLine(JSON.parse(line) as ServerLine));
    return socket;
  }

  /** Destroys every client still open. */
  closeAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}

/**
 * A member whose lines are checked: it joins `groups` and posts a marker to each, so that what
 * follows the marker in a group's order is owed to it. Unexpected errors are kept in `problems`.
 */
export class Member {
  readonly events = new Map<string, StreamEvent[]>();
  readonly markers = new Map<string, string>();
  readonly problems: string[] = [];
  readonly socket: net.Socket;
  /** Set once it went away on purpose: its stream is no longer checked. */
  left = false;
  droppedReports = 0;

  constructor(crowd: Crowd, readonly name: string, readonly groups: readonly string[]) {
    for (const group of groups) this.events.set(group, []);
    this.socket = crowd.connect((line) => this.#onLine(line));
    for (const group of groups) {
      const marker = `${name}:joined:${group}`;
      this.markers.set(group, marker);
      this.socket.write(joinLine(group) + postLine(group, marker));
    }
  }

  #onLine(line: ServerLine): void {
    if (line.Message !== undefined) {
      this.events.get(line.Message.group_name)?.push(line.Message.message);
      return;
    }
    const lag = /^Dropped (\d+) messages from (.*)\.$/.exec(line.Error ?? '');
    if (lag !== null && this.events.has(lag[2])) {
      this.events.get(lag[2])!.push({ dropped: Number(lag[1]) });
      this.droppedReports++;
    } else {
      this.problems.push(`${this.name}: unexpected line ${JSON.stringify(line).slice(0, 80)}`);
    }
  }

  /** Stops reading for `ms`: the kernel's buffers fill, then the server's, then it lags. */
  async stall(ms: number): Promise<void> {
    this.socket.pause();
    await sleep(ms);
    this.socket.resume();
  }

  /** Goes away by FIN or by reset. */
  leave(reset: boolean): void {
    this.left = true;
    if (reset) this.socket.resetAndDestroy();
    else this.socket.end();
  }
}

/** What a vandal does once connected; each must leave the other clients unaffected. */
export const VANDALS: Record<string, (socket: net.Socket, random: Random, groups: readonly string[]) => void> = {
  garbage: (s) => s.write('{"Join":\n{"Nope":{}}\n\n[1,2]\n{"Post":{"group_name":"g0"}}\n{} {}\n"\\ud800"\n'),
  invalidUtf8: (s) => s.write(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a])),
  overlongLine: (s) => s.write(`{"Post":{"group_name":"g1","message":"${'y'.repeat(70_000)}"}}\n`),
  resetMidLine: (s) => {
    s.write('{"Post":{"group_name":"g0","mess');
    setTimeout(() => s.resetAndDestroy(), 5);
  },
  joinThenReset: (s, r, groups) => {
    s.write(joinLine(r.pick(groups)));
    setTimeout(() => s.resetAndDestroy(), r.below(200));
  },
  joinAndNeverRead: (s, r, groups) => {
    s.pause();
    s.write(joinLine(r.pick(groups)));
    setTimeout(() => s.destroy(), 500 + r.below(3000));
  },
  halfClose: (s, r, groups) => {
    s.write(joinLine(r.pick(groups)) + postLine('no-such-group', 'x'));
    s.end();
  },
  postThenFin: (s, r, groups) => {
    s.write(postLine(r.pick(groups), `vandal:${r.next()}`));
    s.end();
  },
};
