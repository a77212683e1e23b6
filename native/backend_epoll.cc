// Linux epoll(7), edge-triggered: each fd is registered once for both directions (as mio does).
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "io_blocker.h"

// epoll_pwait2(2) arrived in Linux 5.11 and glibc 2.35; call it by number so the addon builds
// against older headers and still runs on older kernels (ENOSYS at run time).
#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441  // the same number on every architecture
#endif

namespace iob {
namespace {

// ids_ entry of an fd that is not registered.
constexpr int64_t kNoId = INT64_MIN;
// Every socket, pipe and tty is watched this way, whatever the interest says: the reactor
// keeps readiness bits and only waits for the edges, so there is no epoll_ctl per wait.
constexpr uint32_t kSourceEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;

// struct __kernel_timespec: 64-bit seconds on every architecture.
struct KernelTimespec {
  int64_t tv_sec;
  long long tv_nsec;
};

// epoll bits -> signal bits. ERR and HUP are always reported (epoll_ctl(2)) and wake both
// directions; RDHUP is a half-close: still writable. An ERR alone is a pending error, not a
// closed socket (a UDP socket's ICMP error: the next call returns it, later ones EAGAIN), so it
// closes neither direction. PRI is urgent data: a read stops at its mark, so a short read no
// longer means the socket was drained (see URGENT). The bits are hints (a HUP on a pipe is a
// plain EOF, for instance); the next syscall decides.
int32_t to_signals(uint32_t events) {
  int32_t s = 0;
  if (events & EPOLLIN) s |= READABLE;
  if (events & EPOLLOUT) s |= WRITABLE;
  if (events & EPOLLRDHUP) s |= READ_CLOSED | READABLE;
  if (events & EPOLLPRI) s |= URGENT | READABLE;
  if (events & EPOLLERR) s |= ERROR | READABLE | WRITABLE;
  if (events & EPOLLHUP) s |= READ_CLOSED | WRITE_CLOSED | READABLE | WRITABLE;
  return s;
}

class EpollBackend final : public Backend {
 public:
  ~EpollBackend() override { close(); }

  const char* name() const override { return "epoll"; }
  int wake_fd() const override { return eventfd_; }
  int poll_fd() const override { return epfd_; }

