/**
 * One client of the node:net chat server: line splitting, replies, and write batching.
 *
 * @module
 */
import type net from 'node:net';
import {
  decodeFromClient, encodeFromServer, groupDoesNotExist, lineTooLong, tooManyGroups, tooManyJoins,
} from '../../examples/chat/protocol.js';
import type { Subscription } from './node_net_chat_group.js';
import type { ChatServer } from './node_net_chat_server.js';

/** Bytes gathered into one socket.write() at most (plus one post): bounds what a connection queues. */
const WRITE_BATCH = 64 * 1024;
/** How long a closing connection may take to read our last bytes before we reset it. */
const LINGER_MS = 5000;
const LF = 0x0a;
const CR = 0x0d;

/**
 * One client: splits its input into lines, answers them, and feeds it its groups' posts.
 *
 * @example
 * ```ts
 * const connection = new Connection(socket, server); // serves `socket` until it closes
 * ```
 */
export class Connection {
  readonly #socket: net.Socket;
  /** For the group table, the limits and flush scheduling. */
  readonly #server: ChatServer;
  /** This connection's Joins, in order. */
  readonly #subscriptions: Subscription[] = [];
  /** Pieces of a line whose `\n` has not arrived; Invariant: #partialBytes <= maxLine + 1 (see #onData). */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /**
   * Output waiting for the next write, in the order it happened: replies to this client's own
   * requests, and the posts that came before each reply (see #reply).
   */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  /** False from a write() that returned false until 'drain': meanwhile this client lags. */
  #writable = true;
  /** Which subscription gets the first share of the next batch, so no group starves the others. */
  #turn = 0;
  /** Set once the connection stops serving (FIN, reset, too-long line, shutdown). */
  #closed = false;

  constructor(socket: net.Socket, server: ChatServer) {
    this.#socket = socket;
    this.#server = server;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#writable = true;
      socket.resume();
      this.flush();
    });
    socket.on('error', () => {}); // a reset: 'close' follows, and the others carry on
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => {
      this.#close();
      server.forget(this);
    });
  }

  /** Schedules a flush of this connection after the current I/O callbacks. */
  wake(): void {
    this.#server.schedule(this);
  }

  /** Writes pending replies and posts in batches until done or the socket pushes back. */
  flush(): void {
    while (!this.#closed && this.#writable) {
      const bytes = this.#take(WRITE_BATCH);
      const out = this.#out;
      if (out.length === 0) return;
      this.#out = [];
      this.#outBytes = 0;
      this.#writable = this.#socket.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes));
      if (bytes < WRITE_BATCH) return; // every subscription was emptied
    }
  }

  /** Moves posts from the subscriptions to #out until it holds `budget` bytes; returns its size. */
  #take(budget: number): number {
    const subs = this.#subscriptions;
    for (let i = 0; i < subs.length && this.#outBytes < budget; i++) {
      this.#outBytes += subs[(this.#turn + i) % subs.length].takeInto(this.#out, budget - this.#outBytes);
    }
    this.#turn++;
    return this.#outBytes;
  }

  /** Closes the connection at once, dropping its subscriptions. */
  destroy(): void {
    this.#close();
    this.#socket.destroy();
  }

  /** Splits input into lines, handling each, and enforces the line cap even before the `\n`. */
  #onData(chunk: Buffer): void {
    const maxLine = this.#server.options.maxLine;
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1 && !this.#closed; nl = chunk.indexOf(LF, start)) {
      let line = chunk.subarray(start, nl);
      if (this.#partialBytes > 0) {
        line = Buffer.concat([...this.#partial, line], this.#partialBytes + line.length);
        this.#partial = [];
        this.#partialBytes = 0;
      }
      start = nl + 1;
      if (line.length - (line[line.length - 1] === CR ? 1 : 0) > maxLine) return this.#tooLong();
      this.#handle(line);
    }
    if (this.#closed || start === chunk.length) return;
    const pending = (this.#partialBytes += chunk.length - start);
    // One byte over may still be the `\r` of a `\r\n` (BufReader's rule, so both servers agree).
    if (pending > maxLine + 1 || (pending === maxLine + 1 && chunk[chunk.length - 1] !== CR)) return this.#tooLong();
    this.#partial.push(chunk.subarray(start));
  }

  /**
   * The client half-closed: answers its last line, even without a `\n` (as BufReader's readLine
   * returns it), sends what it is owed (posts made before the FIN included), then closes our side
   * and gives it LINGER_MS to read that.
   */
  #onEnd(): void {
    if (this.#closed) return; // already ending: see #tooLong
    if (this.#partialBytes > 0) {
      const line = Buffer.concat(this.#partial, this.#partialBytes);
      this.#partial = [];
      this.#partialBytes = 0;
      if (line.length > this.#server.options.maxLine) return this.#tooLong(); // no `\n` is coming
      this.#handle(line);
    }
    this.#take(Infinity);
    const out = this.#out;
    this.#close();
    this.#socket.end(Buffer.concat(out));
    setTimeout(() => this.#socket.destroy(), LINGER_MS).unref();
  }

  /** Answers one line: join, post, or an error reply. */
  #handle(line: Buffer): void {
    const decoded = decodeFromClient(line);
    if (!decoded.ok) return this.#reply(decoded.error);
    const request = decoded.value;
    if (request === null) return; // a blank line
    if (request.kind === 'join') {
      const { maxJoins } = this.#server.options;
      if (this.#subscriptions.length >= maxJoins) return this.#reply(tooManyJoins(maxJoins));
      const group = this.#server.groups.getOrCreate(request.groupName);
      if (group === undefined) return this.#reply(tooManyGroups(this.#server.options.maxGroups));
      this.#subscriptions.push(group.subscribe(this));
    } else {
      const group = this.#server.groups.get(request.groupName);
      if (group === undefined) return this.#reply(groupDoesNotExist(request.groupName));
      group.post(request.message);
    }
  }

  /**
   * Queues an error for this client. While it reads, the posts it is owed go first, so that it
   * sees everything in the order it happened. While it does not, stop reading it too, as the
   * book's server awaits this send: its errors cannot pile up.
   */
  #reply(text: string): void {
    if (this.#writable) this.#take(Infinity);
    else this.#socket.pause();
    const reply = encodeFromServer({ kind: 'error', message: text });
    this.#out.push(reply);
    this.#outBytes += reply.length;
    this.wake();
  }

  /**
   * Sends the too-long error after the queued replies, then closes. Input is still read and
   * discarded until the client closes or LINGER_MS pass: closing with unread input would reset
   * the connection, and the reset could destroy the error before the client reads it.
   */
  #tooLong(): void {
    this.#take(Infinity); // the posts it is owed (its own among them) go before the error
    const out = [...this.#out, encodeFromServer({ kind: 'error', message: lineTooLong(this.#server.options.maxLine) })];
    this.#close();
    this.#socket.end(Buffer.concat(out));
    this.#socket.resume();
    setTimeout(() => this.#socket.destroy(), LINGER_MS).unref();
  }

  /** Stops serving: drops subscriptions and pending output. The socket may still be ending. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of this.#subscriptions) sub.group.unsubscribe(sub);
    this.#subscriptions.length = 0;
    this.#partial = [];
    this.#out = [];
    this.#outBytes = 0;
  }
}
