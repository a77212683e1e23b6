import { describe, expect, it } from 'vitest';
import {
  BufReader,
  Future,
  FrameTooLargeError,
  LineTooLongError,
  PENDING,
  TimeoutError,
  UnexpectedEofError,
  join,
  joinAll,
  ready,
  select,
  sleep,
  spawn,
  timeout,
  type Context,
  type Poll,
  type Task,
} from '../../src/index.js';
import { catching, noLeak, pair, run, withPair } from '../util.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** A 4-byte big-endian length prefix, then the payload. */
function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/**
 * A ByteSource that hands out the given chunks as TcpStream.read() does: each is a view into one
 * shared scratch buffer that the next read overwrites (with junk after it), so a reader that
 * keeps a view instead of copying fails the test. Reads are ready at once; EOF after the last.
 */
class ChunkSource {
  readonly #scratch = new Uint8Array(64 * 1024);
  #next = 0;
  #last = 0;
  reads = 0;
  constructor(private readonly chunks: Uint8Array[]) {}
  read(): Future<Uint8Array> {
    this.reads++;
    const chunk = this.chunks[this.#next++] ?? new Uint8Array(0);
    this.#scratch.fill(0xee, 0, this.#last); // junk where the previous view was
    this.#scratch.set(chunk);
    this.#last = chunk.length;
    return ready(this.#scratch.subarray(0, chunk.length));
  }
  /** Overwrites the whole scratch with junk, as another stream's read would. */
  fill(): void {
    this.#scratch.fill(0xee);
  }
}

/** Splits `data` into pieces of the given sizes, the last taking the rest (no empty piece: that is EOF). */
function split(data: Uint8Array, ...sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of [...sizes, data.length]) {
    if (n > 0 && at < data.length) out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

function* readLines(reader: BufReader): Task<Array<string | null>> {
  const lines: Array<string | null> = [];
  for (;;) {
    const line = text(yield* reader.readLine());
    lines.push(line);
    if (line === null) return lines;
  }
}

describe('BufReader', () => {
  it('BufReader.readLine() finds lines split at every position, with \\r\\n and empty lines', () => {
    const input = bytes('alpha\r\n\nbeta gamma\nd\r\n\r\nlast');
    const want = ['alpha', '', 'beta gamma', 'd', '', 'last', null];
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b += 3) {
        const reader = new BufReader(new ChunkSource(split(input, a, b - a)));
        expect(run(readLines(reader))).toEqual(want);
      }
    }
  });

  it('BufReader.readLine() returns a last line without \\n at EOF, then null every time', () => {
    const reader = new BufReader(new ChunkSource([bytes('one\ntwo\r')]));
    expect(run(readLines(reader))).toEqual(['one', 'two\r', null]);
    expect(run(reader.readLine())).toBeNull();
  });

  it('BufReader.readLine() over a socket: lines arrive in small pieces with pauses', () =>
    withPair(function* (client, server) {
      const all = bytes(Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(i * 7)}\r\n`).join(''));
      spawn((function* () {
        for (let at = 0; at < all.length; at += 97) {
          yield* client.writeAll(all.subarray(at, at + 97));
          if (at % 5 === 0) yield* sleep(1);
        }
        client.shutdown('write');
      })());
      const lines = yield* readLines(new BufReader(server));
      expect(lines.length).toBe(51);
      expect(lines[49]).toBe(`line 49 ${'x'.repeat(343)}`);
    }));

  it('BufReader.readLine() throws LineTooLongError at the cap and then skips that line', () => {
    const limit = 10;
    const reader = new BufReader(new ChunkSource([bytes('0123456789\r\n0123456789'), bytes('A'), bytes('more\nok\n'), bytes('x'.repeat(11) + '\nend')]), {
      maxLineBytes: limit,
    });
    run((function* () {
      expect(text(yield* reader.readLine())).toBe('0123456789'); // exactly the limit, with \r\n
      const e = (yield* catching(reader.readLine())) as LineTooLongError;
      expect(e).toBeInstanceOf(LineTooLongError);
      expect(e.limit).toBe(limit);
      expect(e.code).toBe('ERR_LINE_TOO_LONG');
      expect(e.message).toBe('line too long (limit 10 bytes)');
      expect(text(yield* reader.readLine())).toBe('ok');
      expect(yield* catching(reader.readLine())).toBeInstanceOf(LineTooLongError); // found with its \n
      expect(text(yield* reader.readLine())).toBe('end');
      expect(text(yield* reader.readLine(3))).toBeNull();
    })());
  });

  it('BufReader.readLine() stops buffering a line at the cap (memory stays bounded)', () => {
    const endless = Array.from({ length: 100 }, () => new Uint8Array(1000).fill(65));
    const source = new ChunkSource(endless);
    const reader = new BufReader(source, { maxLineBytes: 4096 });
    expect(run(catching(reader.readLine()))).toBeInstanceOf(LineTooLongError);
    expect(source.reads).toBe(5);
    expect(reader.buffered).toBe(0);
  });

  it('BufReader.readLine() takes a 256 KiB line arriving a byte at a time in linear time', () => {
    const size = 256 * 1024;
    const chunks = Array.from({ length: size }, () => new Uint8Array([120]));
    chunks.push(bytes('\n'));
    const reader = new BufReader(new ChunkSource(chunks));
    const t0 = performance.now();
    const got = run(reader.readLine(size));
    expect(got!.length).toBe(size);
    // Searching the whole line again on every byte would compare ~3.4e10 bytes (many seconds).
    expect(performance.now() - t0).toBeLessThan(1_500);
  });

  it('BufReader releases its buffer after a large line; an idle reader holds at most 1 KiB', () => {
    const big = 'y'.repeat(60_000);
    const reader = new BufReader(new ChunkSource(split(bytes(`${big}\nsmall\nrest`), 30_000, 30_000)));
    run((function* () {
      expect(reader.capacity).toBe(0);
      expect((yield* reader.readLine())!.length).toBe(60_000);
      expect(reader.capacity).toBeLessThanOrEqual(1024);
      expect(reader.buffered).toBe('small\nrest'.length);
      expect(text(yield* reader.readLine())).toBe('small');
      expect(text(yield* reader.readLine())).toBe('rest');
      expect(reader.capacity).toBeLessThanOrEqual(1024);
    })());
  });

  it('BufReader.readFrame() reads frames split anywhere, empty frames, then null at EOF', () => {
    const payloads = ['hello', '', 'x'.repeat(300), 'bye'].map(bytes);
    const stream = new Uint8Array(payloads.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of payloads) {
      stream.set(frame(p), at);
      at += 4 + p.length;
    }
    for (let a = 0; a < stream.length; a += 7) {
      const reader = new BufReader(new ChunkSource(split(stream, a, 3, 1)));
      run((function* () {
        for (const p of payloads) expect(text(yield* reader.readFrame())).toBe(text(p));
        expect(yield* reader.readFrame()).toBeNull();
      })());
    }
  });

  it('BufReader.readFrame() rejects a length over maxFrameBytes and a frame cut by EOF', () => {
    const tooBig = new BufReader(new ChunkSource([frame(new Uint8Array(101))]), { maxFrameBytes: 100 });
    const e = run(catching(tooBig.readFrame())) as FrameTooLargeError;
    expect(e).toBeInstanceOf(FrameTooLargeError);
    expect([e.length, e.limit, e.code]).toEqual([101, 100, 'ERR_FRAME_TOO_LARGE']);
    const cut = new BufReader(new ChunkSource([frame(bytes('abcdef')).subarray(0, 7)]));
    const eof = run(catching(cut.readFrame())) as UnexpectedEofError;
    expect(eof).toBeInstanceOf(UnexpectedEofError);
    expect([eof.expected, eof.received]).toEqual([10, 7]);
    const header = new BufReader(new ChunkSource([new Uint8Array([0, 0])]));
    expect(run(catching(header.readFrame()))).toBeInstanceOf(UnexpectedEofError);
  });

  it('BufReader.readExact() is buffered and reports EOF with the count it had', () => {
    const reader = new BufReader(new ChunkSource([bytes('abc'), bytes('defgh')]));
    run((function* () {
      expect(text(yield* reader.readExact(2))).toBe('ab');
      expect(text(yield* reader.readExact(4))).toBe('cdef');
      expect(text(yield* reader.readExact(0))).toBe('');
      const e = (yield* catching(reader.readExact(5))) as UnexpectedEofError;
      expect([e.expected, e.received]).toEqual([5, 2]);
    })());
  });

  it('BufReader.readLine() is cancel-safe: a timeout mid-line loses no byte', () =>
    withPair(function* (client, server) {
      const reader = new BufReader(server);
      yield* client.writeAll(bytes('first half, '));
      expect(yield* catching(timeout(5, reader.readLine()))).toBeInstanceOf(TimeoutError);
      expect(reader.buffered).toBe(12);
      yield* client.writeAll(bytes('second half\nnext'));
      expect(text(yield* reader.readLine())).toBe('first half, second half');
      client.close();
      expect(text(yield* reader.readLine())).toBe('next');
      expect(yield* reader.readLine()).toBeNull();
      server.close();
    }));

  it('BufReader.readFrame() and readExact() are cancel-safe when select drops them mid-way', () =>
    withPair(function* (client, server) {
      const reader = new BufReader(server);
      const data = frame(bytes('a frame sent in three parts'));
      const [head, middle, tail] = split(data, 2, 12);
      for (const part of [head, middle]) {
        yield* client.writeAll(part);
        // The frame is incomplete until the tail is sent: the sleep wins and the read is dropped.
        expect((yield* select(reader.readFrame(), sleep(5))).index).toBe(1);
      }
      expect(reader.buffered).toBe(14);
      yield* client.writeAll(tail);
      expect(text(yield* reader.readFrame())).toBe('a frame sent in three parts');
      yield* client.writeAll(bytes('0123456789'));
      expect((yield* select(reader.readExact(20), sleep(5))).index).toBe(1);
      expect(text(yield* reader.readExact(10))).toBe('0123456789');
    }));

  it('BufReader calls run one at a time; dropping a pending call frees the reader', () => {
    class Never extends Future<Uint8Array> {
      drops = 0;
      poll(): Poll<Uint8Array> {
        return PENDING;
      }
      override drop(): void {
        this.drops++;
      }
    }
    const never = new Never();
    const reader = new BufReader({ read: () => never });
    const cx: Context = { waker: { wake() {} } };
    const call = reader.readLine();
    expect(call.poll(cx)).toBe(PENDING);
    expect(() => reader.readFrame()).toThrow(/a read is already pending on this reader/);
    call.drop();
    expect(never.drops).toBe(1);
    expect(reader.readFrame().poll(cx)).toBe(PENDING);
  });

  it('join() over two BufReaders returned corrupted lines (views of the shared scratch buffer): each value keeps its bytes', () => {
    noLeak(() =>
      run((function* () {
        const [c1, s1] = yield* pair();
        const [c2, s2] = yield* pair();
        const r1 = new BufReader(s1);
        const r2 = new BufReader(s2);
        // Whole lines with something after them, lengths that differ, and both already in the
        // kernel: each reader finds its line in the chunk it just read.
        yield* c1.writeAll(bytes('alpha-line\nrest-1'));
        yield* c2.writeAll(bytes('BETA\nrest-two\n'));
        yield* sleep(10);
        const [a, b] = yield* join(r1.readLine(), r2.readLine());
        expect([text(a), text(b)]).toEqual(['alpha-line', 'BETA']);
        const [f1, f2] = yield* join(r1.readExact(6), r2.readLine());
        expect([text(f1), text(f2)]).toEqual(['rest-1', 'rest-two']);
        yield* c1.writeAll(frame(bytes('frame one')));
        yield* c2.writeAll(frame(bytes('2')));
        yield* sleep(10);
        const frames = yield* joinAll([r1.readFrame(), r2.readFrame()]);
        expect(frames.map(text)).toEqual(['frame one', '2']);
        for (const s of [c1, s1, c2, s2]) s.close();
      })()),
    );
  });

  it('BufReader items are never views of the shared scratch: a line, frame or exact read survives the next read of the source', () => {
    run((function* () {
      // Each item is found whole in a fresh chunk, the case that used to return a scratch view.
      const source = new ChunkSource([bytes('one\ntwo-is-longer\nx'), frame(bytes('framed')), bytes('exact bytes')]);
      const reader = new BufReader(source);
      const one = yield* reader.readLine();
      source.fill(); // overwrites the scratch `one` was found in
      expect(text(one)).toBe('one');
      expect(text(yield* reader.readLine())).toBe('two-is-longer'); // the leftovers were kept
      const eager = new ChunkSource([frame(bytes('framed')), bytes('exact bytes')]);
      const framed = new BufReader(eager);
      const f = yield* framed.readFrame();
      eager.fill();
      expect(text(f)).toBe('framed');
      const exact = new BufReader(new ChunkSource([bytes('exact bytes')]));
      const e = yield* exact.readExact(5);
      eager.fill();
      expect(text(e)).toBe('exact');
      // An item, then leftovers that do not fit beside it in the reader's 1 KiB buffer.
      const big = new ChunkSource([bytes('short line\n' + 'y'.repeat(1100) + '\n')]);
      const reader3 = new BufReader(big);
      const line = yield* reader3.readLine();
      big.fill();
      expect(text(line)).toBe('short line');
      expect(text(yield* reader3.readLine())).toBe('y'.repeat(1100));
      expect(yield* reader3.readLine()).toBe(null);
    })());
  });

  it('BufReader validates its arguments', () => {
    const reader = new BufReader(new ChunkSource([]));
    expect(() => new BufReader({} as never)).toThrow(/stream must be a TcpStream or another ByteSource, got an object/);
    expect(() => new BufReader(new ChunkSource([]), { maxLineBytes: -1 })).toThrow(RangeError);
    expect(() => reader.readExact(1.5)).toThrow(/readExact\(\): n must be an integer/);
    expect(() => reader.readLine('x' as never)).toThrow(TypeError);
  });

  it('a ByteSource that breaks its contract gets an error naming it, not a wrong result', () => {
    run((function* () {
      const notAFuture = new BufReader({ read: () => 42 } as never);
      expect(yield* catching(notAFuture.readLine())).toMatchObject({ message: "BufReader: the stream's read() returned number 42, not a Future" });
      const floats = new BufReader({ read: () => ready(new Float64Array(4)) } as never);
      expect(yield* catching(floats.readLine())).toMatchObject({ message: "BufReader: the stream's read() gave an object (Float64Array), not a Uint8Array" });
    })());
  });
});
