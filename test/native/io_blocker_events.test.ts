// IoBlocker event delivery on both backends, against real loopback sockets: [eventId, signals]
// pairs, edge triggering (epoll) and one-shot arming (poll), closed/error bits, full arrays.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  binding,
  ERROR,
  INTEREST_READ,
  INTEREST_WRITE,
  READABLE,
  READ_CLOSED,
  WRITABLE,
  WRITE_CLOSED,
  type NativeBlocker,
} from '../../src/_binding.js';
import {
  BACKENDS,
  E,
  openFdCount,
  recv,
  send,
  sleepSync,
  tcpPair,
  waitEvents,
  waitFor,
  type TcpPair,
} from './helpers.js';

const BOTH = INTEREST_READ | INTEREST_WRITE;

describe.each(BACKENDS)('IoBlocker events (%s)', (backend) => {
  let events: Int32Array;
  let blocker: NativeBlocker;
  let fdsBefore: number;
  const pairsToClose: TcpPair[] = [];

  beforeEach(() => {
    fdsBefore = openFdCount();
    events = new Int32Array(64);
    blocker = new binding.IoBlocker(events, { backend });
  });

  afterEach(() => {
    for (const p of pairsToClose.splice(0)) p.close();
    blocker.close();
    expect(openFdCount()).toBe(fdsBefore);
  });

  function pair(): TcpPair {
    const p = tcpPair();
    pairsToClose.push(p);
    return p;
  }

  it('IoBlocker.block() reports readable data as an [eventId, signals] pair', () => {
    const p = pair();
    expect(blocker.register(p.server, 41, INTEREST_READ)).toBe(0);
    send(p.client, 'hello');
    const signals = waitFor(blocker, events, 41, READABLE);
    expect(signals & READABLE).toBe(READABLE);
    expect(signals & (ERROR | READ_CLOSED)).toBe(0);
    expect(recv(p.server)).toBe('hello');
    expect(blocker.deregister(p.server)).toBe(0);
  });

  it('IoBlocker.block() reports a connected socket as writable', () => {
    const p = pair();
    expect(blocker.register(p.client, 7, INTEREST_WRITE)).toBe(0);
    expect(waitFor(blocker, events, 7, WRITABLE) & WRITABLE).toBe(WRITABLE);
    blocker.deregister(p.client);
  });

  it('IoBlocker.block() reports negative and large event ids unchanged', () => {
    const a = pair();
    const b = pair();
    blocker.register(a.server, -5, INTEREST_READ);
    blocker.register(b.server, 0x7fffffff, INTEREST_READ);
    send(a.client, 'x');
    send(b.client, 'y');
    sleepSync(20);
    const ids = new Set(waitEvents(blocker, events, 1000).map((e) => e.id));
    if (ids.size < 2) for (const e of waitEvents(blocker, events, 200)) ids.add(e.id);
    expect(ids).toEqual(new Set([-5, 0x7fffffff]));
    blocker.deregister(a.server);
    blocker.deregister(b.server);
  });

  it('IoBlocker.register() of the same fd twice returns -EEXIST', () => {
    const p = pair();
    expect(blocker.register(p.server, 1, INTEREST_READ)).toBe(0);
    expect(blocker.register(p.server, 2, INTEREST_READ)).toBe(-E.EEXIST);
    expect(blocker.deregister(p.server)).toBe(0);
    expect(blocker.register(p.server, 3, INTEREST_READ)).toBe(0);
    expect(blocker.deregister(p.server)).toBe(0);
  });

  it('IoBlocker.register() takes an fd number reused after a close without deregister(), and only the new id reports', () => {
    const a = tcpPair();
    expect(blocker.register(a.server, 1, INTEREST_READ)).toBe(0);
    binding.close(a.server); // breaks the rule (deregister first); epoll forgets a closed file by itself
    const spare: number[] = [];
    let reused = -1;
    for (let i = 0; i < 100 && reused < 0; i++) {
      const fd = binding.socket(4);
      if (fd === a.server) reused = fd;
      else spare.push(fd);
    }
    for (const fd of spare) binding.close(fd);
    binding.close(a.client);
    expect(reused).toBe(a.server);
    try {
      expect(blocker.register(reused, 2, BOTH)).toBe(0);
      expect(new Set(waitEvents(blocker, events, 1000).map((e) => e.id))).toEqual(new Set([2]));
      expect(blocker.register(reused, 3, BOTH)).toBe(-E.EEXIST); // a real double registration still is one
      expect(blocker.deregister(reused)).toBe(0);
    } finally {
      binding.close(reused);
    }
  });

  it('IoBlocker.register() of a regular file returns -EPERM', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wakeloop-'));
    const fd = openSync(path.join(dir, 'file'), 'w+');
    try {
      expect(blocker.register(fd, 1, INTEREST_READ)).toBe(-E.EPERM);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it('IoBlocker.register() of a closed fd returns -EBADF', () => {
    const p = pair();
    const fd = p.server;
    p.close();
    expect(blocker.register(fd, 1, INTEREST_READ)).toBe(-E.EBADF);
  });

  it('IoBlocker.modify() and deregister() of an unregistered open fd return -ENOENT', () => {
    const p = pair();
    expect(blocker.modify(p.server, 1, INTEREST_READ)).toBe(-E.ENOENT);
    expect(blocker.deregister(p.server)).toBe(-E.ENOENT);
  });

  it('IoBlocker.deregister() of an fd that was closed while registered returns 0', () => {
    const p = pair();
    expect(blocker.register(p.server, 1, INTEREST_READ)).toBe(0);
    binding.close(p.server);
    expect(blocker.deregister(p.server)).toBe(0);
    binding.close(p.client);
  });

  it('IoBlocker.deregister() before close() means no event for the id, even when the peer writes', () => {
    const p = pair();
    blocker.register(p.server, 99, BOTH);
    waitEvents(blocker, events, 50); // the initial writable event
    expect(blocker.deregister(p.server)).toBe(0);
    send(p.client, 'after deregister');
    sleepSync(20);
    expect(waitEvents(blocker, events, 100).filter((e) => e.id === 99)).toEqual([]);
    binding.close(p.server);
    // The peer may see a reset now; either way no event may appear for the id.
    const late = Buffer.from('after close');
    binding.write(p.client, late, 0, late.length);
    expect(waitEvents(blocker, events, 100).filter((e) => e.id === 99)).toEqual([]);
  });

  it('IoBlocker.block() reports a reset (peer closed with unread data) with ERROR and READ_CLOSED', () => {
    const p = pair();
    blocker.register(p.client, 5, INTEREST_READ);
    waitEvents(blocker, events, 20); // drain the writable edge on epoll
    send(p.client, 'never read by the server');
    sleepSync(20);
    binding.close(p.server); // unread data: the kernel sends RST instead of FIN
    const signals = waitFor(blocker, events, 5, ERROR);
    expect(signals & (ERROR | READ_CLOSED | READABLE)).toBe(ERROR | READ_CLOSED | READABLE);
    expect(recv(p.client)).toBe(-E.ECONNRESET);
    binding.close(p.client);
    blocker.deregister(p.client);
  });

  it('IoBlocker.block() wakes the write direction too on a reset (ERR and HUP wake both)', () => {
    const p = pair();
    blocker.register(p.client, 6, INTEREST_WRITE);
    expect(waitFor(blocker, events, 6, WRITABLE) & WRITABLE).toBe(WRITABLE); // connected
    if (backend === 'poll') blocker.modify(p.client, 6, INTEREST_WRITE); // re-arm (one-shot)
    send(p.client, 'unread');
    sleepSync(20);
    binding.close(p.server); // RST
    const signals = waitFor(blocker, events, 6, ERROR);
    expect(signals & (ERROR | WRITABLE | WRITE_CLOSED)).toBe(ERROR | WRITABLE | WRITE_CLOSED);
    binding.close(p.client);
    blocker.deregister(p.client);
  });

  it('IoBlocker.block() reports data and FIN that arrive together as one READABLE|READ_CLOSED event', () => {
    const p = pair();
    blocker.register(p.server, 8, INTEREST_READ);
    waitEvents(blocker, events, 20); // drain the writable edge on epoll
    send(p.client, 'last words');
    expect(binding.shutdown(p.client, 1)).toBe(0);
    sleepSync(30); // let both arrive before we look
    const got = waitEvents(blocker, events, 1000).filter((e) => e.id === 8);
    expect(got).toHaveLength(1);
    expect(got[0].signals & (READABLE | READ_CLOSED)).toBe(READABLE | READ_CLOSED);
    expect(got[0].signals & (ERROR | WRITE_CLOSED)).toBe(0); // a half-close: still writable
    expect(recv(p.server)).toBe('last words');
    expect(recv(p.server)).toBe(''); // EOF
    send(p.server, 'the other direction still works');
    expect(recv(p.client)).toBe('the other direction still works');
    blocker.deregister(p.server);
  });

  it('IoBlocker.block() fills a full events array and reports the rest on the next calls', () => {
    const small = new Int32Array(8); // 4 pairs
    const b = new binding.IoBlocker(small, { backend });
    const sockets = Array.from({ length: 10 }, () => pair());
    for (const s of sockets) send(s.client, 'ready');
    sleepSync(30);
    sockets.forEach((s, i) => expect(b.register(s.server, 100 + i, INTEREST_READ)).toBe(0));
    const counts: number[] = [];
    const seen = new Set<number>();
    for (let round = 0; round < 4; round++) {
      const n = b.block(round === 0 ? 1000 : 0);
      counts.push(n);
      for (let i = 0; i < n; i++) seen.add(small[2 * i]);
    }
    expect(counts).toEqual([4, 4, 2, 0]);
    expect(seen.size).toBe(10);
    for (const s of sockets) b.deregister(s.server);
    b.close();
  });
});

describe('IoBlocker edge triggering (epoll)', () => {
  it('IoBlocker.block() reports no second event without new data, and one per new arrival', () => {
    const before = openFdCount();
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend: 'epoll' });
    const p = tcpPair();
    blocker.register(p.server, 3, INTEREST_READ); // interest is ignored: both directions
    expect(waitFor(blocker, events, 3, WRITABLE) & WRITABLE).toBe(WRITABLE);
    send(p.client, 'one');
    expect(waitFor(blocker, events, 3, READABLE) & READABLE).toBe(READABLE);
    // Nothing read, nothing new: an edge-triggered fd stays silent.
    expect(waitEvents(blocker, events, 60)).toEqual([]);
    send(p.client, 'two');
    expect(waitFor(blocker, events, 3, READABLE) & READABLE).toBe(READABLE);
    expect(recv(p.server)).toBe('onetwo');
    expect(recv(p.server)).toBe(-E.EAGAIN);
    expect(waitEvents(blocker, events, 30)).toEqual([]);
    // modify() with the same id arms nothing on epoll: still silent.
    expect(blocker.modify(p.server, 3, INTEREST_READ)).toBe(0);
    expect(waitEvents(blocker, events, 30)).toEqual([]);
    blocker.deregister(p.server);
    p.close();
    blocker.close();
    expect(openFdCount()).toBe(before);
  });

  it('IoBlocker.modify() with a new event id reports later events under the new id', () => {
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend: 'epoll' });
    const p = tcpPair();
    blocker.register(p.server, 1, INTEREST_READ);
    waitEvents(blocker, events, 20);
    expect(blocker.modify(p.server, 2, INTEREST_READ)).toBe(0);
    send(p.client, 'x');
    sleepSync(10);
    const ids = waitEvents(blocker, events, 500).map((e) => e.id);
    expect(ids).toContain(2);
    expect(ids).not.toContain(1);
    blocker.deregister(p.server);
    p.close();
    blocker.close();
  });

  it('IoBlocker.block() still reports a dup of a closed fd that was not deregistered (why DEL comes first)', async () => {
    // epoll watches the open file description: a child that inherited the socket keeps it
    // alive, so closing our fd alone does not stop the events (epoll(7), Q6).
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend: 'epoll' });
    const p = tcpPair();
    const child = spawn('sleep', ['5'], { stdio: ['ignore', 'ignore', 'ignore', p.server] });
    try {
      blocker.register(p.server, 77, INTEREST_READ);
      waitEvents(blocker, events, 20);
      binding.close(p.server); // no deregister: the registration survives in the child's copy
      send(p.client, 'to the zombie registration');
      expect(waitFor(blocker, events, 77, READABLE, 1000) & READABLE).toBe(READABLE);
      // The same with deregister first: silence.
      const q = tcpPair();
      const child2 = spawn('sleep', ['5'], { stdio: ['ignore', 'ignore', 'ignore', q.server] });
      blocker.register(q.server, 78, INTEREST_READ);
      waitEvents(blocker, events, 20);
      expect(blocker.deregister(q.server)).toBe(0);
      binding.close(q.server);
      send(q.client, 'nobody listens');
      expect(waitEvents(blocker, events, 100).filter((e) => e.id === 78)).toEqual([]);
      child2.kill();
      await once(child2, 'exit');
      binding.close(q.client);
    } finally {
      child.kill();
      await once(child, 'exit');
      binding.close(p.client);
      blocker.close();
    }
  });
});

