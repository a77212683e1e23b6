// Process-wide sigaction handler for watched signals. Why not signalfd: it only sees signals
// blocked in every thread, and Node's own threads do not block SIGINT/SIGTERM, so the kernel
// would deliver the signal to one of them with the default action and kill the process.
#include "signals.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "io_blocker.h"
#include "registry.h"

namespace iob {
namespace signals {
namespace {

static_assert(std::atomic<int>::is_always_lock_free, "the handler needs lock-free atomics");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "the handler needs lock-free atomics");

struct Watcher {
  std::atomic<int> wake_fd{-1};  // read by the handler; -1 = empty
  int32_t registry_id = 0;       // guarded by registry::mutex()
};

struct SignalState {
  Watcher watchers[kMaxWatchers];
  std::atomic<uint64_t> count{0};
  int watching = 0;  // guarded by registry::mutex()
  // The disposition ours replaced: called after ours (so a handler libuv installed for a Node
  // `process.on` listener still runs) and restored by the last unwatch. Two slots, so an
  // install can fill one while a handler still running reads the other.
  struct sigaction previous[2] = {};
  std::atomic<int> current{0};  // which slot of `previous` is in force
  // Whether the replaced handler is called: only when it serves Node `process.on` listeners
  // (libuv's), not for Node's own defaults such as SIGUSR1 starting the inspector, which a
  // program listening for the signal takes over, as `process.on` does. Set by the main thread
  // only (see Chain), and kept while nobody watches, so a worker's first watch finds it.
  std::atomic<bool> chain{false};
};

// Fixed-size and constant-initialized, so the handler never sees it being built or freed.
SignalState g_signals[NSIG];
// Handlers currently between reading a wake fd and writing to it, or copying the disposition
// they chain to (see wait_for_handlers).
std::atomic<int> g_handlers_running{0};

// Runs on whatever thread the kernel picked; only async-signal-safe work: lock-free atomics,
// a struct copy and write(2). The wake fds are non-blocking, so a full pipe just drops the
// byte (a wake is already pending then).
void on_signal(int signum, siginfo_t* info, void* context) {
  int saved_errno = errno;
  g_handlers_running.fetch_add(1);
  SignalState& s = g_signals[signum];
  s.count.fetch_add(1);
  for (Watcher& w : s.watchers) {
    int fd = w.wake_fd.load();
    if (fd < 0) continue;
    uint64_t one = 1;
    ssize_t ignored = write(fd, &one, sizeof one);
    (void)ignored;
  }
  // Copied while counted in: install() waits for handlers before refilling a slot.
  const struct sigaction previous = s.previous[s.current.load()];
  g_handlers_running.fetch_sub(1);
  // A one-shot handler (SA_RESETHAND: Node's own SIGINT/SIGTERM exit path, which re-raises the
  // signal expecting the default action by then) is never chained: through ours it would
  // re-raise into ours forever.
  if (!s.chain.load() || (previous.sa_flags & SA_RESETHAND) != 0) {
    errno = saved_errno;
    return;
  }
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) previous.sa_sigaction(signum, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signum);  // a default action is what ours replaces: not chained
  }
  errno = saved_errno;
}

bool is_ours(const struct sigaction& a) {
  return (a.sa_flags & SA_SIGINFO) != 0 && a.sa_sigaction == on_signal;
}

bool refused(int signum) {
  // SIGKILL/SIGSTOP cannot be caught; a handler that returns from a fault signal would re-run
  // the faulting instruction forever, and V8 uses SIGSEGV for its WebAssembly trap handler.
  return signum == SIGKILL || signum == SIGSTOP || signum == SIGSEGV || signum == SIGBUS ||
         signum == SIGFPE || signum == SIGILL;
}

// Installs ours over the current disposition, which becomes `previous`.
int install(int signum, SignalState& s) {
  struct sigaction sa = {};
  sa.sa_sigaction = on_signal;
  sigfillset(&sa.sa_mask);                // as libuv: no nested handlers
  sa.sa_flags = SA_RESTART | SA_SIGINFO;  // do not turn other threads' syscalls into EINTR
  int spare = 1 - s.current.load();
  // A handler that read `current` before the last install may still be copying this slot.
  wait_for_handlers();
  if (sigaction(signum, nullptr, &s.previous[spare]) != 0) return -errno;
  if (is_ours(s.previous[spare])) return 0;
  s.current.store(spare);
  if (sigaction(signum, &sa, nullptr) != 0) return -errno;
  return 0;
}

// The last watcher gone: put back what ours replaced, unless someone replaced ours since (then
// theirs stays).
void remove_watcher_locked(int signum, SignalState& s, Watcher& w) {
  w.wake_fd.store(-1);
  w.registry_id = 0;
  if (--s.watching > 0) return;
  struct sigaction now = {};
  if (sigaction(signum, nullptr, &now) == 0 && is_ours(now)) {
    sigaction(signum, &s.previous[s.current.load()], nullptr);
  }
}

}  // namespace

bool in_range(int signum) { return signum > 0 && signum < NSIG; }

int watch(int signum, int32_t registry_id, Chain chain) {
  if (!in_range(signum) || refused(signum)) return -EINVAL;
  std::lock_guard<std::mutex> lock(registry::mutex());
  IoBlocker* blocker = registry::find_locked(registry_id);
  if (blocker == nullptr) return -ESRCH;
  SignalState& s = g_signals[signum];
  Watcher* free_watcher = nullptr;
  for (Watcher& w : s.watchers) {
    if (w.registry_id == registry_id) return -EEXIST;
    if (w.registry_id == 0 && free_watcher == nullptr) free_watcher = &w;
  }
  if (free_watcher == nullptr) return -ENOSPC;
  if (chain != kChainKeep) s.chain.store(chain == kChainOn);
  if (s.watching == 0) {
    int err = install(signum, s);
    if (err != 0) return err;
  }
  s.watching++;
  free_watcher->registry_id = registry_id;
  free_watcher->wake_fd.store(blocker->wake_fd());
  return 0;
}

int reinstall(int signum, Chain chain) {
  if (!in_range(signum)) return -EINVAL;
  std::lock_guard<std::mutex> lock(registry::mutex());
  SignalState& s = g_signals[signum];
  if (chain != kChainKeep) s.chain.store(chain == kChainOn);
  if (s.watching == 0) return 0;
  return install(signum, s);
}

int unwatch(int signum, int32_t registry_id) {
  if (!in_range(signum)) return -EINVAL;
  std::lock_guard<std::mutex> lock(registry::mutex());
  SignalState& s = g_signals[signum];
  for (Watcher& w : s.watchers) {
    if (registry_id > 0 && w.registry_id == registry_id) {
      remove_watcher_locked(signum, s, w);
      return 0;
    }
  }
  return -ENOENT;
}

double count(int signum) {
  if (!in_range(signum)) return 0;
  return static_cast<double>(g_signals[signum].count.load());
}

void forget_locked(int32_t registry_id) {
  for (int signum = 1; signum < NSIG; signum++) {
    SignalState& s = g_signals[signum];
    if (s.watching == 0) continue;
    for (Watcher& w : s.watchers) {
      if (w.registry_id == registry_id) remove_watcher_locked(signum, s, w);
    }
  }
}

void wait_for_handlers() {
  // Dekker-style with the handler: it counts itself in before loading a wake fd or the slot
  // in force, so once this reads 0, every handler still to come sees the state changed before
  // this load (a watch list cleared, a slot in force switched). seq_cst atomics on both sides.
  while (g_handlers_running.load() != 0) sched_yield();
}

}  // namespace signals
}  // namespace iob
