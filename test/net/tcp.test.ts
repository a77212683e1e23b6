import { spawn as spawnProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  IoError,
  ResolveError,
  TcpListener,
  TcpStream,
  UnexpectedEofError,
  sleep,
  spawn,
  sys,
  yieldNow,
  type JoinHandle,
  type Task,
} from '../../src/index.js';
import { catching, noLeak, pair, run, withPair } from '../util.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads until EOF and returns everything as one array. */
function* readToEnd(stream: TcpStream): Task<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = yield* stream.read();
    if (chunk.length === 0) return Buffer.concat(chunks);
    chunks.push(chunk.slice());
  }
}

/** Reads `stream` to its end in a task of its own; `moved()` is how many bytes it has read so far. */
function drainInTask(stream: TcpStream): { handle: JoinHandle<void>; moved: () => number } {
  let moved = 0;
  const handle = spawn((function* (): Task<void> {
    for (;;) {
      const n = (yield* stream.read()).length;
      if (n === 0) return;
      moved += n;
    }
  })());
  return { handle, moved: () => moved };
}

/**
 * Turns until `moved()` reaches `total` and returns the most it grew between two turns of this
 * task: what another task moved in one poll (each turn polls it once).
 */
function* mostPerTurn(moved: () => number, total: number): Task<number> {
  let most = 0;
  let seen = 0;
  while (moved() < total) {
    yield* yieldNow();
    most = Math.max(most, moved() - seen);
    seen = moved();
  }
  return most;
}

/** What a peer process does with its socket `s` once connected: write as fast as it can. */
const FLOOD = `const b=Buffer.alloc(65536);const w=()=>{while(s.write(b));};s.on('drain',w);w();`;
/** ...or read as fast as it can. */
const SINK = `s.on('data',()=>{});`;

/**
 * Runs `body` on the connection of another process that runs `script` (FLOOD, SINK) on its
 * socket `s`, so the traffic is real and not scheduled by this executor. The peer is killed and
 * the connection and listener closed when `body` ends; the peer exits by itself after 20 s.
 */
function* withPeer(script: string, body: (stream: TcpStream, listener: TcpListener) => Task<void>): Task<void> {
  using listener = yield* TcpListener.bind('127.0.0.1:0');
  const peer = spawnProcess(process.execPath, [
    '-e',
    `const s=require('net').connect(${listener.localAddress.port},'127.0.0.1',()=>{${script}});` +
      `s.on('error',()=>{});setTimeout(()=>process.exit(0),20000);`,
  ], { stdio: 'ignore' });
  try {
    using stream = yield* listener.accept();
    yield* body(stream, listener);
  } finally {
    peer.kill('SIGKILL');
  }
}