describe('IoBlocker one-shot arming (poll)', () => {
  it('IoBlocker.block() reports a direction once, then again only after modify() re-arms it', () => {
    const before = openFdCount();
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend: 'poll' });
    const p = tcpPair();
    expect(blocker.register(p.server, 3, INTEREST_READ)).toBe(0);
    // Only the armed direction: a writable socket with read interest reports nothing yet.
    expect(waitEvents(blocker, events, 30)).toEqual([]);
    send(p.client, 'one');
    const first = waitFor(blocker, events, 3);
    expect(first & READABLE).toBe(READABLE);
    expect(first & WRITABLE).toBe(0);
    // Disarmed after reporting, although the data is still unread (poll is level-triggered).
    expect(waitEvents(blocker, events, 60)).toEqual([]);
    expect(blocker.modify(p.server, 3, INTEREST_READ)).toBe(0);
    expect(waitFor(blocker, events, 3, READABLE, 500) & READABLE).toBe(READABLE);
    // Both directions armed: one event carrying both, then silence.
    expect(blocker.modify(p.server, 4, INTEREST_READ | INTEREST_WRITE)).toBe(0);
    const both = waitFor(blocker, events, 4, READABLE | WRITABLE, 500);
    expect(both & (READABLE | WRITABLE)).toBe(READABLE | WRITABLE);
    expect(waitEvents(blocker, events, 30)).toEqual([]);
    // Interest 0: registered but silent even when HUP arrives.
    expect(blocker.modify(p.server, 4, 0)).toBe(0);
    binding.close(p.client);
    expect(waitEvents(blocker, events, 60)).toEqual([]);
    blocker.deregister(p.server);
    binding.close(p.server);
    blocker.close();
    expect(openFdCount()).toBe(before);
  });

  it('IoBlocker.block() reports a write-armed fd once per arming', () => {
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend: 'poll' });
    const p = tcpPair();
    blocker.register(p.client, 9, INTEREST_WRITE);
    expect(waitFor(blocker, events, 9) & WRITABLE).toBe(WRITABLE);
    expect(waitEvents(blocker, events, 30)).toEqual([]);
    blocker.modify(p.client, 9, INTEREST_WRITE);
    expect(waitFor(blocker, events, 9, WRITABLE, 500) & WRITABLE).toBe(WRITABLE);
    blocker.deregister(p.client);
    p.close();
    blocker.close();
  });
});

