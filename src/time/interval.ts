// interval(ms): ticks at a fixed period, skipping the ticks a busy task missed.
import { Future, PENDING, type Context, type Poll, type Waker } from '../future.js';
import { Executor } from '../executor.js';
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
 * `tick()` futures pending at once (tasks sharing the interval) take one tick each, in the
 * order they began to wait: tasks looping on one interval take its ticks in turn.
 *
 * @example
 * ```ts
 * const every = interval(1000);
 * for (;;) { yield* every.tick(); report(); }
 * ```
 */
export class Interval {
  #next: number;
  /**
   * The pending tick() futures of each executor, in the order they began to wait. Only the
   * first sleeps; it takes the next tick, and on leaving (done, dropped or failed) hands the
   * wait to the one after it. Were each to sleep and take whatever tick was due when it ran, a
   * task looping on tick() would be first in the timer heap every time, and take every tick.
   * One line per executor: a tick() waiting on an executor nobody drives holds back no other.
   */
  readonly #lines = new Map<Executor, Set<Tick>>();

  constructor(readonly period: number) {
    checkDuration('interval()', 'period', period);
    if (period < MIN_PERIOD_MS) throw new RangeError(`interval(): period must be at least ${MIN_PERIOD_MS} ms, got ${period}`);
    this.#next = performance.now() + period;
  }

  /** Completes at the next tick, with its scheduled time (performance.now() ms). */
  tick(): Future<number> {
    return new Tick(this);
  }

  /** @internal Puts `tick` in `executor`'s line (if it is not yet); true if it is first. */
  _wait(tick: Tick, executor: Executor): boolean {
    let line = this.#lines.get(executor);
    if (line === undefined) this.#lines.set(executor, (line = new Set()));
    line.add(tick);
    return first(line) === tick;
  }

  /** @internal Takes `tick` out of `executor`'s line; if it was first, wakes the one after it. */
  _leave(tick: Tick, executor: Executor): void {
    const line = this.#lines.get(executor);
    if (line === undefined) return;
    const head = first(line);
    line.delete(tick);
    if (line.size === 0) this.#lines.delete(executor);
    else if (head === tick) first(line)?._wake();
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

function first(line: Set<Tick>): Tick | undefined {
  for (const tick of line) return tick;
  return undefined;
}

class Tick extends Future<number> {
  #sleep: Sleep | null = null;
  /** Who to wake when this tick() becomes first in line. */
  #waker: Waker | null = null;
  /** The executor whose line this tick() stands in, from its first poll until it leaves. */
  #executor: Executor | null = null;
  constructor(private readonly interval: Interval) {
    super();
  }
  poll(cx: Context): Poll<number> {
    const interval = this.interval;
    this.#executor ??= Executor.current();
    if (!interval._wait(this, this.#executor)) {
      this.#waker = cx.waker;
      return PENDING;
    }
    this.#waker = null;
    const next = interval.nextTick;
    let slept: Poll<void>;
    try {
      if (this.#sleep?.deadline !== next) {
        this.#sleep?.drop();
        this.#sleep = new Sleep(next);
      }
      slept = this.#sleep.poll(cx);
    } catch (error) {
      this.drop(); // a failed first must not hold the line
      throw error;
    }
    if (slept === PENDING) return PENDING;
    this.#sleep = null;
    const due = interval._advance(performance.now());
    this.#leave();
    return due;
  }
  override drop(): void {
    this.#sleep?.drop();
    this.#sleep = this.#waker = null;
    this.#leave();
  }
  #leave(): void {
    if (this.#executor !== null) this.interval._leave(this, this.#executor);
    this.#executor = null;
  }
  /** @internal This tick() is first in line now. */
  _wake(): void {
    this.#waker?.wake();
  }
}

/**
 * A timer that ticks every `ms` milliseconds, starting `ms` from now. `ms` must be a finite
 * number of at least 0.001 (1 µs): anything but a number (or NaN) is a TypeError, a number out
 * of range a RangeError.
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
