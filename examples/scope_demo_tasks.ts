// Pool tasks for `wakeloop scope-demo`. A pool task is a module URL plus an export name: the
// worker thread imports this file (compiled, from dist/examples/) and calls the export.

/** True if `n` is prime (trial division: deliberately CPU-bound). */
function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Counts the primes in [from, to), stores the count in cell `slot` of the shared buffer, and
 * returns it. Plain CPU work: it runs to the end on whichever thread calls it.
 *
 * @example
 * ```ts
 * const shared = new SharedArrayBuffer(4);
 * countPrimes(0, 100, shared, 0); // 25, and new Int32Array(shared)[0] === 25
 * ```
 */
export function countPrimes(from: number, to: number, shared: SharedArrayBuffer, slot: number): number {
  let count = 0;
  for (let n = from; n < to; n++) if (isPrime(n)) count++;
  Atomics.store(new Int32Array(shared), slot, count);
  return count;
}
