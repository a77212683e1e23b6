// loadgen.c: the one load generator of the wakeloop bench. Single-threaded epoll (edge-triggered),
// 127.0.0.1 only, bounded in time, prints one JSON line of results on stdout.
//
//   loadgen --mode pingpong|pipelined|bulk|churn|idle --port P [--conns N] [--size B] [--depth K]
//           [--duration S] [--hold S] [--server-pid PID] [--close fin|rst]
//
// Every byte sent on a connection comes from one pseudo-random pattern, starting at an offset
// that differs per connection; every byte echoed back is compared with what was sent at that
// stream offset (memcmp), so a server that drops, reorders, repeats or mixes bytes scores nothing.
// With --server-pid the generator samples the server's utime+stime (/proc/PID/stat) at the exact
// edges of the measured interval. Churn closes with FIN, or with RST under --close rst.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PATTERN_PERIOD 65521u         // prime, so no message size lines up with the period
#define MAX_IO (256u * 1024u)         // largest single read or write
#define DRAIN_NS 3000000000ull        // after the interval: time allowed for echoes in flight
#define CONNECT_PENDING_MAX 256       // connects in progress at once (keeps the backlog short)

enum mode { M_PINGPONG, M_PIPELINED, M_BULK, M_CHURN, M_IDLE };
enum cstate { C_FREE, C_CONNECTING, C_OPEN, C_DONE };

struct conn {
  int fd;
  enum cstate state;
  uint32_t gen;          // bumped on every new socket in this slot: stale epoll events are dropped
  uint32_t seed;         // pattern offset of this connection's stream
  uint64_t sent;         // bytes written
  uint64_t recvd;        // bytes echoed and verified
  uint64_t started;      // messages started (their bytes are owed to the socket)
  uint64_t done;         // messages fully echoed
  uint64_t t_open;       // when connect() was called (churn, idle latency)
  int settled;           // connect_all: open (idle: echoed once) or failed
  uint64_t *ts;          // start time of each message in flight, ring of `depth`
};

static struct {
  enum mode mode;
  const char *mode_name;
  int port, conns, size, depth, server_pid, rst;
  double duration, hold;
} opt = {M_PINGPONG, "pingpong", 0, 1, 64, 1, 0, 0, 2.0, 60.0};

static unsigned char *pattern;      // PATTERN_PERIOD bytes, repeated so any window is contiguous
static unsigned char rbuf[MAX_IO];
static struct conn *conns;
static int ep;
static struct sockaddr_in addr;
static volatile sig_atomic_t stop_signal;
static int stopping;                // interval over: start no new messages or connections
static uint64_t t0, t_end;          // the measured interval
static uint64_t serial;             // connections opened so far (churn seeds)
static int settled_conns, open_conns, held_conns;

// Results.
static uint64_t n_msgs, n_bytes;    // completed inside the interval
static uint64_t err_connect, err_io, err_mismatch, err_eof, err_extra;

static const unsigned char *pattern_at(const struct conn *c, uint64_t offset) {
  return pattern + (c->seed + offset) % PATTERN_PERIOD;
}

static void mark_settled(struct conn *c) {
  if (!c->settled) c->settled = 1, settled_conns++;
}

static void close_conn(struct conn *c, enum cstate next) {
  if (c->fd >= 0) {
    close(c->fd);  // the last reference: epoll forgets it by itself
    c->fd = -1;
  }
  if (c->state == C_OPEN) open_conns--;
  if (next == C_DONE) mark_settled(c);
  c->state = next;
}

static void open_conn(struct conn *c, uint32_t slot) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  c->gen++;
  c->seed = (uint32_t)((serial++ * 2654435761u + slot * 7919u) % PATTERN_PERIOD);
  c->sent = c->recvd = c->started = c->done = 0;
  c->t_open = now_ns();
  if (c->fd < 0) {
    note_error(&err_connect, "socket: %s", strerror(errno));
    c->state = C_DONE;
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data.u64 = ((uint64_t)c->gen << 32) | slot};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  c->state = C_CONNECTING;
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    note_error(&err_connect, "connect: %s", strerror(errno));
    close_conn(c, C_DONE);
  }
  // Completion (or failure) is reported as EPOLLOUT, even when connect() already succeeded.
}

