// The backend contract (open · register · modify · deregister · block · notify · close) and the
// IoBlocker that puts the shared policy on top of one backend. No N-API in here.
#ifndef WAKELOOP_IO_BLOCKER_H_
#define WAKELOOP_IO_BLOCKER_H_

#include <atomic>
#include <cstdint>
#include <memory>

namespace iob {

// Signal bits reported per event; the same numbers as src/_binding.ts.
constexpr int32_t READABLE = 1;
constexpr int32_t WRITABLE = 2;
constexpr int32_t READ_CLOSED = 4;
constexpr int32_t WRITE_CLOSED = 8;
constexpr int32_t ERROR = 16;
constexpr int32_t URGENT = 32;

// Interest bits passed to register/modify.
constexpr uint32_t INTEREST_READ = 1;
constexpr uint32_t INTEREST_WRITE = 2;
constexpr uint32_t INTEREST_ALL = INTEREST_READ | INTEREST_WRITE;

// The id a backend gives its own wake fd (epoll_data). Above every int32 event id, so it can
// never collide with one; the backend turns it into WAKE_NOTIFY, never into an Event.
constexpr uint64_t NOTIFY_ID = UINT64_C(1) << 32;
// The id the epoll backend gives the watched event-loop fd (see Backend::watch_loop).
constexpr uint64_t LOOP_ID = NOTIFY_ID + 1;

// Why a wait() returned besides events: the bits of its *wakes.
constexpr uint32_t WAKE_NOTIFY = 1;  // the wake fd (notify() or a watched signal)
constexpr uint32_t WAKE_LOOP = 2;    // the watched event-loop fd has new readiness

// One reported event. Written straight into the JS Int32Array as an [eventId, signals] pair.
struct Event {
  int32_t id;
  int32_t signals;
};
static_assert(sizeof(Event) == 2 * sizeof(int32_t), "Event must match two Int32Array slots");

// The most events one backend wait collects; a bigger JS array just gets them over more calls.
constexpr int kMaxEventsPerWait = 4096;

// Timeout policy shared by backends: a millisecond kernel timeout from nanoseconds, rounded
// up so a wait never ends early (-1 stays -1 = forever, 0 stays 0 = poll).
int round_up_ms(int64_t timeout_ns);

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC, the clock performance.now() uses).
int64_t monotonic_ns();

// What every mechanism implements. block() and notify() are IoBlocker's: a backend offers one
// wait() and a wake fd, and the policy on top is written once. Backend code never throws and
// never retries EINTR: it returns -errno and IoBlocker decides. Only the owning thread calls
// these, except wake_fd(), which is fixed between open() and close().
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Creates the kernel objects (all close-on-exec). 0 or -errno.
  virtual int open() = 0;
  // `register` is a C++ keyword, hence register_fd. 0 or -errno (-EEXIST, -EPERM, ...).
  virtual int register_fd(int fd, int32_t event_id, uint32_t interest) = 0;
  virtual int modify(int fd, int32_t event_id, uint32_t interest) = 0;
  virtual int deregister(int fd) = 0;
  // Watches `fd`, the owning thread's event-loop fd (libuv's backend fd), for new readiness:
  // wait() then sets WAKE_LOOP once per change (edge-triggered, so readiness Node's loop has
  // not consumed yet cannot make waits spin). Never reads it, never reports it as an event.
  // -1 stops watching. 0 or -errno.
  virtual int watch_loop(int fd) = 0;
  // Waits once: timeout_ns -1 = forever, 0 = poll. Writes up to `capacity` events (never the
  // wake fd or the loop fd, which only set bits of *wakes) and returns their count, or -errno
  // (including -EINTR).
  virtual int wait(int64_t timeout_ns, Event* out, int capacity, uint32_t* wakes) = 0;
  // Empties the wake fd after wait() reported it.
  virtual void drain_wake() = 0;
  // The fd notify() and the signal handler write 8 bytes (a uint64_t 1) to.
  virtual int wake_fd() const = 0;
  // The fd that is readable while events are pending (-1 when there is none, as for poll).
  virtual int poll_fd() const = 0;
  // Writes the fds the backend owns (at most kMaxOwnedFds) to `out`; returns how many.
  static constexpr int kMaxOwnedFds = 3;
  virtual int owned_fds(int* out) const = 0;
  // Closes every fd the backend owns. Idempotent.
  virtual void close() = 0;
};

