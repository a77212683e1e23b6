// Policy shared by every backend: EINTR retry with the remaining time, timeouts that never end
// early, notify coalescing, and the blocker's place in the process-wide registry.
#include "io_blocker.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <mutex>

#include "registry.h"

namespace iob {

namespace {
// Longer waits are clamped to this (~292 years would overflow int64 nanoseconds anyway).
constexpr int64_t kMaxTimeoutNs = INT64_C(1) << 62;
// While Node's loop is dirty (see IoBlocker::watch_loop), the longest kernel wait between two
// checks for a stop.
constexpr int64_t kDirtyCheckNs = INT64_C(100) * 1000000;
// The blocker of this thread that watches its loop fd, if any (see IoBlocker::watch_loop).
thread_local IoBlocker* t_loop_watcher = nullptr;
}  // namespace

int64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int round_up_ms(int64_t timeout_ns) {
  if (timeout_ns < 0) return -1;
  int64_t ms = (timeout_ns + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

int IoBlocker::open(const char* backend) {
  if (backend_) return -EALREADY;
  std::unique_ptr<Backend> b;
  if (std::strcmp(backend, "poll") == 0) {
    b = make_poll_backend();
  } else if (std::strcmp(backend, native_backend_name()) == 0) {
    b = make_native_backend();
  } else {
    return -EINVAL;
  }
  int err = b->open();
  if (err != 0) return err;
  wake_fd_ = b->wake_fd();
  backend_ = std::move(b);
  int fds[Backend::kMaxOwnedFds];
  int32_t id = registry::add(this, fds, backend_->owned_fds(fds));
  if (id < 0) {
    close();
    return id;
  }
  registry_id_ = id;
  return 0;
}

int IoBlocker::register_fd(int fd, int32_t event_id, uint32_t interest) {
  return backend_ ? backend_->register_fd(fd, event_id, interest) : -EBADF;
}

int IoBlocker::modify(int fd, int32_t event_id, uint32_t interest) {
  return backend_ ? backend_->modify(fd, event_id, interest) : -EBADF;
}

int IoBlocker::deregister(int fd) { return backend_ ? backend_->deregister(fd) : -EBADF; }

int IoBlocker::block(double timeout_ms, Event* out, int capacity) {
  if (!backend_) return -EBADF;
  if (loop_fd_ >= 0) {
    // One watcher per thread: the blocker that blocks takes the watch over (not while
    // attached: Node's loop then watches us).
    if (t_loop_watcher != this && !loop_paused_) {
      IoBlocker* previous = t_loop_watcher;
      t_loop_watcher = this;
      if (previous != nullptr) previous->sync_loop_watch();  // drops its watch
    }
    sync_loop_watch();
    if (loop_dirty_ && check_dirty_loop()) return 0;
  }
  int64_t timeout_ns;
  if (timeout_ms < 0) {
    timeout_ns = -1;
  } else {
    double ns = std::ceil(timeout_ms * 1e6);
    timeout_ns = ns >= static_cast<double>(kMaxTimeoutNs) ? kMaxTimeoutNs : static_cast<int64_t>(ns);
  }
  const int64_t deadline = timeout_ns > 0 ? monotonic_ns() + timeout_ns : 0;
  int64_t remaining = timeout_ns;
  for (;;) {
    uint32_t wakes = 0;
    // While Node's loop is dirty a stop may wake nothing: wait in slices and ask.
    bool capped = false;
    int64_t wait_ns = remaining;
    if (loop_dirty_ && loop_watched_ && (wait_ns < 0 || wait_ns > kDirtyCheckNs)) {
      wait_ns = kDirtyCheckNs;
      capped = true;
    }
    int n = backend_->wait(wait_ns, out, capacity, &wakes);
    if (wakes & WAKE_NOTIFY) {
      // Drain first, then clear the flag: a notify() landing in between finds the flag still
      // set and skips its write, but its effect is visible to the JS that runs after we
      // return. The other order could leave the flag set with nothing left in the wake fd,
      // and every later notify() would be swallowed.
      backend_->drain_wake();
      notified_.store(false);
      wake_count_++;
    }
    // epoll_wait(2) and poll(2) fail with EINTR after any signal handler ran on this thread,
    // SA_RESTART or not (signal(7)): wait again for the time that is left.
    if (n == -EINTR) {
      if (timeout_ns == 0) continue;  // a poll: just ask again
      n = 0;
    } else if (n < 0) {
      return n;
    }
    // Readiness of Node's loop that this wait does not turn into a stop leaves it dirty.
    if (wakes & WAKE_LOOP) loop_dirty_ = true;
    if (n > 0 || (wakes & WAKE_NOTIFY) || timeout_ns == 0) return n;
    // Node's loop was woken, or a capped wait ran out: a stop ends the wait, anything else is
    // its loop's business.
    if (((wakes & WAKE_LOOP) || capped) && check_dirty_loop()) return 0;
    if (timeout_ns > 0) {
      // Millisecond kernel timeouts round and hrtimers have slack: never return early.
      remaining = deadline - monotonic_ns();
      if (remaining <= 0) return 0;
    }
  }
}

void IoBlocker::notify() {
  // Coalescing: only the first notify() after a drain writes; the rest see the flag set.
  if (wake_fd_ < 0 || notified_.exchange(true)) return;
  uint64_t one = 1;
  // Non-blocking: EAGAIN means the counter or pipe is full, so a wake is pending anyway.
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void IoBlocker::watch_loop(int loop_fd, bool (*stopping)(void*), void* arg) {
  loop_fd_ = loop_fd;
  loop_stopping_ = stopping;
  loop_arg_ = arg;
  sync_loop_watch();
}

void IoBlocker::pause_loop_watch(bool paused) {
  loop_paused_ = paused;
  sync_loop_watch();
}

void IoBlocker::sync_loop_watch() {
  bool want = backend_ != nullptr && loop_fd_ >= 0 && !loop_paused_ && t_loop_watcher == this;
  if (want == loop_watched_) return;
  if (!want) {
    if (backend_) backend_->watch_loop(-1);
    loop_watched_ = false;
    loop_dirty_ = false;
    return;
  }
  int err = backend_->watch_loop(loop_fd_);
  loop_watched_ = err == 0;
  // A new watch may have missed readiness Node's loop already has (the epoll backend drops
  // the first edge of a new blocker): check it like any other.
  loop_dirty_ = loop_watched_;
  // ELOOP just after a detach, if libuv drops our fd from its set only on its next turn: the
  // next block() tries again. Anything else (such as the kernel's limit on nested wakeup
  // paths, epoll(7)) ends the watch for good rather than costing a syscall per block().
  if (err != 0 && err != -ELOOP) loop_fd_ = -1;
}

bool IoBlocker::check_dirty_loop() {
  if (loop_stopping_(loop_arg_)) return true;
  // poll(2) on an epoll fd reports whether it has ready items without taking any: Node's loop
  // consumes them only when it turns, between two block() calls.
  struct pollfd p = {loop_fd_, POLLIN, 0};
  int r = poll(&p, 1, 0);
  if (r == 0) loop_dirty_ = false;
  return false;
}

void IoBlocker::close() {
  if (t_loop_watcher == this) t_loop_watcher = nullptr;
  int32_t id = registry_id_;
  if (id > 0) {
    registry::remove(id);  // from here on no other thread writes to wake_fd_
    registry_id_ = 0;
  }
  if (backend_) {
    int fds[Backend::kMaxOwnedFds];
    int count = backend_->owned_fds(fds);
    std::lock_guard<std::mutex> lock(registry::mutex());
    registry::release_fds_locked(id, fds, count);
    backend_->close();
    backend_.reset();
  }
  wake_fd_ = -1;
  loop_watched_ = false;
  loop_dirty_ = false;
}

}  // namespace iob
