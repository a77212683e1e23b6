// Every micro-benchmark, in table order.
import { channelBenches } from './channel.bench.js';
import type { MicroBench } from './_micro.js';
import { mutexBenches } from './mutex.bench.js';
import { spawnBenches } from './spawn.bench.js';
import { timerBenches } from './timers.bench.js';
import { wakeBenches } from './wake.bench.js';
import { yieldBenches } from './yield.bench.js';

export const microBenches: readonly MicroBench[] = [
  ...yieldBenches,
  ...wakeBenches,
  ...spawnBenches,
  ...timerBenches,
  ...channelBenches,
  ...mutexBenches,
];
