// The one place that loads the native addon. Everything else imports the typed surface below.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { existsSync } from 'node:fs';

/** Signal bits reported per event; the same numbers as native/io_blocker.h. */
export const READABLE = 1;
export const WRITABLE = 2;
export const READ_CLOSED = 4;
export const WRITE_CLOSED = 8;
export const ERROR = 16;
/** Urgent (out-of-band) TCP data arrived (epoll only): a read stops at its mark. */
export const URGENT = 32;

/** Interest bits passed to register/modify. */
export const INTEREST_READ = 1;
export const INTEREST_WRITE = 2;

/** The options accepted by the native IoBlocker constructor. */
export interface NativeBlockerOptions {
  backend?: 'epoll' | 'poll';
}

/**
 * The raw IoBlocker. Every method validates its arguments and throws a TypeError for a wrong type
 * and a RangeError for a right type with a bad value; register/modify/deregister return 0 or
 * -errno; block returns the number of events written into the Int32Array given to the
 * constructor as [eventId, signals] pairs, retrying EINTR.
 */
export interface NativeBlocker {
  /** 'epoll' or 'poll'. */
  readonly backend: string;
  /** The fd that becomes readable when events are pending (the epoll fd; -1 for poll). */
  readonly pollFd: number;
  /** Process-wide registry id (slot + generation) for notifyBlocker() from any thread. */
  readonly registryId: number;
  /** How many wakes (notify() or a watched signal) block() has consumed so far. */
  readonly wakeCount: number;
  /**
   * epoll registers once for both directions, edge triggered, whatever `interest` says.
   * poll reports only the directions in `interest`, and clears a direction once it reported it
   * (one-shot), so the reactor re-arms with modify() when a waker waits again.
   */
  register(fd: number, eventId: number, interest: number): number;
  modify(fd: number, eventId: number, interest: number): number;
  deregister(fd: number): number;
  /**
   * Blocks up to timeoutMs (-1 = forever, fractional values round up); returns the event count.
   * Also returns (0) once Node stops the thread (a terminated worker): it watches the env's libuv
   * backend fd for the wake-up Node sends then, except while attached.
   */
  block(timeoutMs: number): number;
  /** Wakes a blocked or the next block() from any thread; coalesced; never an event. */
  notify(): void;
  /** Deregisters nothing: the caller deregisters its fds first. Idempotent. */
  close(): void;
  /** Starts watching pollFd with a libuv uv_poll_t; `onReady` runs through MakeCallback. */
  attach?(onReady: () => void): void;
  detach?(): void;
  /** Whether the attached uv handle keeps the process alive. */
  ref?(keepAlive: boolean): void;
}

/** An address as the native layer reports it. */
export interface RawAddress {
  address: string;
  family: 4 | 6;
  port: number;
}

/** The result of a finished name lookup: addresses in getaddrinfo order, or an error. */
export interface RawLookupResult {
  error?: string; // the EAI_* name, e.g. 'ENOTFOUND' style names are made in JS
  message?: string; // gai_strerror text
  addresses: Array<{ address: string; family: 4 | 6 }>;
}

/** The raw, non-throwing syscall surface: each returns >= 0 or -errno. */
export interface NativeBinding {
  IoBlocker: new (events: Int32Array, options?: NativeBlockerOptions) => NativeBlocker;
  /** Wakes the blocker with this registry id, from any thread. False if it is gone. */
  notifyBlocker(registryId: number): boolean;

  socket(family: 4 | 6): number; // SOCK_STREAM, non-blocking, close-on-exec
  bind(fd: number, address: string, port: number): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number): number; // accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)
  connect(fd: number, address: string, port: number): number; // -EINPROGRESS is normal
  read(fd: number, buf: Uint8Array, offset: number, length: number): number;
  write(fd: number, buf: Uint8Array, offset: number, length: number): number; // MSG_NOSIGNAL
  writev(fd: number, bufs: Uint8Array[]): number;
  shutdown(fd: number, how: 0 | 1 | 2): number;
  close(fd: number): number; // a RangeError for a live IoBlocker's own fds
  socketError(fd: number): number; // SO_ERROR as a positive errno, 0, or -errno
  setNoDelay(fd: number, on: boolean): number;
  setResetOnClose(fd: number, on: boolean): number;
  setReuseAddr(fd: number, on: boolean): number;
  setReusePort(fd: number, on: boolean): number;
  setNonBlocking(fd: number, on: boolean): number;
  localAddress(fd: number): RawAddress | number;
  peerAddress(fd: number): RawAddress | number;
  /** A kept-open fd on /dev/null, released to accept-and-close when accept hits EMFILE. */
  openReserveFd(): number;
  somaxconn: number;
  strerror(errno: number): string;

  /** Queues getaddrinfo for a helper thread; notifies `registryId` when done. A request id, or -errno. */
  lookupStart(host: string, registryId: number): number;
  /** undefined while running; the result once, then the request is forgotten. */
  lookupTake(requestId: number): RawLookupResult | undefined;
  /** Forgets a request (its result is discarded when it completes). */
  lookupCancel(requestId: number): void;

  /**
   * Installs the process-wide handler (once) and adds `registryId` to the blockers it wakes.
   * `chain`: whether the handler calls the one it replaced; omitted, the setting is left as it is.
   */
  signalWatch(signum: number, registryId: number, chain?: boolean): number;
  signalUnwatch(signum: number, registryId: number): number;
  /** How many times `signum` was delivered since the process started watching it. */
  signalCount(signum: number): number;
  /** The most blockers that can watch one signal at once (signalWatch() then returns -ENOSPC). */
  signalMaxWatchers: number;
  /** Puts the handler back in front if something replaced it; stores `chain` (omitted: left as it is). */
  signalReinstall(signum: number, chain?: boolean): number;
}

const require = createRequire(import.meta.url);
const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;

/** The package root: two levels up from dist/src or one from src. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('wakeloop: cannot find binding.gyp above ' + fileURLToPath(import.meta.url));
}

/**
 * Loads the addon. node-gyp-build's own error names only the platform it looked for; a user who
 * installed with `--ignore-scripts` (or whose compile failed) needs to know what to run.
 */
function loadAddon(root: string): NativeBinding {
  try {
    return nodeGypBuild(root) as NativeBinding;
  } catch (error) {
    throw new Error(
      `wakeloop: the native addon is not built in ${root} (installed with --ignore-scripts, or ` +
        'its compile failed?). Run `npm rebuild wakeloop` (it needs python3, make and a C++ compiler).',
      { cause: error },
    );
  }
}

/** The loaded addon. */
export const binding = loadAddon(packageRoot());