  int open() override {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return -errno;
    eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventfd_ < 0) {
      int err = -errno;
      close();
      return err;
    }
    // Level-triggered, unlike the sources: it stays ready until block() drains it, so a
    // wake can never be consumed by a wait that ran out of room in its event array.
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = NOTIFY_ID;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) != 0) {
      int err = -errno;
      close();
      return err;
    }
    return 0;
  }

  int register_fd(int fd, int32_t event_id, uint32_t /*interest: both, always*/) override {
    if (is_internal(fd)) return -EINVAL;
    struct epoll_event ev = {};
    ev.events = kSourceEvents;
    ev.data.u64 = static_cast<uint32_t>(event_id);
    // EEXIST for an fd that is already in the set, EPERM for a regular file or directory
    // (they have no poll method): reported, the reactor treats such files as always ready.
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
    remember(fd, event_id);
    return 0;
  }

  int modify(int fd, int32_t event_id, uint32_t /*interest*/) override {
    // Registered once for both directions: nothing to arm. Only a new event id needs the
    // kernel (EPOLL_CTL_MOD also re-reports current readiness, which is harmless).
    if (is_internal(fd)) return -EINVAL;
    if (fd < 0 || static_cast<size_t>(fd) >= ids_.size() || ids_[fd] == kNoId) return -ENOENT;
    if (ids_[fd] == event_id) return 0;
    struct epoll_event ev = {};
    ev.events = kSourceEvents;
    ev.data.u64 = static_cast<uint32_t>(event_id);
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0) return -errno;
    ids_[fd] = event_id;
    return 0;
  }

  int deregister(int fd) override {
    if (is_internal(fd)) return -EINVAL;
    bool was_registered = fd >= 0 && static_cast<size_t>(fd) < ids_.size() && ids_[fd] != kNoId;
    if (was_registered) {
      ids_[fd] = kNoId;
      sources_--;
    }
    // Must run before close(): epoll watches the open file description, so a dup'ed or
    // inherited copy of the fd keeps the registration (and its events) alive (epoll(7) Q6).
    // A gone fd is fine: EBADF if it is closed, ENOENT if it was closed (which removed it)
    // and its number reused.
    struct epoll_event unused = {};  // kernels before 2.6.9 wanted non-null
    if (epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &unused) != 0) {
      if (errno == EBADF || (errno == ENOENT && was_registered)) return 0;
      return -errno;
    }
    return 0;
  }

  int watch_loop(int fd) override {
    struct epoll_event ev = {};
    if (loop_fd_ >= 0 && epoll_ctl(epfd_, EPOLL_CTL_DEL, loop_fd_, &ev) != 0 && errno != EBADF &&
        errno != ENOENT) {
      return -errno;
    }
    loop_fd_ = -1;
    if (fd < 0) return 0;
    // An epoll fd inside ours, edge-triggered: every new readiness in Node's set wakes our
    // waiters once (epoll(7), "nested epoll"), readiness nobody consumes never again.
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = LOOP_ID;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
    loop_fd_ = fd;
    // The add reports the readiness Node's loop already has as a first edge, which would take
    // a slot of the next wait's events for nothing. With no source registered yet (a new
    // blocker) it can be dropped: only the level-triggered wake fd could be reported with it,
    // and that one stays ready.
    if (sources_ == 0) {
      struct epoll_event drop[2];
      epoll_wait(epfd_, drop, 2, 0);
    }
    return 0;
  }

  int wait(int64_t timeout_ns, Event* out, int capacity, uint32_t* wakes) override {
    // Ask for at most `capacity` events: an edge the kernel handed over and we could not
    // store would be lost for good. The wake fd may take one of the slots.
    int max = std::min(capacity, kMaxEventsPerWait);
    if (buffer_.size() < static_cast<size_t>(max)) buffer_.resize(max);
    int n = epoll_wait_ns(buffer_.data(), max, timeout_ns);
    if (n < 0) return -errno;
    int count = 0;
    for (int i = 0; i < n; i++) {
      const struct epoll_event& ev = buffer_[i];
      if (ev.data.u64 == NOTIFY_ID || ev.data.u64 == LOOP_ID) {
        *wakes |= ev.data.u64 == NOTIFY_ID ? WAKE_NOTIFY : WAKE_LOOP;
        continue;
      }
      out[count].id = static_cast<int32_t>(static_cast<uint32_t>(ev.data.u64));
      out[count].signals = to_signals(ev.events);
      count++;
    }
    return count;
  }

  void drain_wake() override {
    // Reading an eventfd returns its counter and resets it to 0 (eventfd(2)): one read
    // drains any number of notifies, so the counter never gets near saturation.
    uint64_t value;
    ssize_t ignored = read(eventfd_, &value, sizeof value);
    (void)ignored;
  }

  int owned_fds(int* out) const override {
    out[0] = epfd_;
    out[1] = eventfd_;
    return 2;
  }

  void close() override {
    if (epfd_ >= 0) ::close(epfd_);
    if (eventfd_ >= 0) ::close(eventfd_);
    epfd_ = eventfd_ = loop_fd_ = -1;
    ids_.clear();
    sources_ = 0;
  }

 private:
  bool is_internal(int fd) const {
    return fd == epfd_ || fd == eventfd_ || (fd >= 0 && fd == loop_fd_);
  }

  void remember(int fd, int32_t event_id) {
    if (static_cast<size_t>(fd) >= ids_.size()) ids_.resize(static_cast<size_t>(fd) + 1, kNoId);
    if (ids_[fd] == kNoId) sources_++;
    ids_[fd] = event_id;
  }

  // epoll_wait(2) takes whole milliseconds; a timeout with a sub-millisecond part goes to
  // epoll_pwait2(2) where the kernel has it, else it is rounded up (never early).
  int epoll_wait_ns(struct epoll_event* events, int max, int64_t timeout_ns) {
    if (have_pwait2_ && timeout_ns > 0 && timeout_ns % 1000000 != 0) {
      KernelTimespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
      long n = syscall(__NR_epoll_pwait2, epfd_, events, max, &ts, nullptr, 0);
      if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<int>(n);
      // ENOSYS: kernel before 5.11. EPERM: a seccomp filter that does not know it.
      have_pwait2_ = false;
    }
    return epoll_wait(epfd_, events, max, round_up_ms(timeout_ns));
  }

  int epfd_ = -1;
  int eventfd_ = -1;
  int loop_fd_ = -1;                       // the watched event-loop fd (not ours), -1 if none
  bool have_pwait2_ = true;                // cleared on the first ENOSYS
  std::vector<struct epoll_event> buffer_; // reused by every wait; grows to the capacity
  std::vector<int64_t> ids_;               // fd -> registered event id, kNoId if none
  size_t sources_ = 0;                     // how many ids_ are not kNoId
};

}  // namespace

std::unique_ptr<Backend> make_native_backend() { return std::make_unique<EpollBackend>(); }
const char* native_backend_name() { return "epoll"; }

// An edge set is an epoll set holding its fd edge-triggered: readable while an edge is queued,
// and epoll_wait() on it dequeues the edge.
int open_edge_set() {
  int set = epoll_create1(EPOLL_CLOEXEC);
  return set >= 0 ? set : -errno;
}

int edge_set_watch(int set, int old_fd, int new_fd) {
  struct epoll_event ev = {};
  if (old_fd >= 0) epoll_ctl(set, EPOLL_CTL_DEL, old_fd, &ev);  // an fd gone since is fine
  if (new_fd < 0) return 0;
  ev.events = EPOLLIN | EPOLLET;
  return epoll_ctl(set, EPOLL_CTL_ADD, new_fd, &ev) == 0 ? 0 : -errno;
}

void drain_edge_set(int set) {
  struct epoll_event ev;
  epoll_wait(set, &ev, 1, 0);
}

}  // namespace iob
