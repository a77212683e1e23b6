// Portable POSIX poll(2), level-triggered, made one-shot per direction to keep the edge contract.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "io_blocker.h"

namespace iob {
namespace {

// fds_[0] is the wake pipe, fds_[1] the edge set that watches the loop fd, then the registered
// fds. Invariant: sources_[i] and fds_[i] describe the same fd, i >= kFirstSource.
constexpr size_t kWakeSlot = 0;
constexpr size_t kLoopSlot = 1;
constexpr size_t kFirstSource = 2;

// One registered fd.
struct Source {
  int fd;
  int32_t id;
  uint32_t armed;  // INTEREST_* directions still waiting for readiness
  dev_t dev;       // the file it was when registered: tells a reused fd number from a
  ino_t ino;       // double registration (see register_fd)
};

// The poll(2) events for the armed directions. POLLRDHUP is Linux-only (poll(2)).
short events_for(uint32_t armed) {
  short events = 0;
  if (armed & INTEREST_READ) {
    events |= POLLIN;
#ifdef POLLRDHUP
    events |= POLLRDHUP;
#endif
  }
  if (armed & INTEREST_WRITE) events |= POLLOUT;
  return events;
}

// revents -> signal bits, the same mapping as the epoll backend. POLLNVAL (an fd closed while
// registered) is reported as an error so the reactor looks at it. POLLPRI is not asked for:
// poll(2) is level-triggered, so data past an urgent mark is reported again anyway.
int32_t to_signals(short revents) {
  int32_t s = 0;
  if (revents & POLLIN) s |= READABLE;
  if (revents & POLLOUT) s |= WRITABLE;
#ifdef POLLRDHUP
  if (revents & POLLRDHUP) s |= READ_CLOSED | READABLE;
#endif
  if (revents & (POLLERR | POLLNVAL)) s |= ERROR | READABLE | WRITABLE;
  if (revents & (POLLHUP | POLLNVAL)) s |= READ_CLOSED | WRITE_CLOSED | READABLE | WRITABLE;
  return s;
}

class PollBackend final : public Backend {
 public:
  ~PollBackend() override { close(); }

  const char* name() const override { return "poll"; }
  int wake_fd() const override { return pipe_[1]; }
  int poll_fd() const override { return -1; }

  int open() override {
    // pipe2 (POSIX.1-2024) sets both flags atomically, so a concurrent fork+exec in another
    // thread cannot inherit the pipe.
    if (pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
      pipe_[0] = pipe_[1] = -1;
      return -errno;
    }
    edge_set_ = open_edge_set();
    if (edge_set_ < 0) {
      int err = edge_set_;
      close();
      return err;
    }
    fds_.assign(kFirstSource, pollfd{-1, POLLIN, 0});
    fds_[kWakeSlot].fd = pipe_[0];
    fds_[kLoopSlot].fd = edge_set_;
    sources_.assign(kFirstSource, Source{-1, 0, 0, 0, 0});
    return 0;
  }

  int register_fd(int fd, int32_t event_id, uint32_t interest) override {
    if (is_internal(fd)) return -EINVAL;
    // Same contract as epoll: EBADF for a closed fd, EPERM for what epoll cannot watch.
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    // (epoll also refuses a few devices, /dev/null among them, that poll(2) watches.)
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return -EPERM;
    size_t at = position_of(fd);
    if (at != kNotRegistered) {
      Source& old = sources_[at];
      if (old.dev == st.st_dev && old.ino == st.st_ino) return -EEXIST;
      // The registered fd was closed without deregister() and its number reused. epoll drops
      // the interest of a closed file by itself; here the stale entry takes the new file. Only
      // a new inode shows it (a socket always has one): a fresh open of the same inode (a named
      // FIFO, a tty, an eventfd: they share one anonymous inode) still reads as EEXIST.
      old.id = event_id;
      old.dev = st.st_dev;
      old.ino = st.st_ino;
      arm(at, interest);
      return 0;
    }
    // fstat succeeded, so fd is below RLIMIT_NOFILE and the index stays small.
    if (static_cast<size_t>(fd) >= index_.size()) {
      index_.resize(static_cast<size_t>(fd) + 1, kNotRegistered);
    }
    index_[fd] = fds_.size();
    fds_.push_back(pollfd{-1, 0, 0});
    sources_.push_back(Source{fd, event_id, 0, st.st_dev, st.st_ino});
    arm(index_[fd], interest);
    return 0;
  }

  int modify(int fd, int32_t event_id, uint32_t interest) override {
    if (is_internal(fd)) return -EINVAL;
    size_t i = position_of(fd);
    if (i == kNotRegistered) return -ENOENT;
    sources_[i].id = event_id;
    arm(i, interest);
    return 0;
  }

  int deregister(int fd) override {
    if (is_internal(fd)) return -EINVAL;
    size_t i = position_of(fd);
    if (i == kNotRegistered) {
      // Same answer as epoll: a gone fd is fine, an open one that is not here is ENOENT.
      return fcntl(fd, F_GETFD) < 0 && errno == EBADF ? 0 : -ENOENT;
    }
    // Swap-remove: the last entry moves into the hole.
    size_t last = fds_.size() - 1;
    if (i != last) {
      fds_[i] = fds_[last];
      sources_[i] = sources_[last];
      index_[sources_[i].fd] = i;
    }
    fds_.pop_back();
    sources_.pop_back();
    index_[fd] = kNotRegistered;
    if (cursor_ >= fds_.size()) cursor_ = kFirstSource;
    return 0;
  }

