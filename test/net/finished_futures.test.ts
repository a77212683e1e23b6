// Futures that already gave their value, buffers whose memory was transferred away, and
// sockets outliving their executor: each is refused or handled, never a silent wrong result.
import { describe, expect, it } from 'vitest';
import {
  AsyncFd,
  BufReader,
  Executor,
  Mutex,
  PENDING,
  TcpListener,
  TcpStream,
  join,
  pollFn,
  ready,
  select,
  sleep,
  spawn,
  sys,
  timeout,
  yieldNow,
  type Future,
  type Task,
} from '../../src/index.js';
import { BACKEND, catching, noLeak, openFds, run, withPair } from '../util.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A Uint8Array whose ArrayBuffer was transferred away (what postMessage with a transfer list does). */
function detached(size = 8): Uint8Array {
  const buf = new Uint8Array(size);
  structuredClone(buf.buffer, { transfer: [buf.buffer] });
  return buf;
}

/** A listener and a connected pair made on `executor`, all left open for the test. */
function openOn(executor: Executor): readonly [TcpListener, TcpStream, TcpStream] {
  return executor.blockOn(
    (function* () {
      const listener = yield* TcpListener.bind('127.0.0.1:0');
      const connecting = spawn(TcpStream.connect(listener.localAddress));
      const server = yield* listener.accept();
      return [listener, yield* connecting, server] as const;
    })(),
  );
}

/**
 * Cancels the await of `first` (it loses a select to a ready future), then checks that the next
 * call gives a new future, which it drops unawaited.
 */
function* loseThenCallAgain(first: Future<unknown>, call: () => Future<unknown>): Task<void> {
  expect((yield* select(first, ready('first'))).index).toBe(1);
  const next = call();
  // Compared by hand: expect().not.toBe() iterates two objects that differ, and a future's
  // iterator polls it.
  expect(next === first).toBe(false);
  next.drop();
}