// The platform's native backend (epoll on Linux), compiled in by binding.gyp conditions.
std::unique_ptr<Backend> make_native_backend();
const char* native_backend_name();
// Portable poll(2), compiled on every POSIX system and chosen at run time.
std::unique_ptr<Backend> make_poll_backend();
// From the platform's file too, so the level-triggered poll backend can watch the loop fd by
// its edges: an edge set is an fd that turns readable once per new readiness of the fd it
// watches and stays so until drain_edge_set(). open_edge_set(): close-on-exec, the fd or
// -errno. edge_set_watch(): replaces the watched fd (-1: none), 0 or -errno.
int open_edge_set();
int edge_set_watch(int set, int old_fd, int new_fd);
void drain_edge_set(int set);

// One blocker: a backend plus the policy every backend shares (EINTR retry with the remaining
// time, never-early timeouts, notify coalescing) and its entry in the process-wide registry.
// Invariant: only the thread that owns the JS object calls anything but notify().
class IoBlocker {
 public:
  IoBlocker() = default;
  IoBlocker(const IoBlocker&) = delete;
  IoBlocker& operator=(const IoBlocker&) = delete;
  ~IoBlocker() { close(); }

  // backend: "poll" or native_backend_name(). 0, -EINVAL for an unknown name, or -errno.
  int open(const char* backend);
  int register_fd(int fd, int32_t event_id, uint32_t interest);
  int modify(int fd, int32_t event_id, uint32_t interest);
  int deregister(int fd);
  // Blocks up to timeout_ms (negative = forever, fractions allowed) and returns the number of
  // events written to `out`, 0 on timeout or notify, or -errno. Never returns -EINTR.
  int block(double timeout_ms, Event* out, int capacity);
  // Wakes a blocked or the next block(). Thread-safe, coalesced, never an event.
  void notify();
  // Lets block() end (returning 0) when the thread is being stopped. Node stops a worker
  // (worker.terminate(), process.exit() in the main thread, ...) by waking its event loop,
  // which a thread inside block() never runs: block() watches `loop_fd` for that wake-up and
  // asks `stopping(arg)` whether it meant a stop (any other wake-up is not reported).
  // At most one blocker per thread watches (the kernel allows 100 nested wakeup paths per
  // epoll fd, epoll(7), and libuv aborts when its own epoll_ctl hits that limit): the one
  // that blocked last, taking the watch over from the previous one. After a wake-up that was
  // not a stop the loop stays "dirty" (Node's loop has readiness it has not consumed, and a
  // stop may then add none: libuv writes its eventfd only for an async handle not yet
  // pending), and block() asks stopping(arg) at least every kDirtyCheckNs until Node's loop
  // fd is no longer readable. Best effort: where the watch cannot be set up, only notify()
  // ends a block(-1).
  void watch_loop(int loop_fd, bool (*stopping)(void*), void* arg);
  // While attached, Node's loop watches poll_fd(); watching the loop back would be a cycle
  // (epoll_ctl(2) ELOOP), so the watch pauses until detached.
  void pause_loop_watch(bool paused);
  // Leaves the registry (no thread or signal handler touches the wake fd afterwards), then
  // closes the backend. Idempotent.
  void close();

  bool is_open() const { return backend_ != nullptr; }
  const char* backend_name() const { return backend_ ? backend_->name() : "closed"; }
  int poll_fd() const { return backend_ ? backend_->poll_fd() : -1; }
  int wake_fd() const { return wake_fd_; }
  int32_t registry_id() const { return registry_id_; }
  // How many times block() consumed a wake (notify() or a watched signal). Owner thread only.
  double wake_count() const { return static_cast<double>(wake_count_); }

 private:
  std::unique_ptr<Backend> backend_;
  // Set by the first notify() after a wake; later notifies skip the write until block() has
  // drained the wake fd. Invariant: true => a wake write is pending or in flight.
  std::atomic<bool> notified_{false};
  int wake_fd_ = -1;        // copy of backend_->wake_fd(), read by other threads
  uint64_t wake_count_ = 0; // lets JS skip re-checking notify-driven futures after a plain wake
  int32_t registry_id_ = 0; // > 0 while registered
  // The loop watch (see watch_loop). Invariant: loop_watched_ => the backend watches loop_fd_.
  int loop_fd_ = -1;
  bool (*loop_stopping_)(void*) = nullptr;
  void* loop_arg_ = nullptr;
  bool loop_watched_ = false;
  bool loop_paused_ = false;
  // Node's loop fd had readiness that was not a stop and may still have it (see watch_loop).
  bool loop_dirty_ = false;
  // Makes the backend's watch match loop_fd_, loop_paused_ and whether this blocker is its
  // thread's watcher.
  void sync_loop_watch();
  // Whether the thread is stopping; clears loop_dirty_ once Node's loop fd is not readable.
  bool check_dirty_loop();
};

}  // namespace iob

#endif  // WAKELOOP_IO_BLOCKER_H_