describe('TcpStream and TcpListener', () => {
  it('TcpStream.resetAndClose() drops unsent bytes and the peer reads ECONNRESET, not an end', () =>
    withPair(function* (client, server) {
      yield* server.writeAll(bytes('sent before'));
      expect(new TextDecoder().decode(yield* client.read())).toBe('sent before');
      server.resetAndClose();
      expect(server.closed).toBe(true);
      expect(() => server.resetAndClose()).toThrow(ClosedError);
      const error = (yield* catching(client.read())) as IoError;
      expect(error).toBeInstanceOf(IoError);
      expect(error.code).toBe('ECONNRESET');
    }));

  it('TcpStream echoes a message through a listener and reports addresses', () =>
    withPair(function* (client, server) {
      expect(client.peerAddress).toEqual(server.localAddress);
      expect(client.localAddress.address).toBe('127.0.0.1');
      yield* client.writeAll(bytes('ping'));
      const got = yield* server.read();
      yield* server.writeAll(got);
      expect(text(yield* client.read())).toBe('ping');
    }));

  it('peerAddress threw ENOTCONN once both sides had closed: it is remembered from the first read of it', () =>
    withPair(function* (client, server) {
      const serverSide = client.localAddress;
      expect(server.peerAddress).toEqual(serverSide);
      const clientSide = client.peerAddress;
      clientSide.port = 1; // a copy: the stream's stays as it was
      client.shutdown('write');
      expect((yield* server.read()).length).toBe(0);
      server.shutdown('write');
      expect((yield* client.read()).length).toBe(0);
      yield* sleep(20); // the last ACK arrives: the client is in TIME_WAIT, the server closed
      expect(server.peerAddress).toEqual(serverSide);
      expect(client.peerAddress).toEqual(server.localAddress);
    }));

  it('TcpStream.read() views hold each read\'s bytes, small (shared views) and large alike', () =>
    withPair(function* (client, server) {
      // Equal lengths reuse one cached view of the scratch buffer; each read must still show
      // its own bytes, and a view's length must be the count just read.
      for (const message of ['aaaa', 'bbbb', 'cc', 'dddd', 'x'.repeat(3000), 'eeee']) {
        yield* client.writeAll(bytes(message));
        let got = '';
        while (got.length < message.length) got += text(yield* server.read());
        expect(got).toBe(message);
      }
    }));

  it('TcpStream.read() returns an empty array at EOF, and again after', () =>
    withPair(function* (client, server) {
      client.close();
      expect((yield* server.read()).length).toBe(0);
      expect((yield* server.read()).length).toBe(0);
      server.close();
    }));

  it('data and FIN arriving together are both read (sticky half-close)', () =>
    withPair(function* (client, server) {
      yield* client.writeAll(bytes('last words'));
      client.shutdown('write');
      yield* sleep(20); // both arrive before the server looks: one edge for data + FIN
      expect(text(yield* readToEnd(server))).toBe('last words');
    }));

  it('a half-closed stream can still be written: the peer reads the reply after its FIN', () =>
    withPair(function* (client, server) {
      yield* client.writeAll(bytes('question'));
      client.shutdown('write');
      expect(text(yield* readToEnd(server))).toBe('question');
      yield* server.writeAll(bytes('answer'));
      server.close();
      expect(text(yield* readToEnd(client))).toBe('answer');
      client.close();
    }));

  it('a reset by the peer is an IoError on this connection only', () =>
    withPair(function* (client, server) {
      const [other1, other2] = yield* pair();
      yield* server.writeAll(bytes('unread data'));
      yield* sleep(10);
      client.close(); // closing with unread data sends RST
      yield* sleep(10);
      const err = (yield* catching((function* () {
        for (;;) yield* server.writeAll(new Uint8Array(65536));
      })())) as IoError;
      expect(err).toBeInstanceOf(IoError);
      expect(['ECONNRESET', 'EPIPE']).toContain(err.code);
      server.close();
      yield* other1.writeAll(bytes('still fine'));
      expect(text(yield* other2.read())).toBe('still fine');
      other1.close();
      other2.close();
    }));

  it('reading a reset connection gives ECONNRESET', () =>
    withPair(function* (client, server) {
      yield* server.writeAll(bytes('x'));
      yield* sleep(10);
      client.close();
      const err = (yield* catching(readToEnd(server))) as IoError;
      expect(err).toBeInstanceOf(IoError);
      expect(err.code).toBe('ECONNRESET');
      expect(err.message).toMatch(/read: .*\(ECONNRESET\)/);
      server.close();
    }));

  it('TcpStream.connect() to a closed port fails with ECONNREFUSED', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const port = listener.localAddress.port;
        listener.close();
        const err = (yield* catching(TcpStream.connect({ host: '127.0.0.1', port }))) as IoError;
        expect(err).toBeInstanceOf(IoError);
        expect(err.code).toBe('ECONNREFUSED');
      })()),
    );
  });

  it('TcpStream.connect() resolves a host name and tries each address in turn', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const connecting = spawn(TcpStream.connect(`localhost:${listener.localAddress.port}`));
        const server = yield* listener.accept();
        const client = yield* connecting;
        expect(client.peerAddress.address).toBe('127.0.0.1');
        client.close();
        server.close();
        listener.close();
        const err = yield* catching(TcpStream.connect('no-such-host.invalid:80'));
        expect(err).toBeInstanceOf(ResolveError);
      })()),
    );
  });

  it('TcpListener accepts 1,000 connections made in a burst', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const address = listener.localAddress;
        const clients = Array.from({ length: 1000 }, () => spawn(TcpStream.connect(address)));
        const accepted: TcpStream[] = [];
        while (accepted.length < 1000) accepted.push(yield* listener.accept());
        for (const c of clients) (yield* c).close();
        for (const s of accepted) s.close();
        listener.close();
      })(), 30_000),
    );
  });

  it('writeAll() sends 8 MiB through partial writes and the echo comes back intact', () => {
    noLeak(() =>
      run((function* () {
        const [client, server] = yield* pair();
        const data = new Uint8Array(8 << 20);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7919) >>> 3;
        const echo = spawn((function* (): Task<void> {
          for (;;) {
            const chunk = yield* server.read();
            if (chunk.length === 0) break;
            yield* server.writeAll(chunk); // the view is copied only if the write must wait
          }
          server.close();
        })());
        const sending = spawn((function* (): Task<void> {
          yield* client.writeAll(data);
          client.shutdown('write');
        })());
        const back = yield* readToEnd(client);
        yield* sending;
        yield* echo;
        client.close();
        expect(back.length).toBe(data.length);
        expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      })(), 30_000),
    );
  });

  it('TcpStream.readExact() reads across segments and reports an early EOF', () =>
    withPair(function* (client, server) {
      spawn((function* (): Task<void> {
        yield* client.writeAll(bytes('ab'));
        yield* sleep(5);
        yield* client.writeAll(bytes('cdef'));
        client.close();
      })());
      expect(text(yield* server.readExact(3))).toBe('abc');
      const err = (yield* catching(server.readExact(10))) as UnexpectedEofError;
      expect(err).toBeInstanceOf(UnexpectedEofError);
      expect(err.received).toBe(3);
      server.close();
    }));

  it('a flooding connection does not starve a quiet one (cooperative budget)', () => {
    noLeak(() =>
      run(withPeer(FLOOD, function* (flood, listener) {
        const drain = drainInTask(flood);
        while (drain.moved() < 1 << 20) yield* sleep(1);
        const connecting = spawn(TcpStream.connect(listener.localAddress));
        const quietServer = yield* listener.accept();
        const quiet = yield* connecting;
        for (let i = 0; i < 50; i++) {
          yield* quiet.writeAll(bytes(`ping ${i}`));
          const got = yield* quietServer.read();
          yield* quietServer.writeAll(got);
          expect(text(yield* quiet.read())).toBe(`ping ${i}`);
        }
        const floodedDuringPings = drain.moved();
        drain.handle.cancel();
        quiet.close();
        quietServer.close();
        expect(floodedDuringPings).toBeGreaterThan(1 << 20);
      }), 20_000),
    );
  });

  it('a task reading a flood lets the others run after about 128 KiB, not 128 reads', () => {
    noLeak(() =>
      run(withPeer(FLOOD, function* (flood) {
        yield* sleep(100); // let megabytes queue up in the socket
        const drain = drainInTask(flood);
        const most = yield* mostPerTurn(drain.moved, 8 << 20);
        drain.handle.cancel();
        // 128 units, one per read and one per KiB read: at most ~128 KiB plus the last read.
        expect(most).toBeGreaterThan(0);
        expect(most).toBeLessThanOrEqual(192 * 1024);
      }), 20_000),
    );
  });

  it('a task that only writes, to a peer that reads as fast as it can, lets the others run too', () => {
    noLeak(() =>
      run(withPeer(SINK, function* (stream) {
        const chunk = new Uint8Array(64 << 10);
        let written = 0;
        const writer = spawn((function* (): Task<void> {
          for (;;) {
            yield* stream.writeAll(chunk);
            written += chunk.length;
          }
        })());
        const most = yield* mostPerTurn(() => written, 32 << 20);
        writer.cancel();
        // Each writeAll checks the budget before it writes: about 128 KiB per turn, plus a write.
        expect(most).toBeGreaterThan(0);
        expect(most).toBeLessThanOrEqual(256 * 1024);
      }), 20_000),
    );
  });

  it('bad input gives typed errors with clear messages', () => {
    noLeak(() =>
      run((function* () {
        expect(() => TcpListener.bind('nonsense')).toThrow(/host:port/);
        expect(() => TcpListener.bind('127.0.0.1:99999')).toThrow(RangeError);
        expect(() => TcpListener.bind({ host: '127.0.0.1', port: -1 })).toThrow(RangeError);
        expect(() => TcpListener.bind({ host: '127.0.0.1', port: 1.5 })).toThrow(/integer/);
        expect(() => TcpStream.connect(42 as never)).toThrow(TypeError);
        expect(() => TcpStream.connect('[nothex]:80')).toThrow(/IPv6/);
        const [client, server] = yield* pair();
        expect(() => client.writeAll('text' as never)).toThrow(/Uint8Array or Buffer/);
        expect(() => client.write(new Uint8Array(4), 5)).toThrow(RangeError);
        expect(() => client.write(new Uint8Array(4), 2, 3)).toThrow(RangeError);
        expect(() => client.readInto(new Uint8Array(4), -1)).toThrow(RangeError);
        expect(() => client.readExact(-1)).toThrow(RangeError);
        expect(() => client.shutdown('sideways' as never)).toThrow(/'read', 'write' or 'both', got "sideways"/);
        expect(() => client.shutdown({} as never)).toThrow(/got an object \(Object\)/);
        client.close();
        expect(() => client.close()).toThrow(ClosedError);
        expect(() => client.read()).toThrow(/TcpStream \(read\) is closed/);
        expect(() => client.writeAll(new Uint8Array(1))).toThrow(ClosedError);
        server.close();
        expect(() => sys.read(-1, new Uint8Array(1), 0, 1)).toThrow(/fd must be/);
        expect(() => sys.read(1.5, new Uint8Array(1), 0, 1)).toThrow(TypeError);
        expect(() => sys.write(1, 'x' as never, 0, 1)).toThrow(TypeError);
        expect(() => sys.read(0, new Uint8Array(1), 0, 2)).toThrow(RangeError);
        expect(sys.close(999_999)).toBeLessThan(0);
      })()),
    );
  });

  it('a read pending in one task fails with ClosedError when another task closes the stream', () =>
    withPair(function* (client, server) {
      const reading = spawn(catching(server.read()));
      yield* sleep(5);
      server.close();
      expect(yield* reading).toBeInstanceOf(ClosedError);
      client.close();
    }));
});
