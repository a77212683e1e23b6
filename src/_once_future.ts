// A future whose work must not run twice: a combinator may complete it (select, join), after
// which the program can still await it directly. A second await would connect, bind or accept
// again, so it is refused, as the reused stream futures refuse theirs.
import { Future, PENDING, type Context, type Poll } from './future.js';

/**
 * Polls `step` until it gives a value or throws; every poll after that throws a TypeError
 * naming `call` (such as 'TcpStream.connect()'). A drop before the end leaves it pollable.
 *
 * @example
 * ```ts
 * class Accept extends OnceFuture<TcpStream> {
 *   constructor() { super('TcpListener.accept()'); }
 *   protected step(cx: Context) { return tryAccept(cx); }
 * }
 * ```
 */
export abstract class OnceFuture<T> extends Future<T> {
  #finished = false;

  constructor(private readonly call: string) {
    super();
  }

  /** One attempt at the work: the value, PENDING (after storing `cx.waker`), or a throw. */
  protected abstract step(cx: Context): Poll<T>;

  poll(cx: Context): Poll<T> {
    if (this.#finished) throw new TypeError(`${this.call}: this future already completed; call ${this.call} again`);
    let result: Poll<T>;
    try {
      result = this.step(cx);
    } catch (error) {
      this.#finished = true;
      throw error;
    }
    if (result !== PENDING) this.#finished = true;
    return result;
  }
}