// Start as many messages as the depth allows and write everything owed, until EAGAIN.
static void pump_write(struct conn *c) {
  for (;;) {
    uint64_t owed = c->started * (uint64_t)opt.size;
    if (c->sent == owed) {
      // Churn and idle send exactly one message per connection, started on connect.
      if (stopping || opt.mode == M_CHURN || opt.mode == M_IDLE) return;
      uint64_t now = now_ns();
      while (c->started - c->done < (uint64_t)opt.depth &&
             (c->started + 1 - c->done) * (uint64_t)opt.size <= MAX_IO) {
        c->ts[c->started % (uint64_t)opt.depth] = now;
        c->started++;
      }
      owed = c->started * (uint64_t)opt.size;
      if (c->sent == owed) return;
    }
    size_t len = (size_t)(owed - c->sent);
    if (len > MAX_IO) len = MAX_IO;
    ssize_t n = write(c->fd, pattern_at(c, c->sent), len);
    if (n < 0) {
      if (errno != EAGAIN) {
        note_error(&err_io, "write: %s", strerror(errno));
        close_conn(c, C_DONE);
      }
      return;
    }
    c->sent += (uint64_t)n;
    if ((size_t)n < len) return;  // socket buffer full: EPOLLOUT will follow
  }
}

// A message is fully echoed: account for it. Returns 0 when the connection has no more to do.
static int message_done(struct conn *c, uint64_t now) {
  uint64_t start = opt.mode == M_CHURN || opt.mode == M_IDLE ? c->t_open
                                                             : c->ts[c->done % (uint64_t)opt.depth];
  c->done++;
  int in_interval = now >= t0 && now <= t_end;
  if (in_interval || opt.mode == M_IDLE) {
    n_msgs++;
    hist_add(now - start);
  }
  if (opt.mode == M_CHURN) {
    if (opt.rst) {
      struct linger l = {1, 0};  // close with RST: no TIME_WAIT left on the client
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close_conn(c, C_FREE);  // one round trip per connection, then the next one
    return 0;
  }
  if (opt.mode == M_IDLE) {
    held_conns++;
    mark_settled(c);
    return 0;
  }
  return 1;
}

static void on_readable(struct conn *c, int rdhup) {
  for (;;) {
    ssize_t n = read(c->fd, rbuf, sizeof rbuf);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      int done_ok = stopping && c->recvd == c->sent;
      if (!done_ok) {
        if (n == 0)
          note_error(&err_eof, "server closed a connection after %llu of %llu bytes",
                     (unsigned long long)c->recvd, (unsigned long long)c->sent);
        else
          note_error(&err_io, "read: %s", strerror(errno));
      }
      close_conn(c, C_DONE);
      return;
    }
    if (n < 0) break;  // EAGAIN: drained (a full buffer read last); go on writing below
    uint64_t now = now_ns();
    if (c->recvd + (uint64_t)n > c->sent) {
      note_error(&err_extra, "server sent %llu bytes more than it was sent",
                 (unsigned long long)(c->recvd + (uint64_t)n - c->sent));
      close_conn(c, C_DONE);
      return;
    }
    if (memcmp(rbuf, pattern_at(c, c->recvd), (size_t)n) != 0) {
      size_t i = 0;
      while (rbuf[i] == pattern_at(c, c->recvd)[i]) i++;
      note_error(&err_mismatch, "echoed bytes differ from sent bytes at stream offset %llu",
                 (unsigned long long)(c->recvd + i));
      close_conn(c, C_DONE);
      return;
    }
    c->recvd += (uint64_t)n;
    if (now >= t0 && now <= t_end) n_bytes += (uint64_t)n;
    while (c->done < c->started && c->recvd >= (c->done + 1) * (uint64_t)opt.size)
      if (!message_done(c, now)) return;
    // Short read: the socket is drained; a later arrival raises a new edge. Not after RDHUP,
    // where data and FIN can share one edge and only reading EOF ends the connection.
    if ((size_t)n < sizeof rbuf && !rdhup) break;
  }
  pump_write(c);
}

