// wakeloop's public surface. Nothing else is exported.
export { PENDING, Future, pollFn, ready, yieldNow, type Poll, type Context, type Waker } from './future.js';
export { toFuture, type Task, type Awaitable } from './task.js';
export { JoinHandle } from './join_handle.js';
export { Executor, type ExecutorOptions } from './executor.js';
export { blockOn, spawn } from './default_executor.js';
export { UnhandledTaskError, type UnhandledErrorPolicy } from './unhandled_errors.js';
export { IoError, ClosedError, CancelledError, TimeoutError, StateError } from './errors.js';
export { sleep, sleepUntil, Sleep } from './time/sleep.js';
export { timeout } from './time/timeout.js';
export { interval, Interval } from './time/interval.js';
export { signal, listenSignals, SignalListener, type SignalName } from './signal.js';
export {
  resolve,
  ResolveError,
  formatAddress,
  parseAddress,
  type SocketAddress,
  type AddressInput,
  type ResolvedHost,
} from './net/address.js';
export { TcpStream, UnexpectedEofError } from './net/tcp_stream.js';
export { TcpListener, type ListenOptions } from './net/tcp_listener.js';
export { IoBlocker, notifyBlocker, type IoBlockerOptions, type BlockerEvent } from './io_blocker.js';
export { AsyncFd } from './net/async_fd.js';
export { sys } from './sys.js';
export { select, selectFair, join, joinAll, type Selected, type Joined, type OutputOf } from './select.js';
export { BufReader } from './net/buf_reader.js';
export { LineTooLongError, FrameTooLargeError, type BufReaderOptions, type ByteSource } from './net/buf_reader_types.js';
export { Mutex, MutexGuard } from './sync/mutex.js';
export { broadcast, BroadcastSender, BroadcastReceiver, type BroadcastTryRecvResult } from './sync/broadcast.js';
export { channel, unboundedChannel, Sender, UnboundedSender, Receiver } from './sync/mpsc.js';
export { oneshot, OneshotSender, OneshotReceiver } from './sync/oneshot.js';
export { Notify } from './sync/notify.js';
export { LaggedError, RecvClosedError, GuardReleasedError, AlreadySentError } from './sync/errors.js';
export type { TryRecvResult, TrySendResult } from './sync/_results.js';
export { Parker, type ParkerForm } from './sync/parker.js';
export { Unparker, type UnparkerForm } from './sync/unparker.js';
export { WaitGroup, type WaitGroupForm } from './sync/wait_group.js';
export { ParkerClosedError, ParkerBusyError, WaitGroupDroppedError } from './sync/_thread_errors.js';
export { attach, Attachment, toPromise, fromPromise, NotAttachedError } from './node.js';
export { serveOnThreads, ThreadServer, type ServeOptions, type ServeContext, type WorkerExit } from './thread/serve.js';
export { scope, Scope, ScopeFuture } from './scope.js';
export { JoinSet } from './join_set.js';
export { CrossThreadSignal, type CrossThreadSignalForm } from './thread/signal.js';
export { ThreadChannel, type ThreadChannelForm } from './thread/channel.js';
export { ThreadWorker, WorkerControl, type ThreadWorkerOptions } from './thread/worker.js';
export { poolScope, Pool, PoolTask, type PoolOptions } from './thread/pool.js';
