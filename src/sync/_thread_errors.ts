// The typed errors of the thread primitives (Parker/Unparker, WaitGroup). Internal module:
// src/index.ts re-exports the classes; nothing else should import this path from outside src/.
import { describe } from '../task.js';

/**
 * Thrown by `Unparker.unpark()`, `Parker.park()` and `Parker.parkTimeout()` once the parker was
 * closed (`parker.close()` or `parker[Symbol.dispose]()`), in whichever thread that happened.
 * A thread parked at the moment of the close wakes up and throws it too.
 *
 * Why an error rather than a silent no-op: once the parker is closed, nobody will ever take the
 * token, so an `unpark()` after that is a signal that is lost for certain. In a handshake that
 * is a protocol bug, and failing loudly points at the step that broke it.
 *
 * @example
 * ```ts
 * import { Parker, ParkerClosedError } from 'wakeloop';
 *
 * const parker = new Parker();
 * const unparker = parker.unparker();
 * parker.close();
 * try {
 *   unparker.unpark();
 * } catch (err) {
 *   console.log(err instanceof ParkerClosedError, (err as ParkerClosedError).code); // true ERR_PARKER_CLOSED
 * }
 * ```
 */
export class ParkerClosedError extends Error {
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_PARKER_CLOSED';

  constructor(message = 'the parker is closed: nobody will take this token') {
    super(message);
    this.name = 'ParkerClosedError';
  }
}

/**
 * Thrown by `Parker.park()` / `Parker.parkTimeout()` when another thread is already parked on
 * the same parker (two threads each rebuilt a `Parker` from the same cloneable form), also
 * after an `unpark()` handed that thread a token it has not taken yet. A parker has one owner
 * at a time; a second waiter would steal or lose the single token.
 *
 * @example
 * ```ts
 * import { ParkerBusyError } from 'wakeloop';
 *
 * const err = new ParkerBusyError();
 * console.log(err.name, err.code); // ParkerBusyError ERR_PARKER_BUSY
 * ```
 */
export class ParkerBusyError extends Error {
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_PARKER_BUSY';

  constructor(message = 'another thread is already parked on this parker: a parker has one owner') {
    super(message);
    this.name = 'ParkerBusyError';
  }
}

/**
 * Thrown when a `WaitGroup` reference is used after it was dropped: a second `drop()`, or
 * `clone()` / `wait()` / `toCloneable()` on a dropped reference, or adopting a cloneable form
 * of a group that already reached zero.
 *
 * @example
 * ```ts
 * import { WaitGroup, WaitGroupDroppedError } from 'wakeloop';
 *
 * const wg = new WaitGroup();
 * wg.drop();
 * try {
 *   wg.drop();
 * } catch (err) {
 *   console.log(err instanceof WaitGroupDroppedError); // true
 * }
 * ```
 */
export class WaitGroupDroppedError extends Error {
  /** A stable code for programs that switch on `err.code`. */
  readonly code = 'ERR_WAIT_GROUP_DROPPED';

  constructor(message = 'this WaitGroup reference was already dropped') {
    super(message);
    this.name = 'WaitGroupDroppedError';
  }
}

/**
 * Checks the plain form a thread primitive was posted as (`{ kind, sab }`) and returns a view of
 * its cells: the right `kind` tag, a `SharedArrayBuffer` of `cells` 32-bit cells, and the
 * primitive's magic number in the last cell (so a WaitGroup's buffer is never taken for a
 * Parker's). Internal helper shared by the thread primitives.
 *
 * @example
 * ```ts
 * import { checkSharedForm } from './_thread_errors.js';
 *
 * const sab = new SharedArrayBuffer(8);
 * new Int32Array(sab)[1] = 7;
 * console.log(checkSharedForm('Demo.from', { kind: 'demo', sab }, 'demo', 2, 7).length); // 2
 * ```
 */
export function checkSharedForm(
  what: string,
  form: unknown,
  kind: string,
  cells: number,
  magic: number,
): Int32Array {
  if (typeof form !== 'object' || form === null) {
    throw new TypeError(`${what}: expected the object made by toCloneable(), got ${describe(form)}`);
  }
  const { kind: got, sab } = form as { kind?: unknown; sab?: unknown };
  if (got !== kind) {
    throw new TypeError(`${what}: expected a form of kind '${kind}', got kind ${describe(got)}`);
  }
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength !== cells * 4) {
    throw new TypeError(`${what}: the form's sab must be a SharedArrayBuffer of ${cells * 4} bytes`);
  }
  const view = new Int32Array(sab);
  if (Atomics.load(view, cells - 1) !== magic) {
    throw new TypeError(`${what}: the form's sab was not made by ${kind}`);
  }
  return view;
}
