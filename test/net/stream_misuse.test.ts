// One reader and one writer per stream, the futures a stream reuses, and the caller's memory:
// what happens when a program bends the rules.
import { describe, expect, it } from 'vitest';
import {
  BufReader,
  Executor,
  IoBlocker,
  IoError,
  TcpListener,
  TcpStream,
  TimeoutError,
  sleep,
  spawn,
  sys,
  timeout,
  StateError,
  type Task,
} from '../../src/index.js';
import { BACKEND, catching, noLeak, run, withPair } from '../util.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads everything until EOF into one array. */
function* readAll(stream: TcpStream, size: number): Task<Uint8Array> {
  const out = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = yield* stream.readInto(out, got);
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/** Resets `server`'s connection: its peer closes with unread data, so the kernel sends RST. */
function* resetFromPeer(client: TcpStream, server: TcpStream): Task<void> {
  yield* server.writeAll(bytes('unread'));
  yield* sleep(20);
  client.close();
  yield* sleep(20);
}

describe('TcpStream misuse and caller memory', () => {
  it('writeAll() of a Buffer changed while the write waits sends the bytes as they were', () =>
    withPair(function* (client, server) {
      const size = 8 << 20; // more than the socket buffers hold: the write has to wait
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = i % 251;
      const expected = Buffer.from(data);
      const reader = spawn(function* () {
        yield* sleep(50);
        return yield* readAll(server, size);
      }());
      const write = client.writeAll(data);
      spawn(function* () {
        yield* sleep(10);
        data.fill(0); // the caller reuses its Buffer, as writeAll() allows
      }());
      yield* write;
      client.shutdown('write');
      const got = yield* reader;
      expect(got.length).toBe(size);
      expect(Buffer.compare(Buffer.from(got), expected)).toBe(0);
    }));

  it('write() of a Buffer changed while the write waits sends the bytes as they were', () =>
    withPair(function* (client, server) {
      let sent = 0;
      for (;;) {
        const n = yield* client.write(new Uint8Array(1 << 20));
        sent += n;
        if (n < 1 << 20) break; // the send buffer is full: the next write waits
      }
      const data = Buffer.from('0123456789abcdef'.repeat(256));
      const reader = spawn(function* () {
        yield* sleep(50);
        return yield* readAll(server, sent + data.length);
      }());
      const write = client.write(data);
      spawn(function* () {
        yield* sleep(10);
        data.fill(0);
      }());
      const n = yield* write;
      client.shutdown('write');
      const got = yield* reader;
      expect(text(got.subarray(sent, sent + n))).toBe('0123456789abcdef'.repeat(256).slice(0, n));
    }));

  it('after a read fails, the next read reports the stream again (not "a read is pending")', () =>
    withPair(function* (client, server) {
      const pending = spawn(catching(server.read()));
      yield* sleep(10);
      yield* resetFromPeer(client, server);
      expect(yield* pending).toMatchObject({ code: 'ECONNRESET' });
      const next = yield* catching(server.read()); // EOF or an IoError, never a misuse error
      if (next !== undefined) expect(next).toBeInstanceOf(IoError);
      const reader = new BufReader(server);
      const line = yield* catching(reader.readLine());
      if (line !== undefined) expect(line).toBeInstanceOf(IoError);
      server.close();
    }));

  it('after a writeAll fails, the next writeAll reports the stream again', () =>
    withPair(function* (client, server) {
      // Fill the socket so writeAll waits, then reset it under the waiting write.
      const pending = spawn(catching(client.writeAll(new Uint8Array(8 << 20))));
      yield* sleep(20);
      server.close(); // with unread data: the kernel resets the connection
      expect(yield* pending).toBeInstanceOf(IoError);
      expect(yield* catching(client.writeAll(bytes('more')))).toBeInstanceOf(IoError);
      client.close();
    }));

  it('two writeAll() futures made before either is awaited each send their own bytes, in order', () =>
    withPair(function* (client, server) {
      const first = client.writeAll(bytes('first;'));
      const second = client.writeAll(bytes('second;'));
      expect(second === first).toBe(false); // (not toBe: printing a future would iterate it)
      yield* first;
      yield* second;
      // Once both are done, writeAll() reuses its future again.
      const again = client.writeAll(bytes('third;'));
      expect(again === first || again === second).toBe(true);
      yield* again;
      client.shutdown('write');
      expect(text(yield* readAll(server, 64))).toBe('first;second;third;');
    }));

  it('two BufReader calls made before either is awaited return their own lines, in order', () =>
    withPair(function* (client, server) {
      const reader = new BufReader(server);
      yield* client.writeAll(bytes('one\ntwo\n'));
      const first = reader.readLine();
      const second = reader.readLine();
      expect(text((yield* first)!)).toBe('one');
      expect(text((yield* second)!)).toBe('two');
    }));

  it('a second task reading or writing the same stream gets an error instead of taking turns', () =>
    withPair(function* (client, server) {
      for (const second of [
        () => server.readInto(new Uint8Array(8)),
        () => server.readExact(8),
        () => server.read(),
        () => new BufReader(server).readLine(),
      ]) {
        const waiting = spawn(catching(server.readInto(new Uint8Array(8))));
        yield* sleep(5);
        const error = yield* catching(second());
        expect(error).toBeInstanceOf(StateError);
        expect((error as StateError).code).toBe('ERR_INVALID_STATE');
        expect((error as Error).message).toMatch(/a read is already pending on (this stream|this reader)/);
        waiting.cancel();
        yield* catching(waiting);
      }
      // Writes: fill the socket so one writeAll waits, then a write from another task.
      const waitingWrite = spawn(catching(client.writeAll(new Uint8Array(8 << 20))));
      yield* sleep(20);
      const error = yield* catching(client.write(bytes('x')));
      expect(error).toBeInstanceOf(StateError);
      expect((error as Error).message).toMatch(/a write is already pending on this stream/);
      waitingWrite.cancel();
      yield* catching(waitingWrite);
      // Once the waiting future is gone, the direction is free again: a write waits (the
      // socket is still full) instead of throwing.
      expect(yield* catching(timeout(30, client.write(bytes('x'))))).toBeInstanceOf(TimeoutError);
    }));

  it('boolean options refuse non-booleans instead of reading them as false', () =>
    withPair(function* (client, server) {
      for (const bad of [1, 'yes', {}, null]) {
        expect(() => client.setNoDelay(bad as never)).toThrow(/TcpStream.setNoDelay\(\): noDelay must be a boolean/);
        expect(() => TcpListener.bind('127.0.0.1:0', { reusePort: bad as never })).toThrow(
          /TcpListener.bind\(\): reusePort must be a boolean/,
        );
      }
      client.setNoDelay(false);
      client.setNoDelay();
    }));

  it('a misspelt option is refused with the names of the real ones, not ignored', () =>
    withPair(function* (_client, server) {
      expect(() => TcpListener.bind('127.0.0.1:0', { reuseport: true } as never)).toThrow(
        new TypeError("TcpListener.bind(): unknown option 'reuseport' (the options are reusePort, backlog)"),
      );
      expect(() => new BufReader(server, { maxLine: 5 } as never)).toThrow(/new BufReader\(\): unknown option 'maxLine'/);
      expect(() => new Executor({ backend: BACKEND, onUnhandled: 'warn' } as never)).toThrow(/new Executor\(\): unknown option 'onUnhandled'/);
      expect(() => new IoBlocker({ capacty: 8 } as never)).toThrow(/new IoBlocker\(\): unknown option 'capacty'/);
    }));

  it('addresses with stray brackets or IPv6 zones are refused when the call is made', () => {
    for (const bad of ['[]:80', '[127.0.0.1:80', 'foo]:80', '[fe80::1%lo]:80']) {
      expect(() => TcpStream.connect(bad)).toThrow(TypeError);
    }
    expect(() => TcpStream.connect({ host: 'fe80::1%lo', port: 80 })).toThrow(/zone ids/);
    expect(() => TcpListener.bind({ host: '[::1]', port: 0 })).toThrow(/brackets/);
  });

  it('a refused IPv6 connect names the address as [::1]:port', () => {
    noLeak(() =>
      run((function* () {
        let listener: TcpListener;
        try {
          listener = yield* TcpListener.bind('[::1]:0');
        } catch {
          return; // no IPv6 loopback on this machine
        }
        const port = listener.localAddress.port;
        listener.close();
        const error = yield* catching(TcpStream.connect(`[::1]:${port}`));
        expect((error as Error).message).toContain(`connect to [::1]:${port}`);
      })()),
    );
  });

  it('a host-name connect cancelled from outside a turn leaves no lookup waiter behind', () => {
    const executor = new Executor({ backend: BACKEND });
    try {
      // The lookup thread may answer within the same turn (localhost is in /etc/hosts): try
      // until one turn ends with the lookup still waiting for its notify.
      let cancelled = 0;
      for (let attempt = 0; attempt < 50 && cancelled === 0; attempt++) {
        const handle = executor.spawn(TcpStream.connect('localhost:9'));
        executor.turn(0);
        if (executor.reactor.hasWaiters) {
          handle.cancel(); // plain code, no turn running
          expect(executor.reactor.hasWaiters).toBe(false);
          cancelled++;
        } else {
          handle.cancel();
          while (executor.turn(0));
        }
      }
      expect(cancelled).toBe(1);
    } finally {
      executor.close();
    }
    // A cancelled lookup's thread runs getaddrinfo to its end (opening /etc/hosts and the like)
    // and cannot be joined: give those threads time to finish before the next test counts fds.
    run(sleep(100));
  });

  it('sys.writev takes no data pointer before every buffer is fetched (a getter may detach one)', () =>
    withPair(function* (client, server) {
      const first = new Uint8Array(65536).fill(0x41);
      const bufs: Uint8Array[] = [first];
      Object.defineProperty(bufs, 1, {
        get() {
          structuredClone(first.buffer, { transfer: [first.buffer] }); // detaches `first`
          return new Uint8Array([0x42]);
        },
      });
      expect(() => sys.writev(client.fd, bufs)).toThrow(/writev: bufs\[0\] is detached/);
    }));
});
