// Kernel events that are easy to get wrong with edge triggering: urgent (out-of-band) TCP data,
// after which a short read no longer means the socket was drained, and a soft socket error,
// which must not leave a source "ready" forever once the error was read.
import { spawn as spawnProcess, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AsyncFd, Future, IoBlocker, PENDING, TcpListener, TimeoutError, sleep, spawn, sys, timeout, type Context, type Poll } from '../../src/index.js';
import { catching, run } from '../util.js';

const { EAGAIN, ECONNREFUSED } = constants.errno;
const hasPerl = spawnSync('perl', ['-MSocket', '-e', '1']).status === 0;

// A peer that sends "ab", the urgent byte "c" and "def" at once, then waits for the close.
const URGENT_PEER = `
use Socket;
socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
connect($s, pack_sockaddr_in($ARGV[0], inet_aton('127.0.0.1'))) or die "connect: $!";
send($s, 'ab', 0); send($s, 'c', MSG_OOB); send($s, 'def', 0);
my $buf; recv($s, $buf, 1, 0);
`;

describe('urgent TCP data', () => {
  it.skipIf(!hasPerl)('a read stopped at the urgent mark does not strand the data behind it (perl sends the urgent byte)', async () => {
    let peer: ReturnType<typeof spawnProcess> | undefined;
    const received = run((function* () {
      const listener = yield* TcpListener.bind('127.0.0.1:0');
      peer = spawnProcess('perl', ['-e', URGENT_PEER, String(listener.localAddress.port)], { stdio: 'ignore' });
      const stream = yield* listener.accept();
      listener.close();
      try {
        yield* sleep(100); // everything has arrived, under one edge
        let text = '';
        while (text.length < 5) {
          const data = yield* timeout(2_000, stream.read()); // "ab" stops at the mark: "def" follows
          if (data.length === 0) break;
          text += new TextDecoder().decode(data);
        }
        return text;
      } finally {
        stream.close();
      }
    })());
    await once(peer!, 'exit');
    expect(received).toBe('abdef'); // the urgent byte itself is out of band: not in the stream
  });
});

/** Receives one datagram through an AsyncFd, logging each error recv returns; counts how often it found the fd ready but got EAGAIN. */
class RecvDatagram extends Future<number> {
  emptyPolls = 0;
  readonly errors: number[] = [];
  constructor(private readonly afd: AsyncFd) {
    super();
  }
  poll(cx: Context): Poll<number> {
    const buf = new Uint8Array(64);
    for (;;) {
      const n = sys.read(this.afd.fd, buf, 0, buf.length);
      if (n >= 0) return n;
      if (n !== -EAGAIN) {
        this.errors.push(-n);
        continue;
      }
      this.afd.clearReadable();
      if (!this.afd.pollReadable(cx)) return PENDING;
      if (++this.emptyPolls > 1000) return -1; // ready forever: the loop would spin
    }
  }
}

describe('a soft socket error', () => {
  it('an AsyncFd is not left ready once the error was read: ICMP port unreachable on a connected UDP socket', async () => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    socket.connect(9, '127.0.0.1'); // the discard port: nobody listens, so a datagram draws an ICMP error
    await once(socket, 'connect');
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      const outcome = run((function* () {
        const afd = new AsyncFd(fd);
        try {
          const recv = new RecvDatagram(afd);
          spawn((function* () {
            yield* sleep(20); // the receiver waits first
            sys.write(fd, new Uint8Array([1]), 0, 1);
          })());
          const result = yield* catching(timeout(200, recv));
          return { result, errors: recv.errors, emptyPolls: recv.emptyPolls, errorBit: afd.readiness & IoBlocker.ERROR };
        } finally {
          afd.deregister();
        }
      })());
      expect(outcome.errors).toEqual([ECONNREFUSED]);
      expect(outcome.result).toBeInstanceOf(TimeoutError); // it waited for a datagram, calmly
      expect(outcome.emptyPolls).toBe(0);
      expect(outcome.errorBit).toBe(0);
    } finally {
      socket.close();
    }
  });
});
