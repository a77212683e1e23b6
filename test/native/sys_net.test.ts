// The raw socket shims: numbers back (>= 0 or -errno), never an exception for a syscall error,
// close-on-exec everywhere, no SIGPIPE, IPv4 and IPv6, and thrown TypeError/RangeError only for
// bad arguments.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { binding, WRITABLE, INTEREST_WRITE } from '../../src/_binding.js';
import {
  E,
  hasIPv6Loopback,
  isCloexec,
  listener,
  openFdCount,
  recv,
  retry,
  send,
  sleepSync,
  tcpPair,
  waitFor,
} from './helpers.js';

const SIGPIPE = 13;

function isNonBlocking(fd: number): boolean {
  const m = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return (parseInt(m![1], 8) & 0o4000) !== 0;
}

/** A port on 127.0.0.1 that nobody listens on (bound, then closed). */
function closedPort(): number {
  const l = listener();
  binding.close(l.fd);
  return l.port;
}

describe('sys_net shims', () => {
  let fdsBefore: number;
  beforeEach(() => {
    fdsBefore = openFdCount();
  });
  afterEach(() => {
    expect(openFdCount()).toBe(fdsBefore);
  });

  it('socket() creates non-blocking close-on-exec sockets for both families', () => {
    for (const family of [4, 6] as const) {
      const fd = binding.socket(family);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(isCloexec(fd)).toBe(true);
      expect(isNonBlocking(fd)).toBe(true);
      expect(binding.close(fd)).toBe(0);
    }
  });

  it('accept() returns non-blocking close-on-exec sockets and -EAGAIN when nobody waits', () => {
    const l = listener();
    expect(binding.accept(l.fd)).toBe(-E.EAGAIN);
    const client = binding.socket(4);
    binding.connect(client, '127.0.0.1', l.port);
    const server = retry(() => binding.accept(l.fd));
    expect(server).toBeGreaterThanOrEqual(0);
    expect(isCloexec(server)).toBe(true);
    expect(isNonBlocking(server)).toBe(true);
    for (const fd of [server, client, l.fd]) binding.close(fd);
  });

  it('read() returns -EAGAIN on an empty socket, the bytes at the offset, and 0 at EOF', () => {
    const p = tcpPair();
    const buf = new Uint8Array(16).fill(0xee);
    expect(binding.read(p.server, buf, 0, 16)).toBe(-E.EAGAIN);
    send(p.client, 'abc');
    sleepSync(5);
    expect(retry(() => binding.read(p.server, buf, 4, 8))).toBe(3);
    expect(Array.from(buf.subarray(3, 8))).toEqual([0xee, 97, 98, 99, 0xee]);
    expect(binding.shutdown(p.client, 1)).toBe(0);
    sleepSync(5);
    expect(retry(() => binding.read(p.server, buf, 0, 16))).toBe(0);
    expect(binding.read(p.server, buf, 0, 0)).toBe(0);
    p.close();
  });

  it('writev() gathers several buffers in one call; an empty list writes nothing', () => {
    const p = tcpPair();
    expect(binding.writev(p.client, [Buffer.from('he'), new Uint8Array(0), Buffer.from('llo')])).toBe(5);
    expect(binding.writev(p.client, [])).toBe(0);
    sleepSync(5);
    expect(recv(p.server)).toBe('hello');
    p.close();
  });

  it('connect() to a closed port gives -EINPROGRESS then SO_ERROR ECONNREFUSED', () => {
    const port = closedPort();
    const fd = binding.socket(4);
    const r = binding.connect(fd, '127.0.0.1', port);
    expect([-E.EINPROGRESS, -E.ECONNREFUSED]).toContain(r);
    if (r === -E.EINPROGRESS) {
      const events = new Int32Array(8);
      const b = new binding.IoBlocker(events);
      b.register(fd, 1, INTEREST_WRITE);
      expect(waitFor(b, events, 1, WRITABLE) & WRITABLE).toBe(WRITABLE);
      b.deregister(fd);
      b.close();
      expect(binding.socketError(fd)).toBe(E.ECONNREFUSED);
      expect(binding.socketError(fd)).toBe(0); // reading SO_ERROR clears it
    }
    binding.close(fd);
  });

  it('every shim returns -EBADF for a closed fd instead of throwing', () => {
    const fd = binding.socket(4);
    binding.close(fd);
    const buf = new Uint8Array(4);
    expect(binding.read(fd, buf, 0, 4)).toBe(-E.EBADF);
    expect(binding.write(fd, buf, 0, 4)).toBe(-E.EBADF);
    expect(binding.writev(fd, [buf])).toBe(-E.EBADF);
    expect(binding.accept(fd)).toBe(-E.EBADF);
    expect(binding.listen(fd, 1)).toBe(-E.EBADF);
    expect(binding.bind(fd, '127.0.0.1', 0)).toBe(-E.EBADF);
    expect(binding.connect(fd, '127.0.0.1', 1)).toBe(-E.EBADF);
    expect(binding.shutdown(fd, 2)).toBe(-E.EBADF);
    expect(binding.socketError(fd)).toBe(-E.EBADF);
    expect(binding.setNoDelay(fd, true)).toBe(-E.EBADF);
    expect(binding.setReuseAddr(fd, true)).toBe(-E.EBADF);
    expect(binding.setReusePort(fd, true)).toBe(-E.EBADF);
    expect(binding.setNonBlocking(fd, true)).toBe(-E.EBADF);
    expect(binding.localAddress(fd)).toBe(-E.EBADF);
    expect(binding.peerAddress(fd)).toBe(-E.EBADF);
    expect(binding.close(fd)).toBe(-E.EBADF);
  });

  it('write() to a reset peer returns -EPIPE or -ECONNRESET and raises no SIGPIPE', () => {
    // Watching SIGPIPE swaps Node's SIG_IGN for a counting handler, so a SIGPIPE would show.
    const b = new binding.IoBlocker(new Int32Array(2));
    expect(binding.signalWatch(SIGPIPE, b.registryId)).toBe(0);
    const before = binding.signalCount(SIGPIPE);
    try {
      const p = tcpPair();
      send(p.server, 'unread');
      sleepSync(10);
      binding.close(p.server); // unread data: RST
      sleepSync(10);
      const buf = Buffer.from('into the void');
      const results = [1, 2, 3].map(() => binding.write(p.client, buf, 0, buf.length));
      expect(results.some((r) => r === -E.EPIPE || r === -E.ECONNRESET)).toBe(true);
      expect(binding.writev(p.client, [buf])).toBeLessThan(0);
      expect(binding.signalCount(SIGPIPE)).toBe(before);
      binding.close(p.client);
    } finally {
      expect(binding.signalUnwatch(SIGPIPE, b.registryId)).toBe(0);
      b.close();
    }
  });

  it('localAddress() and peerAddress() describe both ends; -ENOTCONN before connecting', () => {
    const p = tcpPair();
    const local = binding.localAddress(p.client);
    const peer = binding.peerAddress(p.client);
    expect(local).toMatchObject({ address: '127.0.0.1', family: 4 });
    expect(peer).toMatchObject({ address: '127.0.0.1', family: 4 });
    expect(binding.peerAddress(p.server)).toEqual(local);
    expect(binding.localAddress(p.server)).toEqual(peer);
    const fd = binding.socket(4);
    expect(binding.peerAddress(fd)).toBe(-E.ENOTCONN);
    binding.close(fd);
    p.close();
  });

  it('bind() and connect() return -EINVAL for an address that is not numeric', () => {
    const fd = binding.socket(4);
    for (const bad of ['localhost', 'not an ip', '', '1.2.3.4.5', '127.0.0.1\0junk']) {
      expect(binding.bind(fd, bad, 0)).toBe(-E.EINVAL);
      expect(binding.connect(fd, bad, 80)).toBe(-E.EINVAL);
    }
    binding.close(fd);
  });

  it('socket options return 0 on a socket and -errno on a non-socket', () => {
    const fd = binding.socket(4);
    expect(binding.setNoDelay(fd, true)).toBe(0);
    expect(binding.setNoDelay(fd, false)).toBe(0);
    expect(binding.setReuseAddr(fd, true)).toBe(0);
    expect(binding.setReusePort(fd, true)).toBe(0);
    expect(binding.setNonBlocking(fd, false)).toBe(0);
    expect(isNonBlocking(fd)).toBe(false);
    expect(binding.setNonBlocking(fd, true)).toBe(0);
    expect(isNonBlocking(fd)).toBe(true);
    binding.close(fd);
    const reserve = binding.openReserveFd();
    expect(binding.setNoDelay(reserve, true)).toBe(-E.ENOTSOCK);
    expect(binding.localAddress(reserve)).toBe(-E.ENOTSOCK);
    binding.close(reserve);
  });

  it('setReusePort() lets two listeners share a port; without it bind gives -EADDRINUSE', () => {
    const a = binding.socket(4);
    const b = binding.socket(4);
    const c = binding.socket(4);
    expect(binding.setReusePort(a, true)).toBe(0);
    expect(binding.setReusePort(b, true)).toBe(0);
    expect(binding.bind(a, '127.0.0.1', 0)).toBe(0);
    expect(binding.listen(a, binding.somaxconn)).toBe(0);
    const port = (binding.localAddress(a) as { port: number }).port;
    expect(binding.bind(b, '127.0.0.1', port)).toBe(0);
    expect(binding.listen(b, binding.somaxconn)).toBe(0);
    expect(binding.bind(c, '127.0.0.1', port)).toBe(-E.EADDRINUSE);
    for (const fd of [a, b, c]) binding.close(fd);
  });

  it('somaxconn is a positive backlog and openReserveFd() opens a close-on-exec fd', () => {
    expect(Number.isInteger(binding.somaxconn)).toBe(true);
    expect(binding.somaxconn).toBeGreaterThan(0);
    const fd = binding.openReserveFd();
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(isCloexec(fd)).toBe(true);
    expect(binding.close(fd)).toBe(0);
  });

  it('strerror() describes an errno of either sign', () => {
    expect(binding.strerror(-E.ECONNRESET)).toBe('Connection reset by peer');
    expect(binding.strerror(E.ECONNRESET)).toBe('Connection reset by peer');
    expect(typeof binding.strerror(123456)).toBe('string');
  });

  it.skipIf(!hasIPv6Loopback())('socket(6) connects and exchanges data over ::1', () => {
    const p = tcpPair('::1');
    expect(binding.localAddress(p.client)).toMatchObject({ address: '::1', family: 6 });
    expect(binding.peerAddress(p.server)).toMatchObject({ address: '::1', family: 6 });
    send(p.client, 'over six');
    sleepSync(5);
    expect(recv(p.server)).toBe('over six');
    p.close();
  });
});

