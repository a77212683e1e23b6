// chat_loadgen.c: the chat fan-out load generator. Single-threaded epoll (edge-triggered),
// 127.0.0.1 only, bounded in time, prints one JSON line of results on stdout (the fields of
// loadgen.c, plus posts and dropped).
//
//   chat_loadgen --port P [--members N] [--size B] [--window W] [--duration S] [--server-pid PID]
//
// N members join one group, then one more connection (not a member) posts to it, closed loop:
// at most W posts are in flight, a post being done once every member has received it. Every
// line a member receives is checked byte for byte against the post it must be (the next one in
// order): a server that loses, reorders, alters or drops messages scores nothing, and any error
// line (a lag report `Dropped N messages`) makes the run invalid, so dropping cannot pay.
// Deliveries (one post reaching one member) are counted inside the measured interval; latency
// runs from the write of a post to its arrival at each member.
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

#define GROUP "fanout"
#define SEQ_DIGITS 10
#define RBUF (256 * 1024)            // per-member receive buffer: lines are reassembled here
#define DRAIN_NS 3000000000ull        // after the interval: time for posts in flight to arrive
#define SETUP_NS 20000000000ull       // connecting and joining

struct member {
  int fd;
  uint64_t next;        // sequence number of the next post it must receive
  int joined;           // its Join was answered (by the error to its sync post)
  size_t have;          // bytes in buf
  char *buf;
};

static struct {
  int port, members, size, window, server_pid;
  double duration;
} opt = {0, 100, 64, 16, 0, 2.0};

static struct member *members;
static int poster_fd = -1, ep, joined;
static uint64_t posted, completed;   // posts written; posts received by every member
static uint32_t *arrived;            // per post slot (seq % window): members that have it
static uint64_t *sent_at;            // per post slot: when it was written
static char *post_line, *expect_line; // templates; the sequence number is patched in
static size_t post_len, post_prefix, expect_len, expect_prefix;  // *_prefix: where the digits start
static char *out; static size_t out_len, out_off;    // the poster's unsent bytes
static int stopping;
static volatile sig_atomic_t stop_signal;
static uint64_t t0, t_end;
static uint64_t n_deliveries, n_bytes, n_posts_in;
static uint64_t err_connect, err_io, err_mismatch, err_eof, err_extra, err_dropped;

static void put_seq(char *at, uint64_t seq) {
  for (int i = SEQ_DIGITS - 1; i >= 0; i--) at[i] = (char)('0' + seq % 10), seq /= 10;
}

// A blocking connect (set-up only), then non-blocking and registered, edge-triggered.
static int connect_one(uint64_t tag) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    note_error(&err_connect, "connect: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return fd;
}

// Writes what the poster owes, until done or EAGAIN.
static void flush_poster(void) {
  while (poster_fd >= 0 && out_off < out_len) {
    ssize_t n = write(poster_fd, out + out_off, out_len - out_off);
    if (n < 0) {
      if (errno != EAGAIN) note_error(&err_io, "poster write: %s", strerror(errno)), close(poster_fd), poster_fd = -1;
      return;
    }
    out_off += (size_t)n;
  }
  if (out_off == out_len) out_off = out_len = 0;
}

// Keeps `window` posts in flight (closed loop), then writes them.
static void pump_poster(void) {
  if (joined < opt.members || poster_fd < 0) return;
  uint64_t now = now_ns();
  while (!stopping && posted - completed < (uint64_t)opt.window) {
    size_t slot = (size_t)(posted % (uint64_t)opt.window);
    if (out_off > 0) memmove(out, out + out_off, out_len - out_off), out_len -= out_off, out_off = 0;
    put_seq(post_line + post_prefix, posted);
    memcpy(out + out_len, post_line, post_len);
    out_len += post_len;
    arrived[slot] = 0;
    sent_at[slot] = now;
    posted++;
  }
  flush_poster();
}