describe.each(BACKENDS)('IoBlocker with pipes and ttys (%s)', (backend) => {
  it('IoBlocker.register() accepts a pipe (a FIFO) like a socket; read() and write() fall back to read(2) and write(2)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wakeloop-'));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+'); // O_RDWR on a FIFO: both ends, never blocks (fifo(7))
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend });
    try {
      expect(binding.setNonBlocking(fd, true)).toBe(0);
      expect(blocker.register(fd, 12, INTEREST_READ)).toBe(0);
      send(fd, 'through the pipe'); // send(2) fails with ENOTSOCK, write(2) takes over
      expect(waitFor(blocker, events, 12, READABLE) & READABLE).toBe(READABLE);
      expect(recv(fd)).toBe('through the pipe'); // recv(2) fails with ENOTSOCK, read(2) takes over
      expect(recv(fd)).toBe(-E.EAGAIN);
      const n = binding.writev(fd, [Buffer.from('a'), Buffer.from('bc')]);
      expect(n).toBe(3);
      expect(recv(fd)).toBe('abc');
      expect(blocker.deregister(fd)).toBe(0);
    } finally {
      blocker.close();
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it('IoBlocker.register() accepts a pseudo-terminal', () => {
    let fd: number;
    try {
      fd = openSync('/dev/ptmx', 'r+');
    } catch {
      return; // no ptys in this sandbox: nothing to check
    }
    const events = new Int32Array(16);
    const blocker = new binding.IoBlocker(events, { backend });
    try {
      expect(blocker.register(fd, 1, INTEREST_WRITE)).toBe(0);
      expect(blocker.deregister(fd)).toBe(0);
    } finally {
      blocker.close();
      closeSync(fd);
    }
  });
});
