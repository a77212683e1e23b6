// Signals for blockers: a process-wide sigaction handler that only counts the signal and
// writes to the wake fds of the blockers watching it (what libuv's uv_signal does).
#ifndef WAKELOOP_SIGNALS_H_
#define WAKELOOP_SIGNALS_H_

#include <cstdint>

namespace iob {
namespace signals {

// The most blockers that can watch one signal at once.
constexpr int kMaxWatchers = 32;

// Whether our handler calls the one it replaced. Only the main thread knows (Node runs
// `process.on` signal listeners there alone), so other threads pass kChainKeep.
enum Chain : int { kChainKeep = -1, kChainOff = 0, kChainOn = 1 };

// True for a signal number this module accepts at all (1 .. NSIG-1).
bool in_range(int signum);
// Adds a blocker (by registry id) to the wakers of `signum`, installing the handler on the
// first watcher. 0, or -ESRCH (no such blocker), -EEXIST, -ENOSPC, -EINVAL (SIGKILL, SIGSTOP,
// and the fault signals SIGSEGV/SIGBUS/SIGFPE/SIGILL that Node and V8 own), or -errno.
// `chain`: whether the handler ours replaces is called too (see reinstall); kChainKeep leaves
// the setting as it is.
int watch(int signum, int32_t registry_id, Chain chain);
// Removes it; the last watcher restores the disposition saved at install, unless another
// handler replaced ours since. 0 or -ENOENT.
int unwatch(int signum, int32_t registry_id);
// While `signum` is watched: if another handler replaced ours (libuv's, when Node code added a
// `process.on` listener), installs ours again in front of it. `chain`: whether ours calls the
// handler it replaced (true while Node has listeners for the signal), kept for later watches
// even while nobody watches; kChainKeep leaves it as it is. 0 or -errno.
int reinstall(int signum, Chain chain);
// Deliveries of `signum` counted since the handler was first installed (never reset).
double count(int signum);

// For registry.cc, holding registry::mutex(): drops every watch of a closing blocker.
void forget_locked(int32_t registry_id);
// Waits until no handler is between reading a wake fd and writing to it, or copying the
// disposition it chains to.
void wait_for_handlers();

}  // namespace signals
}  // namespace iob

#endif  // WAKELOOP_SIGNALS_H_