  int watch_loop(int fd) override {
    // poll(2) only sees levels, and the loop fd stays readable while Node's loop has not
    // consumed its readiness: polled directly it would make every wait return at once. Its
    // edges come through the edge set instead.
    int err = edge_set_watch(edge_set_, loop_fd_, fd);
    loop_fd_ = err == 0 ? fd : -1;
    return err;
  }

  int wait(int64_t timeout_ns, Event* out, int capacity, uint32_t* wakes) override {
    int ready = poll_ns(timeout_ns);
    if (ready < 0) return -errno;
    if (fds_[kWakeSlot].revents != 0) {
      *wakes |= WAKE_NOTIFY;
      ready--;
    }
    if (fds_[kLoopSlot].revents != 0) {
      drain_edge_set(edge_set_);
      *wakes |= WAKE_LOOP;
      ready--;
    }
    // Scan from a rotating cursor so a small event array does not always favour low slots.
    // Entries that did not fit stay armed and are reported by the next wait.
    int count = 0;
    size_t n = fds_.size() - kFirstSource;
    size_t i = cursor_;
    for (size_t scanned = 0; scanned < n && ready > 0 && count < capacity; scanned++) {
      if (i >= fds_.size()) i = kFirstSource;
      pollfd& p = fds_[i];
      if (p.fd >= 0 && p.revents != 0) {
        ready--;
        Source& src = sources_[i];
        int32_t signals = to_signals(p.revents);
        // Report only the armed directions, then disarm them (one-shot): the reactor
        // re-arms with modify() when a waker waits again. HUP and ERR carry both
        // directions, so whichever is armed wakes.
        uint32_t reported = 0;
        if ((src.armed & INTEREST_READ) && (signals & READABLE)) reported |= INTEREST_READ;
        if ((src.armed & INTEREST_WRITE) && (signals & WRITABLE)) reported |= INTEREST_WRITE;
        if (!(reported & INTEREST_READ)) signals &= ~READABLE;
        if (!(reported & INTEREST_WRITE)) signals &= ~WRITABLE;
        if (reported != 0) {
          out[count].id = src.id;
          out[count].signals = signals;
          count++;
          arm(i, src.armed & ~reported);
        }
        p.revents = 0;
      }
      i++;
    }
    cursor_ = i >= fds_.size() ? kFirstSource : i;
    return count;
  }

  void drain_wake() override {
    char buf[256];
    while (read(pipe_[0], buf, sizeof buf) > 0) {
    }
  }

  int owned_fds(int* out) const override {
    out[0] = pipe_[0];
    out[1] = pipe_[1];
    out[2] = edge_set_;
    return 3;
  }

  void close() override {
    for (int* fd : {&pipe_[0], &pipe_[1], &edge_set_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
    loop_fd_ = -1;
    fds_.clear();
    sources_.clear();
    index_.clear();
  }

 private:
  bool is_internal(int fd) const {
    return fd == pipe_[0] || fd == pipe_[1] || (fd >= 0 && (fd == edge_set_ || fd == loop_fd_));
  }

  // ppoll(2) takes nanoseconds where the system has it; poll(2) takes whole milliseconds, so
  // a timeout there is rounded up (never early).
  int poll_ns(int64_t timeout_ns) {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
    if (timeout_ns >= 0) {
      struct timespec ts = {static_cast<time_t>(timeout_ns / 1000000000),
                            static_cast<long>(timeout_ns % 1000000000)};
      return ppoll(fds_.data(), fds_.size(), &ts, nullptr);
    }
    return ppoll(fds_.data(), fds_.size(), nullptr, nullptr);
#else
    return poll(fds_.data(), fds_.size(), round_up_ms(timeout_ns));
#endif
  }

  static constexpr size_t kNotRegistered = 0;  // an index_ entry: below kFirstSource
  size_t position_of(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < index_.size() ? index_[fd] : kNotRegistered;
  }

  // A disarmed entry gets fd -1, which poll(2) skips: otherwise POLLHUP/POLLERR, which
  // poll reports even with events == 0, would make every wait return at once.
  void arm(size_t i, uint32_t interest) {
    sources_[i].armed = interest & INTEREST_ALL;
    fds_[i].fd = sources_[i].armed != 0 ? sources_[i].fd : -1;
    fds_[i].events = events_for(sources_[i].armed);
    fds_[i].revents = 0;
  }

  int pipe_[2] = {-1, -1};        // self-pipe: notify() writes [1], wait() polls [0]
  int edge_set_ = -1;             // open_edge_set() watching loop_fd_, polled in kLoopSlot
  int loop_fd_ = -1;              // the watched event-loop fd (not ours), -1 if none
  std::vector<pollfd> fds_;       // what poll(2) gets: the slots above, then the sources
  std::vector<Source> sources_;   // parallel to fds_
  std::vector<size_t> index_;     // fd -> position in fds_, kNotRegistered if none
  size_t cursor_ = kFirstSource;  // where the next scan starts
};

}  // namespace

std::unique_ptr<Backend> make_poll_backend() { return std::make_unique<PollBackend>(); }

}  // namespace iob