static void on_event(uint64_t data, uint32_t events) {
  uint32_t slot = (uint32_t)data;
  struct conn *c = &conns[slot];
  if (c->gen != (uint32_t)(data >> 32) || c->fd < 0) return;  // stale: slot reused
  if (c->state == C_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      note_error(&err_connect, "connect: %s", strerror(err));
      close_conn(c, C_DONE);
      return;
    }
    open_conns++;
    c->state = C_OPEN;
    if (opt.mode != M_IDLE) mark_settled(c);
    if (opt.mode == M_CHURN || opt.mode == M_IDLE) {
      c->started = 1;  // churn and idle: exactly one message per connection
      pump_write(c);
      if (c->state != C_OPEN) return;
    } else if (t0 == 0) {
      return;  // echo modes start writing together, once every connection is open
    }
  }
  if (c->state != C_OPEN) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
    on_readable(c, (events & (EPOLLRDHUP | EPOLLHUP)) != 0);
  else if (events & EPOLLOUT)
    pump_write(c);
}

static int poll_once(int timeout_ms) {
  static struct epoll_event evs[1024];
  int n = epoll_wait(ep, evs, 1024, timeout_ms);
  for (int i = 0; i < n; i++) on_event(evs[i].data.u64, evs[i].events);
  return n;
}

static int ms_until(uint64_t deadline) {
  uint64_t now = now_ns();
  if (now >= deadline) return 0;
  uint64_t ms = (deadline - now + 999999) / 1000000;
  return ms > 100 ? 100 : (int)ms;
}

// Opens connections in `count` slots, at most CONNECT_PENDING_MAX unsettled at once; returns when
// all have connected (idle: and done their round trip), failed, or the deadline has passed.
// Idle counts a connection as settled only once echoed: the kernel completes the handshake
// before the server accepts, and running ahead would overflow its accept queue (SYN retries).
static void connect_all(int count, uint64_t deadline) {
  int next = 0;
  while (!stop_signal && now_ns() < deadline) {
    while (next < count && next - settled_conns < CONNECT_PENDING_MAX) open_conn(&conns[next], (uint32_t)next), next++;
    if (settled_conns == count) return;
    if (err_connect && opt.mode != M_IDLE) return;
    poll_once(ms_until(deadline));
  }
}

static void on_signal(int sig) { stop_signal = sig; }

static void usage(const char *why) {
  fprintf(stderr, "loadgen: %s\nusage: loadgen --mode pingpong|pipelined|bulk|churn|idle --port P "
                  "[--conns N] [--size B] [--depth K] [--duration S] [--hold S] [--server-pid PID] [--close fin|rst]\n", why);
  exit(2);
}

