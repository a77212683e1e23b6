// One side of the `wakeloop handshake` demo, run in a worker thread: the role, its parkers and
// its finish-line reference arrive in workerData as cloneable forms.
import { isMainThread, workerData } from 'node:worker_threads';
import { Parker, type ParkerForm } from '../src/sync/parker.js';
import { Unparker, type UnparkerForm } from '../src/sync/unparker.js';
import { WaitGroup, type WaitGroupForm } from '../src/sync/wait_group.js';
import { writeLine } from './handshake.js';

/**
 * What the main thread posts to each worker (as `workerData`): the parker the role parks on,
 * the unparker of its peer, the "server is listening" signal (the server holds its unparker,
 * the client parks on it), one WaitGroup reference for the finish line, and `stallMs`: how long
 * a side waits for its peer's answer before it calls the handshake broken (instead of hanging).
 *
 * @example
 * ```ts
 * import { Parker } from '../src/sync/parker.js';
 * import { WaitGroup } from '../src/sync/wait_group.js';
 * import type { HandshakeRole } from './handshake_worker.js';
 *
 * const [server, client, listening, finishLine] = [new Parker(), new Parker(), new Parker(), new WaitGroup()];
 * const role: HandshakeRole = {
 *   role: 'server',
 *   parker: server.toCloneable(),
 *   peer: client.unparker().toCloneable(),
 *   listening: listening.unparker().toCloneable(),
 *   finishLine: finishLine.toCloneable(),
 *   stallMs: 11_000,
 * };
 * // main() posts this as the server worker's workerData, next to the client's role.
 * console.log(structuredClone(role).role); // server
 * ```
 */
export type HandshakeRole =
  | {
      readonly role: 'server';
      readonly parker: ParkerForm;
      readonly peer: UnparkerForm;
      readonly listening: UnparkerForm;
      readonly finishLine: WaitGroupForm;
      readonly stallMs: number;
    }
  | {
      readonly role: 'client';
      readonly parker: ParkerForm;
      readonly peer: UnparkerForm;
      readonly listening: ParkerForm;
      readonly finishLine: WaitGroupForm;
      readonly stallMs: number;
      readonly startDelayMs: number;
      readonly timeWaitMs: number;
    };

/** Prints a state the role has just entered. */
function enter(who: 'Client' | 'Server', state: string): void {
  writeLine(`[${who}] ${state}`);
}

/**
 * Parks until the peer answers. The seed parks without a limit; here a peer that never answers
 * (a broken handshake: a missing or extra step) fails the worker, and with it the demo,
 * instead of hanging it.
 */
function awaitPeer(me: Parker, stallMs: number, who: 'Client' | 'Server', state: string): void {
  if (!me.parkTimeout(stallMs)) {
    throw new Error(`[${who}] ${state}: no answer from the peer in ${stallMs} ms, the handshake stalled`);
  }
}

// Each "enter, unpark the peer, park" below is one turn: the unpark stands for the segment this
// state sends (SYN, SYN+ACK, ACK, FIN, ...), the park for waiting for the peer's answer. Every
// line is thus printed only after the peer's previous line: the order cannot drift.

/** The passive side: CLOSED -> LISTEN -> SYNC_RCVD -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED. */
function actServer(role: Extract<HandshakeRole, { role: 'server' }>): void {
  const me = Parker.from(role.parker);
  const client = Unparker.from(role.peer);
  const finishLine = WaitGroup.from(role.finishLine);
  enter('Server', 'CLOSED');
  enter('Server', 'LISTEN');
  Unparker.from(role.listening).unpark(); // the client may start its clock now
  awaitPeer(me, role.stallMs, 'Server', 'LISTEN'); // the client's SYN
  // SYNC_RCVD is the seed's own spelling of SYN_RCVD, kept so the output matches it.
  for (const state of ['SYNC_RCVD', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK']) {
    enter('Server', state);
    client.unpark();
    awaitPeer(me, role.stallMs, 'Server', state);
  }
  enter('Server', 'CLOSED');
  // Nothing may reach a closed connection: a later unpark from the client would throw.
  me.close();
  finishLine.wait();
}

/** The active side: CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED. */
function actClient(role: Extract<HandshakeRole, { role: 'client' }>): void {
  const me = Parker.from(role.parker);
  const server = Unparker.from(role.peer);
  const finishLine = WaitGroup.from(role.finishLine);
  const listening = Parker.from(role.listening);
  awaitPeer(listening, role.stallMs, 'Client', 'waiting for LISTEN'); // connecting earlier is refused
  listening.close();
  new Parker().parkTimeout(role.startDelayMs); // a sleep: nobody unparks a fresh parker
  enter('Client', 'CLOSED');
  for (const state of ['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2']) {
    enter('Client', state);
    server.unpark();
    awaitPeer(me, role.stallMs, 'Client', state);
  }
  enter('Client', 'TIME_WAIT');
  server.unpark(); // the last ACK: the server closes
  // TIME_WAIT (2MSL) ends on its timeout; the server sends nothing after LAST_ACK.
  if (me.parkTimeout(role.timeWaitMs)) {
    throw new Error('the client was unparked during TIME_WAIT: the server sent after LAST_ACK');
  }
  enter('Client', 'CLOSED');
  me.close();
  finishLine.wait();
}

if (!isMainThread) {
  const role = workerData as HandshakeRole;
  if (role?.role === 'server') actServer(role);
  else if (role?.role === 'client') actClient(role);
  else throw new TypeError('handshake_worker: workerData must be a HandshakeRole');
}
