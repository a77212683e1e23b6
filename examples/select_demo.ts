// `wakeloop select-demo`: why a future dropped by select() can lose data. A handler loops on
// select(parse a length-prefixed message from the socket, receive from a channel) while a writer
// sends messages in small pieces and another task sends on the channel every millisecond.
// The command line and the printed report are in select_demo_main.ts.
import {
  BufReader,
  TcpListener,
  TcpStream,
  UnexpectedEofError,
  select,
  sleep,
  channel,
  spawn,
  yieldNow,
  type Future,
  type JoinHandle,
  type Receiver,
  type Sender,
  type Task,
} from '../src/index.js';

/**
 * The three handlers compared, in the order the demo runs them.
 *
 * @example
 * ```ts
 * for (const v of VERSIONS) console.log(formatReport(blockOn(runVersion(v)), 1));
 * ```
 */
export type Version = 'naive' | 'read-task' | 'bufreader';
export const VERSIONS: readonly Version[] = ['naive', 'read-task', 'bufreader'];

/**
 * How the load is shaped; `DEFAULTS` is what the command uses.
 *
 * @example
 * ```ts
 * const quick: DemoOptions = { ...DEFAULTS, messages: 20 };
 * ```
 */
export interface DemoOptions {
  /** Messages the writer sends. */
  messages: number;
  /** Bytes per write: a message arrives in several pieces. */
  pieceBytes: number;
  /** Milliseconds between pieces. */
  pauseMs: number;
  /** Milliseconds between the other task's channel sends. */
  tickMs: number;
}

export const DEFAULTS: DemoOptions = { messages: 100, pieceBytes: 7, pauseMs: 1, tickMs: 1 };

/**
 * What one handler got.
 *
 * @example
 * ```ts
 * const r: Report = yield* runVersion('bufreader');
 * if (r.bytesLost > 0) throw new Error('BufReader lost data');
 * ```
 */
export interface Report {
  version: Version;
  sent: number;
  sentBytes: number;
  /** Messages received whole, in order, with the right bytes. */
  intact: number;
  /** Frames received that were not the message expected next. */
  corrupted: number;
  /** Bytes of the sent messages that did not arrive intact. */
  bytesLost: number;
  /** Bytes taken off the socket by parse futures that select() dropped. */
  swallowed: number;
  /** Channel messages the handler received meanwhile. */
  ticks: number;
}

/**
 * Message `seq`: "msg <seq> " and filler, 16 to 64 bytes.
 *
 * @example
 * ```ts
 * message(3); // the bytes of "msg 3 " + 31 filler characters
 * ```
 */
export function message(seq: number): Uint8Array {
  const filler = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let text = `msg ${seq} `;
  const length = 16 + ((seq * 7) % 49);
  while (text.length < length) text += filler[(seq + text.length) % filler.length];
  return new TextEncoder().encode(text);
}

/**
 * A 4-byte big-endian length, then the payload.
 *
 * @example
 * ```ts
 * yield* stream.writeAll(frame(message(0)));
 * ```
 */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** A pause of `ms` (0: just let the other tasks run once). */
const pause = (ms: number): Future<void> => (ms > 0 ? sleep(ms) : yieldNow());

/** The writer: every message, `pieceBytes` at a time with pauses, then FIN. */
function* writer(stream: TcpStream, o: DemoOptions): Task<void> {
  for (let seq = 0; seq < o.messages; seq++) {
    const bytes = frame(message(seq));
    for (let at = 0; at < bytes.length; at += o.pieceBytes) {
      yield* stream.writeAll(bytes, at, Math.min(o.pieceBytes, bytes.length - at));
      yield* pause(o.pauseMs);
    }
  }
  stream.shutdown('write');
}

/** The other task: a channel message every `tickMs`, until cancelled. */
function* ticker(sender: Sender<number>, tickMs: number): Task<void> {
  for (let n = 0; ; n++) {
    yield* pause(tickMs);
    yield* sender.send(n);
  }
}

/** Checks each frame against the message expected next. */
class Checker {
  next = 0;
  corrupted = 0;
  intactBytes = 0;
  ticks = 0;
  /** Naive version: bytes accounted for, in frames its parser returned or read after it broke. */
  accounted = 0;
  /** True if `payload` is the next message; counts it either way. */
  accept(payload: Uint8Array): boolean {
    const want = message(this.next);
    if (payload.length !== want.length || !payload.every((b, i) => b === want[i])) {
      this.corrupted++;
      return false;
    }
    this.next++;
    this.intactBytes += 4 + payload.length;
    return true;
  }
}

/** A frame header no message of this demo has: the reader is out of step with the writer. */
class OutOfStep extends Error {}
const MAX_PAYLOAD = 1024;

/**
 * The naive parser, built on TcpStream.readExact(): fine when awaited to the end, but a select()
 * that drops it mid-way throws away the bytes it already read (and a header it holds).
 */