static void closed_member(struct member *m, const char *why) {
  int done_ok = stopping && m->next == posted;
  if (!done_ok) note_error(&err_eof, "member %d: %s after %llu posts", (int)(m - members), why, (unsigned long long)m->next);
  close(m->fd);
  m->fd = -1;
}

// One line a member received (without its newline).
static void on_line(struct member *m, const char *line, size_t len, uint64_t now) {
  static const char sync_answer[] = "{\"Error\":\"Group '" GROUP "-sync' does not exist\"}";
  if (!m->joined) {
    if (len != sizeof sync_answer - 1 || memcmp(line, sync_answer, len) != 0) {
      note_error(&err_mismatch, "member %d: unexpected line while joining: %.80s", (int)(m - members), line);
      return;
    }
    m->joined = 1, joined++;
    return;
  }
  if (len >= 9 && memcmp(line, "{\"Error\":", 9) == 0) {
    note_error(&err_dropped, "member %d got an error (it lagged?): %.100s", (int)(m - members), line);
    return;
  }
  const char *digits = line + expect_prefix;
  if (len != expect_len - 1 || memcmp(line, expect_line, expect_prefix) != 0 ||
      memcmp(digits + SEQ_DIGITS, expect_line + expect_prefix + SEQ_DIGITS, len - expect_prefix - SEQ_DIGITS) != 0) {
    note_error(&err_mismatch, "member %d: a line that is not a post of ours: %.100s", (int)(m - members), line);
    return;
  }
  uint64_t seq = 0;
  for (int i = 0; i < SEQ_DIGITS; i++) seq = seq * 10 + (uint64_t)(digits[i] - '0');
  if (seq != m->next || seq >= posted) {
    note_error(&err_mismatch, "member %d: post %llu where %llu was due", (int)(m - members), (unsigned long long)seq,
               (unsigned long long)m->next);
    return;
  }
  m->next++;
  size_t slot = (size_t)(seq % (uint64_t)opt.window);
  if (now >= t0 && now <= t_end) n_deliveries++, n_bytes += len + 1, hist_add(now - sent_at[slot]);
  // Every member receives in order, so posts complete in order too.
  if (++arrived[slot] == (uint32_t)opt.members && seq == completed) {
    completed++;
    while (completed < posted && arrived[completed % (uint64_t)opt.window] == (uint32_t)opt.members) completed++;
  }
}

static void on_member(struct member *m, int rdhup) {
  for (;;) {
    if (m->fd < 0) return;
    size_t space = RBUF - m->have;
    ssize_t n = read(m->fd, m->buf + m->have, space);
    if (n == 0) return closed_member(m, "the server closed the connection");
    if (n < 0) {
      if (errno != EAGAIN) closed_member(m, strerror(errno));
      return;
    }
    uint64_t now = now_ns();
    size_t end = m->have + (size_t)n, start = 0;
    for (char *nl; (nl = memchr(m->buf + start, '\n', end - start)) != NULL; start = (size_t)(nl - m->buf) + 1)
      on_line(m, m->buf + start, (size_t)(nl - (m->buf + start)), now);
    if (start == 0 && end == RBUF) {
      note_error(&err_mismatch, "member %d: a line longer than %d bytes", (int)(m - members), RBUF);
      closed_member(m, "a line too long");
      return;
    }
    memmove(m->buf, m->buf + start, end - start);
    m->have = end - start;
    if ((size_t)n < space && !rdhup) return;  // drained: a later arrival raises a new edge
  }
}

static void on_poster(uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
    char buf[4096];
    ssize_t n;
    while ((n = read(poster_fd, buf, sizeof buf)) > 0) {
      n_posts_in += (uint64_t)n;
      note_error(&err_extra, "the poster (not a member) got: %.*s", (int)(n < 100 ? n : 100), buf);
    }
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      note_error(&err_eof, "the server closed the poster's connection");
      close(poster_fd);
      poster_fd = -1;
      return;
    }
  }
  if (events & EPOLLOUT) flush_poster();
}