describe('a finished future given to a combinator', () => {
  it('a read that gave its value is refused by timeout, select and join instead of reading again', () =>
    withPair(function* (client, server) {
      yield* client.writeAll(bytes('abc'));
      const read = server.read();
      expect(text(yield* read)).toBe('abc');
      yield* client.writeAll(bytes('def'));
      expect(() => timeout(300, read)).toThrow(/timeout\(\): this ReadFuture was already awaited/);
      expect(() => select(read)).toThrow(/select\(\): the argument at index 0: this ReadFuture was already awaited/);
      expect(() => join(sleep(1), read)).toThrow(/join\(\): the argument at index 1: this ReadFuture was already awaited/);
      expect(text(yield* server.read())).toBe('def'); // the refused calls took nothing
    }));

  it('a readInto or write that completed inside a combinator cannot be polled into another syscall', () =>
    withPair(function* (client, server) {
      const write = client.write(bytes('xy'));
      expect((yield* select(write)).value).toBe(2);
      const buf = new Uint8Array(8);
      const readInto = server.readInto(buf);
      expect((yield* join(readInto))[0]).toBe(2);
      yield* client.writeAll(bytes('z'));
      for (const again of [write, readInto]) {
        // Refused by join() itself, as after a yield*; polled anyway, the future refuses too.
        expect(() => join(again)).toThrow(/^join\(\): the argument at index 0: this (WriteFuture|ReadIntoFuture) was already awaited/);
        expect(() => again.poll({ waker: { wake() {} } })).toThrow(/already completed/);
      }
      expect(text(yield* server.read())).toBe('z');
    }));

  it('a BufReader line that gave its value is refused, and the next line is still there', () =>
    withPair(function* (client, server) {
      yield* client.writeAll(bytes('one\ntwo\n'));
      const reader = new BufReader(server);
      const line = reader.readLine();
      expect(text((yield* line)!)).toBe('one');
      expect(() => timeout(300, line)).toThrow(TypeError);
      expect(text((yield* reader.readLine())!)).toBe('two');
    }));

  it('a read whose await was cancelled by select may be awaited again and gets the data', () =>
    withPair(function* (client, server) {
      const buf = new Uint8Array(8);
      const readInto = server.readInto(buf);
      expect((yield* select(readInto, sleep(10))).index).toBe(1); // the read lost and was dropped
      yield* client.writeAll(bytes('late'));
      expect(yield* readInto).toBe(4);
      expect(text(buf.subarray(0, 4))).toBe('late');
    }));

  it('a connect whose await was cancelled while the handshake was under way connects when awaited again', () => {
    noLeak(() =>
      run((function* () {
        // A backlog of 1, never accepted: the kernel leaves further handshakes unanswered.
        const listener = yield* TcpListener.bind('127.0.0.1:0', { backlog: 1 });
        const queued: TcpStream[] = [];
        let connect = TcpStream.connect(listener.localAddress);
        for (let i = 0; i < 8; i++) {
          const first = yield* select(connect, sleep(50));
          if (first.index === 1) break; // this one is still connecting
          queued.push(first.value as TcpStream);
          connect = TcpStream.connect(listener.localAddress);
        }
        expect(queued.length).toBeLessThan(8);
        for (const stream of queued) stream.close();
        for (const _ of queued) (yield* listener.accept()).close(); // room in the backlog again
        // The cancelled attempt's socket was closed; awaiting again starts over on that address.
        // Before, it had moved past the address and threw `null`.
        const stream = yield* timeout(5_000, connect);
        const server = yield* timeout(5_000, listener.accept());
        yield* stream.writeAll(bytes('again'));
        expect(text(yield* server.read())).toBe('again');
        for (const socket of [stream, server, listener]) socket.close();
      })()),
    );
  });

  it('a connect, bind or accept that completed inside a combinator is refused instead of connecting, binding or accepting again', () => {
    noLeak(() =>
      run((function* () {
        const bind = TcpListener.bind('127.0.0.1:0');
        const [listener] = yield* join(bind);
        expect(() => bind.poll({ waker: { wake() {} } })).toThrow(/TcpListener.bind\(\): this future already completed; call TcpListener.bind\(\) again/);
        const connect = TcpStream.connect(listener.localAddress);
        const accept = listener.accept();
        const [client, server] = yield* join(connect, accept);
        const cx = { waker: { wake() {} } };
        expect(() => connect.poll(cx)).toThrow(/TcpStream.connect\(\): this future already completed/);
        expect(() => accept.poll(cx)).toThrow(/TcpListener.accept\(\): this future already completed/);
        const refused = TcpStream.connect('127.0.0.1:1');
        expect(yield* catching(select(refused, sleep(5_000)))).toMatchObject({ code: 'ECONNREFUSED' });
        expect(() => refused.poll(cx)).toThrow(/already completed/); // not `throw null`
        for (const socket of [client, server, listener]) socket.close();
      })()),
    );
  });

  it('a join that fails disposes the values its finished children gave: a connected stream is closed, a mutex guard released', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const mutex = new Mutex(0);
        const failure = new Error('the other child failed');
        const failing = (function* () {
          yield* sleep(20); // after the connect and the lock are done
          throw failure;
        })();
        const error = yield* catching(join(TcpStream.connect(listener.localAddress), mutex.lock(), failing));
        expect(error).toBe(failure);
        expect(mutex.locked).toBe(false);
        const server = yield* listener.accept();
        expect(yield* server.read()).toHaveLength(0); // the joined client was closed: EOF
        server.close();
        listener.close();
      })()),
    );
  });

  it('a stream, listener or AsyncFd waited on from another executor\'s task is a StateError, not a wait that never ends', () => {
    const owner = new Executor({ backend: BACKEND });
    const [listener, client, server] = openOn(owner);
    const fd = sys.socket(4);
    const afd = owner.blockOn(pollFn(() => new AsyncFd(fd)));
    try {
      run((function* () {
        expect(yield* catching(server.read())).toMatchObject({ name: 'StateError', message: /TcpStream belongs to another executor/ });
        expect(yield* catching(listener.accept())).toMatchObject({ name: 'StateError', message: /TcpListener belongs to another executor/ });
        expect(() => afd.pollReadable({ waker: { wake() {} } })).toThrow(/AsyncFd belongs to another executor/);
      })());
      // On its own executor the stream still works: the refused read left nothing behind.
      owner.blockOn((function* () {
        yield* client.writeAll(bytes('ok'));
        expect(text(yield* server.read())).toBe('ok');
      })());
    } finally {
      afd.deregister();
      sys.close(fd);
      for (const socket of [client, server, listener]) socket.close();
      owner.close();
    }
  });

  it('a read, writeAll or BufReader call whose await was cancelled is not handed out again by the next call', () =>
    withPair(function* (client, server) {
      const cancelled = server.read();
      yield* loseThenCallAgain(cancelled, () => server.read());
      yield* client.writeAll(bytes('data'));
      expect(text(yield* cancelled)).toBe('data'); // the cancelled await, awaited again, reads
      const reader = new BufReader(server);
      const line = reader.readLine();
      yield* loseThenCallAgain(line, () => reader.readFrame());
      yield* client.writeAll(bytes('a line\n'));
      expect(text((yield* line)!)).toBe('a line');
      const big = new Uint8Array(16 << 20);
      const write = client.writeAll(big); // more than the socket buffers hold: it waits
      expect((yield* select(write, sleep(20))).index).toBe(1);
      expect(client.writeAll(bytes('x')) === write).toBe(false);
    }));

  it('the same future or generator twice in one join or select is refused; a JoinHandle twice is fine', () => {
    run((function* () {
      const f = pollFn(() => 1);
      expect(() => join(f, f)).toThrow(/index 1 was given twice/);
      const gen = (function* () {
        return 2;
      })();
      expect(() => select(sleep(5), gen, gen)).toThrow(/index 2 was given twice/);
      const h = spawn((function* () {
        yield* sleep(1);
        return 3;
      })());
      expect(yield* join(h, h)).toEqual([3, 3]);
    })());
  });
});

