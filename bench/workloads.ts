// The workloads: one table entry each. Every one is driven by the same C load generator
// (bench/c/loadgen.c); `loadgen` holds its mode and flags.
import type { ServerKind } from './contenders.js';

/** What the headline number of a workload is. */
export type Metric =
  | 'msgs' // messages echoed per second
  | 'mb' // MB (10^6 bytes) echoed per second
  | 'conns' // connections opened, echoed once and closed, per second
  | 'rss'; // server RSS growth per idle connection, KiB (lower is better)

export interface Workload {
  name: string;
  title: string;
  server: ServerKind;
  loadgen: { mode: 'pingpong' | 'pipelined' | 'bulk' | 'churn' | 'idle' | 'chat'; conns: number; size?: number; depth?: number; close?: 'fin' | 'rst' };
  metric: Metric;
  unit: string;
  /** What "CPU per message" counts for this workload (a 16 KiB write, a connection...). */
  perWhat: string;
  /** Idle memory: every repeat needs a fresh server, or memory kept from the last one hides growth. */
  freshServerPerRepeat?: boolean;
}

export const workloads: Workload[] = [
  { name: 'pingpong1', title: 'ping-pong 64 B, 1 conn', server: 'echo', loadgen: { mode: 'pingpong', conns: 1 }, metric: 'msgs', unit: 'msg/s', perWhat: 'msg' },
  { name: 'pingpong16', title: 'ping-pong 64 B, 16 conns', server: 'echo', loadgen: { mode: 'pingpong', conns: 16 }, metric: 'msgs', unit: 'msg/s', perWhat: 'msg' },
  { name: 'pingpong256', title: 'ping-pong 64 B, 256 conns', server: 'echo', loadgen: { mode: 'pingpong', conns: 256 }, metric: 'msgs', unit: 'msg/s', perWhat: 'msg' },
  { name: 'pipelined', title: 'pipelined 64 B, 256 conns x 16', server: 'echo', loadgen: { mode: 'pipelined', conns: 256, depth: 16 }, metric: 'msgs', unit: 'msg/s', perWhat: 'msg' },
  { name: 'bulk', title: 'bulk 16 KiB writes, 4 conns', server: 'echo', loadgen: { mode: 'bulk', conns: 4, size: 16384, depth: 4 }, metric: 'mb', unit: 'MB/s', perWhat: '16 KiB' },
  // Churn closes with RST: with FIN, the client's TIME_WAIT sockets made the load generator the
  // limit (14k conn/s against 23k with RST on the same machine; see README).
  { name: 'churn', title: 'churn: connect, 64 B echo, close (16 at once)', server: 'echo', loadgen: { mode: 'churn', conns: 16, close: 'rst' }, metric: 'conns', unit: 'conn/s', perWhat: 'conn' },
  { name: 'idle', title: 'idle memory, 10,000 conns', server: 'echo', loadgen: { mode: 'idle', conns: 10_000 }, metric: 'rss', unit: 'KiB/conn', perWhat: 'conn', freshServerPerRepeat: true },
  // Chat fan-out: its own load generator (bench/c/chat_loadgen.c, run by bench/chat/measure_fanout.ts):
  // `conns` members of one group, one more connection posting `size`-byte posts, closed loop with
  // `depth` posts in flight; the result counts deliveries (a post reaching a member), and a run in
  // which any member got a lag report is broken, not scored. Contenders without a `chat` server
  // show "unavailable".
  { name: 'chat-fanout', title: 'chat fan-out: 1 group, 100 members, 64 B posts, 64 in flight', server: 'chat', loadgen: { mode: 'chat', conns: 100, size: 64, depth: 64 }, metric: 'msgs', unit: 'deliveries/s', perWhat: 'delivery' },
];

/** True when a larger value is better. */
export const higherIsBetter = (w: Workload) => w.metric !== 'rss';

/** Loadgen flags for a workload (port, duration and server pid are added by the caller). */
export function loadgenArgs(w: Workload): string[] {
  const l = w.loadgen;
  const args = ['--mode', l.mode, '--conns', String(l.conns)];
  if (l.size !== undefined) args.push('--size', String(l.size));
  if (l.depth !== undefined) args.push('--depth', String(l.depth));
  if (l.close !== undefined) args.push('--close', l.close);
  return args;
}
