// The script each poolScope() worker thread starts with (compiled: dist/src/thread/pool_worker.js).
// It loads the worker's main module, and if that cannot load (the native addon fails in this
// thread, no executor can be made...) it says so on the ThreadWorker's control port, which the
// pool reads without Node's loop: a thread that dies before its main runs would go unheard
// inside blockOn. Only node: modules are imported here, so this much always loads.
import { workerData, type MessagePort } from 'node:worker_threads';
import type { PoolBootFailure } from './_pool_protocol.js';

try {
  await import('./_pool_worker_main.js');
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  const failure: PoolBootFailure = { t: 'boot-failed', error: { name: e.name, message: e.message, stack: e.stack } };
  (workerData as { port: MessagePort }).port.postMessage(failure); // ThreadWorker's control port
  throw error;
}