describe('sys_net argument checks', () => {
  const fd = 0; // never reached: the checks come first
  const buf = new Uint8Array(8);

  it('read() and write() throw for a bad fd, buffer, offset or length', () => {
    for (const f of [binding.read, binding.write]) {
      expect(() => f(-1, buf, 0, 1)).toThrow(RangeError);
      expect(() => f(1.5, buf, 0, 1)).toThrow(TypeError);
      expect(() => f('3' as unknown as number, buf, 0, 1)).toThrow(TypeError);
      expect(() => f(2 ** 31, buf, 0, 1)).toThrow(RangeError);
      expect(() => f(fd, [1, 2] as unknown as Uint8Array, 0, 1)).toThrow(TypeError);
      expect(() => f(fd, new Int8Array(4) as unknown as Uint8Array, 0, 1)).toThrow(TypeError);
      expect(() => f(fd, new Uint16Array(4) as unknown as Uint8Array, 0, 1)).toThrow(TypeError);
      expect(() => f(fd, buf, 9, 0)).toThrow(RangeError);
      expect(() => f(fd, buf, 4, 5)).toThrow(RangeError);
      expect(() => f(fd, buf, -1, 1)).toThrow(RangeError);
      expect(() => f(fd, buf, 0, -1)).toThrow(RangeError);
      expect(() => f(fd, buf, 0.5, 1)).toThrow(TypeError);
      expect(() => f(fd, buf, 0, NaN)).toThrow(TypeError);
      expect(() => f(fd, buf, 0, undefined as unknown as number)).toThrow(TypeError);
    }
  });

  it('read() throws a TypeError for a detached buffer', () => {
    const b = new Uint8Array(16);
    structuredClone(b.buffer, { transfer: [b.buffer] });
    expect(() => binding.read(0, b, 0, 0)).toThrow(/detached/);
  });

  it('the other shims throw for bad arguments with the function named in the message', () => {
    expect(() => binding.socket(5 as 4)).toThrow(RangeError);
    expect(() => binding.socket(7 as 4)).toThrow(RangeError);
    expect(() => binding.bind(fd, 42 as unknown as string, 0)).toThrow(TypeError);
    expect(() => binding.bind(fd, '127.0.0.1', 70000)).toThrow(/bind: port/);
    expect(() => binding.connect(fd, '127.0.0.1', -1)).toThrow(RangeError);
    expect(() => binding.listen(fd, 1.5)).toThrow(TypeError);
    expect(() => binding.shutdown(fd, 3 as 2)).toThrow(RangeError);
    expect(() => binding.setNoDelay(fd, 1 as unknown as boolean)).toThrow(TypeError);
    expect(() => binding.writev(fd, 'x' as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => binding.writev(fd, [buf, 'x' as unknown as Uint8Array])).toThrow(/bufs\[1\]/);
    expect(() => binding.close(-3)).toThrow(/close: fd/);
    expect(() => binding.strerror('x' as unknown as number)).toThrow(TypeError);
    expect(() => binding.accept(Infinity)).toThrow(TypeError);
  });
});