function* parseFrame(stream: TcpStream, check: Checker): Task<Uint8Array | null> {
  let header: Uint8Array;
  try {
    header = yield* stream.readExact(4);
  } catch (e) {
    if (!(e instanceof UnexpectedEofError)) throw e;
    check.accounted += e.received;
    if (e.received === 0) return null;
    throw e;
  }
  // The header counts only once the frame is out: if select drops us now, it is lost with us.
  const length = new DataView(header.buffer).getUint32(0);
  if (length > MAX_PAYLOAD) {
    check.accounted += 4;
    throw new OutOfStep(`a header announced ${length} bytes`);
  }
  try {
    const payload = yield* stream.readExact(length);
    check.accounted += 4 + length;
    return payload;
  } catch (e) {
    if (e instanceof UnexpectedEofError) check.accounted += 4 + e.received;
    throw e;
  }
}

/** 1. select(parseFrame, channel.recv()), a new parse future on every turn of the loop. */
function* naive(stream: TcpStream, ticks: Receiver<number>, check: Checker): Task<void> {
  try {
    for (;;) {
      const r = yield* select(parseFrame(stream, check), ticks.recv());
      if (r.index === 1) check.ticks++;
      else if (r.value === null) break;
      else if (!check.accept(r.value)) break; // out of step: later frames are garbage too
    }
  } catch (e) {
    if (!(e instanceof OutOfStep) && !(e instanceof UnexpectedEofError)) throw e;
  }
  // Drain what is left so the writer finishes; those bytes cannot be parsed any more.
  for (let chunk = yield* stream.read(); chunk.length > 0; chunk = yield* stream.read()) check.accounted += chunk.length;
}

/**
 * 2. The seed's fix: a task of its own parses frames (its readExact is never dropped) and
 * forwards them; the handler selects on that channel, the other channel and the task's handle.
 */
function* readTask(stream: TcpStream, ticks: Receiver<number>, check: Checker): Task<void> {
  const frames = channel<Uint8Array>(16);
  const reading: JoinHandle<void> = spawn((function* (): Task<void> {
    for (let f = yield* parseFrame(stream, check); f !== null; f = yield* parseFrame(stream, check)) {
      yield* frames.sender.send(f); // readExact returns its own array: no copy needed
    }
  })());
  try {
    for (;;) {
      const r = yield* select(frames.receiver.recv(), ticks.recv(), reading);
      if (r.index === 0) check.accept(r.value);
      else if (r.index === 1) check.ticks++;
      else break; // reading ended (its error, if any, was thrown by select)
    }
    for (let q = frames.receiver.tryRecv(); q.ok; q = frames.receiver.tryRecv()) check.accept(q.value);
  } finally {
    reading.cancel(); // the handler failed first: stop reading
  }
}

/** 3. select(reader.readFrame(), channel.recv()): the partial frame stays in the BufReader. */
function* bufReader(stream: TcpStream, ticks: Receiver<number>, check: Checker): Task<void> {
  const reader = new BufReader(stream, { maxFrameBytes: MAX_PAYLOAD });
  for (;;) {
    const r = yield* select(reader.readFrame(), ticks.recv());
    if (r.index === 1) check.ticks++;
    else if (r.value === null) break;
    else check.accept(r.value); // a view: checked before the task suspends
  }
}

const HANDLERS = { naive, 'read-task': readTask, bufreader: bufReader };

/**
 * Runs one version on a fresh connection over 127.0.0.1 and reports what arrived.
 *
 * @example
 * ```ts
 * const naiveReport = new Executor().blockOn(runVersion('naive', { messages: 20 }));
 * ```
 */
export function* runVersion(version: Version, options: Partial<DemoOptions> = {}): Task<Report> {
  const o = { ...DEFAULTS, ...options };
  const listener = yield* TcpListener.bind('127.0.0.1:0');
  const connecting = spawn(TcpStream.connect(listener.localAddress));
  const server = yield* listener.accept();
  const client = yield* connecting;
  listener.close();
  const ticks = channel<number>(64);
  const ticking = spawn(ticker(ticks.sender, o.tickMs));
  const writing = spawn(writer(client, o));
  const check = new Checker();
  try {
    yield* HANDLERS[version](server, ticks.receiver, check);
    yield* writing;
  } finally {
    ticking.cancel();
    writing.cancel();
    client.close();
    server.close();
  }
  let sentBytes = 0;
  for (let seq = 0; seq < o.messages; seq++) sentBytes += 4 + message(seq).length;
  return {
    version,
    sent: o.messages,
    sentBytes,
    intact: check.next,
    corrupted: check.corrupted,
    bytesLost: sentBytes - check.intactBytes,
    swallowed: version === 'naive' ? sentBytes - check.accounted : 0,
    ticks: check.ticks,
  };
}