static void poll_once(int timeout_ms) {
  static struct epoll_event evs[256];
  int n = epoll_wait(ep, evs, 256, timeout_ms);
  for (int i = 0; i < n; i++) {
    uint64_t tag = evs[i].data.u64;
    if (tag == (uint64_t)opt.members) on_poster(evs[i].events);
    else on_member(&members[tag], (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
  }
  pump_poster();
}

static int ms_until(uint64_t deadline) {
  uint64_t now = now_ns();
  if (now >= deadline) return 0;
  uint64_t ms = (deadline - now + 999999) / 1000000;
  return ms > 100 ? 100 : (int)ms;
}

static void on_signal(int sig) { stop_signal = sig; }

static void usage(const char *why) {
  fprintf(stderr, "chat_loadgen: %s\nusage: chat_loadgen --port P [--members N] [--size B] [--window W] "
                  "[--duration S] [--server-pid PID]\n", why);
  exit(2);
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i += 2) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage("missing value");
    if (!strcmp(k, "--port")) opt.port = atoi(v);
    else if (!strcmp(k, "--members") || !strcmp(k, "--conns")) opt.members = atoi(v);
    else if (!strcmp(k, "--size")) opt.size = atoi(v);
    else if (!strcmp(k, "--window") || !strcmp(k, "--depth")) opt.window = atoi(v);
    else if (!strcmp(k, "--duration")) opt.duration = atof(v);
    else if (!strcmp(k, "--server-pid")) opt.server_pid = atoi(v);
    else if (!strcmp(k, "--mode")) { if (strcmp(v, "chat")) usage("only --mode chat"); }
    else usage("unknown option");
  }
  if (opt.port <= 0 || opt.port > 65535) usage("--port is required");
  if (opt.members < 1 || opt.window < 1 || opt.duration <= 0) usage("bad value");
  if (opt.size < SEQ_DIGITS + 1 || opt.size > 60000) usage("--size must be from 11 to 60000");
}