describe('detached buffers', () => {
  it('readInto, write and writeAll refuse a detached buffer instead of reporting end of stream', () =>
    withPair(function* (client, server) {
      expect(() => server.readInto(detached())).toThrow(/TcpStream.readInto\(\): buf is detached/);
      expect(() => client.write(detached())).toThrow(/TcpStream.write\(\): buf is detached/);
      expect(() => client.writeAll(detached())).toThrow(/TcpStream.writeAll\(\): buf is detached/);
      expect(yield* server.readInto(new Uint8Array(0))).toBe(0); // an empty buffer is not detached
    }));

  it('a write or writeAll whose buffer is detached before its first poll names the call (it named the native write)', () =>
    withPair(function* (client, server) {
      for (const [call, start] of [
        ['write', (b: Uint8Array) => client.write(b)],
        ['writeAll', (b: Uint8Array) => client.writeAll(b)],
      ] as const) {
        const buf = bytes('detach me');
        const writing = start(buf);
        structuredClone(buf.buffer, { transfer: [buf.buffer] });
        const error = yield* catching(writing);
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toBe(`TcpStream.${call}(): buf was detached or shrank before the write began`);
      }
      yield* client.writeAll(bytes('still works'));
      expect(text(yield* server.read())).toBe('still works');
    }));

  it('a readInto whose buffer is detached while it waits fails, and later reads still work', () =>
    withPair(function* (client, server) {
      const buf = new Uint8Array(16);
      const reading = spawn(catching(server.readInto(buf)));
      yield* yieldNow(); // the read is now waiting
      structuredClone(buf.buffer, { transfer: [buf.buffer] });
      yield* client.writeAll(bytes('hello'));
      const error = yield* reading;
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/detached or shrank while the read waited/);
      expect(text(yield* server.read())).toBe('hello'); // not "a read is already pending"
    }));
});

describe('sockets kept past their executor', () => {
  it('a stream and a listener closed after their executor closed release their fds', () => {
    const before = openFds();
    const executor = new Executor({ backend: BACKEND });
    const [listener, client, server] = openOn(executor);
    executor.close();
    for (const socket of [client, server, listener]) {
      socket.close();
      expect(socket.closed).toBe(true);
      expect(() => socket.close()).toThrow(/closed/);
    }
    expect(openFds()).toBe(before);
  });
});

describe('AsyncFd', () => {
  it('refuses a poll whose context has no waker (it would fail later, at the next event)', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const client = yield* TcpStream.connect(listener.localAddress);
        const fd = sys.accept(listener.fd); // a raw fd, the kind AsyncFd is for
        listener.close();
        expect(fd).toBeGreaterThanOrEqual(0);
        const afd = new AsyncFd(fd);
        try {
          for (const cx of [undefined, {}, { waker: 42 }]) {
            expect(() => afd.pollReadable(cx as never)).toThrow(/AsyncFd.pollReadable\(cx\): cx must be the Context/);
            expect(() => afd.pollWritable(cx as never)).toThrow(/AsyncFd.pollWritable\(cx\)/);
          }
          // A real poll still works: it waits until the peer writes.
          const writing = spawn((function* () {
            yield* sleep(5);
            yield* client.writeAll(bytes('x'));
          })());
          expect(yield* pollFn((cx) => (afd.pollReadable(cx) ? true : PENDING))).toBe(true);
          yield* writing;
        } finally {
          afd.deregister();
          sys.close(fd);
          client.close();
        }
      })()),
    );
  });
});
