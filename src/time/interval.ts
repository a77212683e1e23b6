// interval(ms): ticks at a fixed period, skipping the ticks a busy task missed.
import { Future, PENDING, type Context, type Poll } from '../future.js';
import { checkDuration } from '../_validate.js';
import { Sleep } from './sleep.js';

/**
 * The shortest period, 1 µs. Adding a period below the float spacing of performance.now() times
 * leaves the next tick where it was; that spacing stays under 0.001 ms for 2^43 ms (~278 years).
 */
const MIN_PERIOD_MS = 0.001;

/**
 * A periodic timer. `tick()` completes at the next multiple of the period after the start; if
 * the caller was so late that ticks were missed, they are skipped (not delivered in a burst).
 * Ticks pending at once (tasks sharing the interval) each get a tick of their own, in turn.
 *
 * @example
 * ```ts
 * const every = interval(1000);
 * for (;;) { yield* every.tick(); report(); }
 * ```
 */
export class Interval {
  #next: number;

  constructor(readonly period: number) {
    checkDuration('interval()', 'period', period);
    if (period < MIN_PERIOD_MS) throw new RangeError(`interval(): period must be at least ${MIN_PERIOD_MS} ms, got ${period}`);
    this.#next = performance.now() + period;
  }

  /** Completes at the next tick, with its scheduled time (performance.now() ms). */
  tick(): Future<number> {
    return new Tick(this);
  }

  /** @internal Claims the next tick time and moves past any that were missed. */
  _advance(now: number): number {
    const due = this.#next;
    this.#next += this.period;
    if (this.#next <= now) this.#next += Math.ceil((now - this.#next) / this.period + 1e-9) * this.period;
    return due;
  }

  /** The time of the next tick. */
  get nextTick(): number {
    return this.#next;
  }
}

class Tick extends Future<number> {
  #sleep: Sleep | null = null;
  constructor(private readonly interval: Interval) {
    super();
  }
  poll(cx: Context): Poll<number> {
    // Another tick() of this interval may have claimed the tick this one slept for: then sleep
    // on until the interval's next one, never completing early.
    const next = this.interval.nextTick;
    if (this.#sleep?.deadline !== next) {
      this.#sleep?.drop();
      this.#sleep = new Sleep(next);
    }
    if (this.#sleep.poll(cx) === PENDING) return PENDING;
    return this.interval._advance(performance.now());
  }
  override drop(): void {
    this.#sleep?.drop();
  }
}

/**
 * A timer that ticks every `ms` milliseconds, starting `ms` from now. `ms` must be finite and at
 * least 0.001 (1 µs); anything else is a RangeError.
 *
 * @example
 * ```ts
 * const ticks = interval(100);
 * yield* ticks.tick();
 * ```
 */
export function interval(ms: number): Interval {
  return new Interval(ms);
}