// The post line and the line each member must receive for it, with room for the sequence number.
static void make_templates(void) {
  const char *post_head = "{\"Post\":{\"group_name\":\"" GROUP "\",\"message\":\"";
  const char *msg_head = "{\"Message\":{\"group_name\":\"" GROUP "\",\"message\":\"";
  const char *tail = "\"}}\n";
  char *text = malloc((size_t)opt.size + 1);
  memset(text, '0', SEQ_DIGITS);
  text[SEQ_DIGITS] = ' ';
  for (int i = SEQ_DIGITS + 1; i < opt.size; i++) text[i] = (char)('a' + i % 26);
  text[opt.size] = 0;
  post_len = strlen(post_head) + (size_t)opt.size + strlen(tail);
  expect_len = strlen(msg_head) + (size_t)opt.size + strlen(tail);
  expect_prefix = strlen(msg_head);
  post_prefix = strlen(post_head);
  post_line = malloc(post_len + 1);
  expect_line = malloc(expect_len + 1);
  snprintf(post_line, post_len + 1, "%s%s%s", post_head, text, tail);
  snprintf(expect_line, expect_len + 1, "%s%s%s", msg_head, text, tail);
  free(text);
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  make_templates();
  members = calloc((size_t)opt.members, sizeof *members);
  arrived = calloc((size_t)opt.window, sizeof *arrived);
  sent_at = calloc((size_t)opt.window, sizeof *sent_at);
  out = malloc(post_len * (size_t)opt.window + 1);
  ep = epoll_create1(EPOLL_CLOEXEC);

  // Set-up: every member joins, then asks about a group nobody joined; the answer proves its
  // Join was handled. Only then does the poster connect and post.
  uint64_t start = now_ns();
  static const char hello[] = "{\"Join\":{\"group_name\":\"" GROUP "\"}}\n{\"Post\":{\"group_name\":\"" GROUP
                              "-sync\",\"message\":\"\"}}\n";
  for (int i = 0; i < opt.members && !err_connect; i++) {
    members[i].buf = malloc(RBUF);
    members[i].fd = connect_one((uint64_t)i);
    if (members[i].fd >= 0 && write(members[i].fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1))
      note_error(&err_io, "member %d: cannot send its Join", i);
  }
  while (!stop_signal && !first_error[0] && joined < opt.members && now_ns() < start + SETUP_NS) poll_once(100);
  if (joined < opt.members && !first_error[0]) note_error(&err_connect, "only %d of %d members joined", joined, opt.members);
  double connect_s = (double)(now_ns() - start) / 1e9;

  long long srv0 = -1, srv1 = -1;
  double cpu0 = 0, cpu1 = 0;
  if (!first_error[0]) {
    poster_fd = connect_one((uint64_t)opt.members);
    t0 = now_ns(), t_end = t0 + (uint64_t)(opt.duration * 1e9);
    srv0 = proc_cpu_ticks(opt.server_pid), cpu0 = cpu_seconds();
    pump_poster();
    while (!stop_signal && now_ns() < t_end) poll_once(ms_until(t_end));
    if (now_ns() < t_end) t_end = now_ns();  // a signal ended the interval early
    srv1 = proc_cpu_ticks(opt.server_pid), cpu1 = cpu_seconds();
    stopping = 1;
    uint64_t drain_end = now_ns() + DRAIN_NS;
    while (completed < posted && now_ns() < drain_end && poster_fd >= 0) poll_once(ms_until(drain_end));
    if (completed < posted && !first_error[0])
      note_error(&err_io, "%llu posts had not reached every member 3 s after the end", (unsigned long long)(posted - completed));
  }
  for (int i = 0; i < opt.members; i++) if (members[i].fd >= 0) close(members[i].fd);
  if (poster_fd >= 0) close(poster_fd);

  double elapsed = t0 ? (double)(t_end - t0) / 1e9 : 0;
  uint64_t errors = err_connect + err_io + err_mismatch + err_eof + err_extra + err_dropped;
  printf("{\"ok\":%s,\"mode\":\"chat\",\"conns\":%d,\"members\":%d,\"size\":%d,\"depth\":%d,\"elapsed_s\":%.6f,"
         "\"connect_s\":%.4f,\"messages\":%llu,\"bytes\":%llu,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
         "\"posts\":%llu,\"posts_per_s\":%.1f,",
         errors || n_deliveries == 0 ? "false" : "true", opt.members + 1, opt.members, opt.size, opt.window, elapsed,
         connect_s, (unsigned long long)n_deliveries, (unsigned long long)n_bytes,
         elapsed > 0 ? (double)n_deliveries / elapsed : 0, elapsed > 0 ? (double)n_bytes / 1e6 / elapsed : 0,
         (unsigned long long)posted, elapsed > 0 ? (double)posted / elapsed : 0);
  printf("\"lat_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"mean\":%.2f},",
         hist_quantile(0.5) / 1e3, hist_quantile(0.9) / 1e3, hist_quantile(0.99) / 1e3, hist_quantile(0.999) / 1e3,
         (double)hist_max / 1e3, hist_n ? hist_sum / (double)hist_n / 1e3 : 0);
  printf("\"errors\":{\"connect\":%llu,\"io\":%llu,\"mismatch\":%llu,\"eof\":%llu,\"extra\":%llu,\"dropped\":%llu},",
         (unsigned long long)err_connect, (unsigned long long)err_io, (unsigned long long)err_mismatch,
         (unsigned long long)err_eof, (unsigned long long)err_extra, (unsigned long long)err_dropped);
  printf("\"first_error\":\"%s\",\"clk_tck\":%ld,\"server_cpu_ticks\":%lld,", first_error, sysconf(_SC_CLK_TCK),
         srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1);
  printf("\"loadgen_cpu_s\":%.4f,\"loadgen_cpu_total_s\":%.4f,\"signal\":%d}\n", cpu1 - cpu0, cpu_seconds(),
         (int)stop_signal);
  return 0;
}
