// Outbound and Subscription in one process, over a real connected pair: the order in which a
// closing connection, a writer holding the lock and a subscriber task take the Outbound lock.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Packet } from '../../../examples/chat/batch.js';
import { Outbound } from '../../../examples/chat/connection.js';
import { Group } from '../../../examples/chat/group.js';
import { encodeFromServer } from '../../../examples/chat/protocol.js';
import { sleep, spawn, type TcpStream, type Task } from '../../../src/index.js';
import { withPair } from '../../util.js';

/** More bytes than the kernel buffers for one loopback connection: a write of them waits for the reader. */
function moreThanBuffered(): number {
  const max = (file: string) => Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2]);
  return max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem') + (1 << 20);
}

/** Reads `stream` to its end; returns the byte count and the last `tail` bytes. */
function* readAll(stream: TcpStream, tail: number): Task<{ bytes: number; last: Uint8Array }> {
  let bytes = 0;
  let last = new Uint8Array(0);
  for (let chunk = yield* stream.read(); chunk.length > 0; chunk = yield* stream.read()) {
    bytes += chunk.length;
    const joined = new Uint8Array(last.length + chunk.length);
    joined.set(last);
    joined.set(chunk, last.length);
    last = joined.slice(Math.max(0, joined.length - tail));
  }
  return { bytes, last };
}

it('Outbound.close() still writes a post its subscriber took while the lock was on its way to the closer', () => {
  withPair(function* (client, server) {
    const outbound = new Outbound(server);
    const group = new Group('dogs', 16);
    const subscription = group.join(outbound);
    // A write more than the socket buffers hold: it keeps the lock until the client reads.
    const big = new Uint8Array(moreThanBuffered()).fill(0x2e);
    const writer = spawn(outbound.send(Packet.of(big)));
    yield* sleep(20);
    expect(writer.finished).toBe(false);
    // The closer queues for the lock before the post exists; the subscriber takes the post
    // next, and queues behind the closer.
    const closer = spawn(outbound.close(undefined, () => subscription.taken < 1));
    yield* sleep(20);
    group.post('last');
    yield* sleep(20);

    const reader = spawn(readAll(client, 256));
    yield* writer;
    yield* closer;
    subscription.cancel();
    server.shutdown('write');
    const { bytes, last } = yield* reader;
    const lastPost = encodeFromServer({ kind: 'message', groupName: 'dogs', message: 'last' });
    expect(bytes).toBe(big.length + lastPost.length);
    expect(Buffer.from(last.subarray(last.length - lastPost.length))).toEqual(Buffer.from(lastPost));
  });
});