static void parse_args(int argc, char **argv) {
  int have_size = 0, have_depth = 0;
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage("missing value");
    i++;
    if (!strcmp(k, "--mode")) {
      opt.mode_name = v;
      if (!strcmp(v, "pingpong")) opt.mode = M_PINGPONG;
      else if (!strcmp(v, "pipelined")) opt.mode = M_PIPELINED;
      else if (!strcmp(v, "bulk")) opt.mode = M_BULK;
      else if (!strcmp(v, "churn")) opt.mode = M_CHURN;
      else if (!strcmp(v, "idle")) opt.mode = M_IDLE;
      else usage("unknown mode");
    } else if (!strcmp(k, "--port")) opt.port = atoi(v);
    else if (!strcmp(k, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(k, "--size")) opt.size = atoi(v), have_size = 1;
    else if (!strcmp(k, "--depth")) opt.depth = atoi(v), have_depth = 1;
    else if (!strcmp(k, "--duration")) opt.duration = atof(v);
    else if (!strcmp(k, "--hold")) opt.hold = atof(v);
    else if (!strcmp(k, "--server-pid")) opt.server_pid = atoi(v);
    else if (!strcmp(k, "--close")) {
      if (strcmp(v, "fin") && strcmp(v, "rst")) usage("--close must be fin or rst");
      opt.rst = !strcmp(v, "rst");
    }
    else if (!strcmp(k, "--host")) { if (strcmp(v, "127.0.0.1")) usage("only 127.0.0.1 is allowed"); }
    else usage("unknown option");
  }
  if (opt.mode == M_PIPELINED && !have_depth) opt.depth = 16;
  if (opt.mode == M_BULK && !have_size) opt.size = 16384;
  if (opt.mode == M_BULK && !have_depth) opt.depth = 4;
  if (opt.mode == M_CHURN || opt.mode == M_IDLE) opt.depth = 1;
  if (opt.port <= 0 || opt.port > 65535) usage("--port is required");
  if (opt.conns < 1 || opt.size < 1 || opt.depth < 1 || opt.duration <= 0) usage("bad value");
  if ((uint64_t)opt.size * (uint64_t)opt.depth > MAX_IO) usage("size x depth exceeds 256 KiB");
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  // Raise the fd limit for many connections (up to the hard limit; root may go beyond).
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t want = (rlim_t)opt.conns + 64;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (rl.rlim_max < want) rl.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
      getrlimit(RLIMIT_NOFILE, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }

  pattern = malloc(PATTERN_PERIOD + MAX_IO);
  uint32_t x = 2463534242u;
  for (uint32_t i = 0; i < PATTERN_PERIOD + MAX_IO; i++) {
    if (i < PATTERN_PERIOD) x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    pattern[i] = i < PATTERN_PERIOD ? (unsigned char)(x >> 24) : pattern[i - PATTERN_PERIOD];
  }
  conns = calloc((size_t)opt.conns, sizeof *conns);
  uint64_t *rings = calloc((size_t)opt.conns * (size_t)opt.depth, sizeof *rings);
  for (int i = 0; i < opt.conns; i++) conns[i].fd = -1, conns[i].ts = rings + (size_t)i * (size_t)opt.depth;
  ep = epoll_create1(EPOLL_CLOEXEC);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)opt.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  long long srv0 = -1, srv1 = -1;
  double cpu0 = 0, cpu1 = 0;
  uint64_t duration_ns = (uint64_t)(opt.duration * 1e9);
  double connect_s = 0;

  if (opt.mode == M_CHURN) {
    t0 = now_ns(), t_end = t0 + duration_ns;
    srv0 = proc_cpu_ticks(opt.server_pid), cpu0 = cpu_seconds();
    for (int i = 0; i < opt.conns; i++) open_conn(&conns[i], (uint32_t)i);
    while (!stop_signal && now_ns() < t_end) {
      poll_once(ms_until(t_end));
      for (int i = 0; i < opt.conns && now_ns() < t_end; i++)
        if (conns[i].state == C_FREE) open_conn(&conns[i], (uint32_t)i);
    }
  } else if (opt.mode == M_IDLE) {
    // Connect every connection and do one round trip on each, report ready, then hold them.
    uint64_t start = now_ns();
    t0 = start, t_end = UINT64_MAX;
    srv0 = proc_cpu_ticks(opt.server_pid), cpu0 = cpu_seconds();
    connect_all(opt.conns, start + 60000000000ull);
    connect_s = (double)(now_ns() - start) / 1e9;
    srv1 = proc_cpu_ticks(opt.server_pid), cpu1 = cpu_seconds();
    printf("{\"event\":\"ready\",\"conns\":%d,\"held\":%d,\"connect_s\":%.4f}\n", opt.conns, held_conns, connect_s);
    fflush(stdout);
    uint64_t hold_end = now_ns() + (uint64_t)(opt.hold * 1e9);
    while (!stop_signal && now_ns() < hold_end) poll_once(ms_until(hold_end));  // notices closes
    stopping = 1;
    if (held_conns < opt.conns && !first_error[0])
      note_error(&err_connect, "only %d of %d connections completed their round trip", held_conns, opt.conns);
  } else {
    uint64_t start = now_ns();
    connect_all(opt.conns, start + 20000000000ull);
    connect_s = (double)(now_ns() - start) / 1e9;
    if (open_conns < opt.conns && !first_error[0])
      note_error(&err_connect, "only %d of %d connections opened", open_conns, opt.conns);
    if (open_conns == opt.conns) {
      t0 = now_ns(), t_end = t0 + duration_ns;
      srv0 = proc_cpu_ticks(opt.server_pid), cpu0 = cpu_seconds();
      for (int i = 0; i < opt.conns; i++) pump_write(&conns[i]);
      while (!stop_signal && now_ns() < t_end) poll_once(ms_until(t_end));
    }
  }
  if (opt.mode != M_IDLE && t0) {
    t_end = now_ns() < t_end ? now_ns() : t_end;  // a signal may end the interval early
    srv1 = proc_cpu_ticks(opt.server_pid), cpu1 = cpu_seconds();
  }
  // Let what is in flight come back (and be verified) before closing.
  stopping = 1;
  uint64_t drain_end = now_ns() + DRAIN_NS;
  for (;;) {
    int busy = 0;
    for (int i = 0; i < opt.conns; i++)
      busy += conns[i].state == C_CONNECTING || (conns[i].state == C_OPEN && conns[i].recvd < conns[i].sent);
    if (!busy || now_ns() >= drain_end) {
      if (busy) note_error(&err_io, "%d connections still waited for their echo 3 s after the end", busy);
      break;
    }
    poll_once(ms_until(drain_end));
  }
  for (int i = 0; i < opt.conns; i++) close_conn(&conns[i], C_DONE);

  double elapsed = opt.mode == M_IDLE ? connect_s : (t0 ? (double)(t_end - t0) / 1e9 : 0);
  uint64_t errors = err_connect + err_io + err_mismatch + err_eof + err_extra;
  printf("{\"ok\":%s,\"mode\":\"%s\",\"conns\":%d,\"size\":%d,\"depth\":%d,\"elapsed_s\":%.6f,"
         "\"connect_s\":%.4f,\"messages\":%llu,\"bytes\":%llu,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,",
         errors || n_msgs == 0 ? "false" : "true", opt.mode_name, opt.conns, opt.size, opt.depth, elapsed,
         connect_s, (unsigned long long)n_msgs, (unsigned long long)n_bytes,
         elapsed > 0 ? (double)n_msgs / elapsed : 0, elapsed > 0 ? (double)n_bytes / 1e6 / elapsed : 0);
  printf("\"lat_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"mean\":%.2f},",
         hist_quantile(0.5) / 1e3, hist_quantile(0.9) / 1e3, hist_quantile(0.99) / 1e3,
         hist_quantile(0.999) / 1e3, (double)hist_max / 1e3, hist_n ? hist_sum / (double)hist_n / 1e3 : 0);
  printf("\"errors\":{\"connect\":%llu,\"io\":%llu,\"mismatch\":%llu,\"eof\":%llu,\"extra\":%llu},",
         (unsigned long long)err_connect, (unsigned long long)err_io, (unsigned long long)err_mismatch,
         (unsigned long long)err_eof, (unsigned long long)err_extra);
  printf("\"first_error\":\"%s\",\"clk_tck\":%ld,\"server_cpu_ticks\":%lld,", first_error, sysconf(_SC_CLK_TCK),
         srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1);
  printf("\"loadgen_cpu_s\":%.4f,\"loadgen_cpu_total_s\":%.4f,\"signal\":%d}\n", cpu1 - cpu0, cpu_seconds(),
         (int)stop_signal);
  return 0;
}
