// Sockets a worker thread opened through the addon and never closed are closed when the worker
// ends, however it ends: terminate() and process.exit() run none of its `finally` blocks.
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { binding } from '../../src/_binding.js';
import { ADDON_PATH, E, openFds } from './helpers.js';

/**
 * Starts a worker that opens a listener, a connection to it, the accepted end and a reserve fd,
 * posts the listener's port, then ends as `end` says (or spins until terminated).
 */
function workerWithSockets(end: string): Worker {
  return new Worker(
    `const { parentPort } = require('node:worker_threads');
     const B = require(${JSON.stringify(ADDON_PATH)});
     const listener = B.socket(4);
     B.setReuseAddr(listener, true); // its connections' ends in TIME_WAIT do not hold the port
     B.bind(listener, '127.0.0.1', 0);
     B.listen(listener, 16);
     const { port } = B.localAddress(listener);
     const client = B.socket(4);
     B.connect(client, '127.0.0.1', port);
     let server;
     while ((server = B.accept(listener)) < 0);
     B.openReserveFd();
     parentPort.postMessage(port);
     ${end}`,
    { eval: true },
  );
}

/** 0 if a new listener can take `port` (SO_REUSEADDR allows the closed ends' TIME_WAIT), else -errno. */
function listenOn(port: number): number {
  const fd = binding.socket(4);
  try {
    binding.setReuseAddr(fd, true);
    const rc = binding.bind(fd, '127.0.0.1', port);
    return rc !== 0 ? rc : binding.listen(fd, 1);
  } finally {
    binding.close(fd);
  }
}

/** A worker that opens one socket, posts its fd, and exits when told to. */
async function workerWithOneSocket(): Promise<{ worker: Worker; fd: number }> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const B = require(${JSON.stringify(ADDON_PATH)});
     parentPort.postMessage(B.socket(4));
     parentPort.once('message', () => process.exit(0));`,
    { eval: true },
  );
  const [fd] = (await once(worker, 'message')) as [number];
  return { worker, fd };
}

describe('sockets of a worker that ends', () => {
  it.each([
    ['terminated', 'for (;;) {}', 'terminate'],
    ['process.exit() in the worker', 'process.exit(3);', 'wait'],
    ['returning without closing them', '', 'wait'],
  ])('are closed when it is %s', async (_how, end, stop) => {
    const before = openFds();
    const worker = workerWithSockets(end);
    const [port] = (await once(worker, 'message')) as [number];
    if (stop === 'terminate') await worker.terminate();
    else await once(worker, 'exit');
    // Before, the listener, both ends and the reserve fd stayed open: four fds per worker, and
    // a listener that kept the port.
    expect([...openFds()].filter((fd) => !before.has(fd))).toEqual([]);
    expect(listenOn(port)).toBe(0);
  });

  it('an fd the worker opened and another thread closed is not closed again when the worker ends', async () => {
    const { worker, fd } = await workerWithOneSocket();
    expect(binding.close(fd)).toBe(0);
    const mine = binding.socket(4); // the lowest free number: most likely the same one
    try {
      worker.postMessage('end');
      await once(worker, 'exit');
      expect(binding.setNoDelay(mine, true)).not.toBe(-E.EBADF); // still open
      expect(openFds().has(mine)).toBe(true);
    } finally {
      binding.close(mine);
    }
  });

  it('an fd the worker opened, closed by other means and reused for another file, is left alone when the worker ends', async () => {
    const { worker, fd } = await workerWithOneSocket();
    closeSync(fd); // not through the addon: its record stays
    const file = openSync('/dev/null', 'r'); // the lowest free number: most likely the same one
    try {
      worker.postMessage('end');
      await once(worker, 'exit');
      expect(openFds().has(file)).toBe(true); // another file now: not closed with the worker
    } finally {
      closeSync(file);
    }
  });
});
