// epoll_echo.c: a plain C echo server, edge-triggered epoll on Linux: the limit of this machine
// that wakeloop and node:net are compared against.
//
//   epoll_echo --host 127.0.0.1 --port P     (port 0: any free port)
//
// Prints "listening on HOST:PORT" once ready; stops cleanly on SIGTERM or SIGINT.
// Per connection: read into one shared 64 KiB scratch buffer, write it straight back; a write
// that does not complete keeps the unsent tail and stops reading that connection until the tail
// is flushed (backpressure). No per-source budget: the load generator bounds what is in flight.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SCRATCH (64 * 1024)

struct conn {
  int fd;
  int rdhup;             // a half-close was seen: keep reading until EOF (no short-read shortcut)
  char *tail;            // unsent part of the last echo, or NULL
  size_t tail_len, tail_off;
};

static char scratch[SCRATCH];
static int listen_fd, reserve_fd;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = sig; }

static void drop(struct conn *c) {
  close(c->fd);  // no dup'ed fds here, so epoll forgets it by itself
  free(c->tail);
  free(c);
}

// Flushes the pending tail; returns 1 when nothing is left to send.
static int flush_tail(struct conn *c) {
  while (c->tail) {
    ssize_t n = write(c->fd, c->tail + c->tail_off, c->tail_len - c->tail_off);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->tail_off += (size_t)n;
    if (c->tail_off == c->tail_len) free(c->tail), c->tail = NULL;
  }
  return 1;
}

static void on_conn(struct conn *c, unsigned events) {
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->rdhup = 1;
  int flushed = flush_tail(c);
  if (flushed < 0) return drop(c);
  if (!flushed) return;  // still blocked: EPOLLOUT will call again
  for (;;) {
    ssize_t n = read(c->fd, scratch, SCRATCH);
    if (n == 0) return drop(c);
    if (n < 0) {
      if (errno == EAGAIN) return;
      return drop(c);
    }
    ssize_t w = write(c->fd, scratch, (size_t)n);
    if (w < 0 && errno != EAGAIN) return drop(c);
    if (w < n) {
      size_t sent = w < 0 ? 0 : (size_t)w;
      c->tail_len = (size_t)n - sent;
      c->tail_off = 0;
      c->tail = malloc(c->tail_len);
      memcpy(c->tail, scratch + sent, c->tail_len);
      return;  // stop reading until the peer takes the tail
    }
    // A short read drained the socket (edge-triggered: a later arrival raises a new edge),
    // except after a half-close, where data and FIN may share the one edge.
    if (n < SCRATCH && !c->rdhup) return;
  }
}

static void on_listener(int ep) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of fds: the listener would stay ready forever. Use the reserve fd to accept and
        // close one connection (libuv's trick), and say so.
        fprintf(stderr, "epoll_echo: accept: %s (refusing a connection)\n", strerror(errno));
        close(reserve_fd);
        int c = accept(listen_fd, NULL, NULL);
        if (c >= 0) close(c);
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == ENOMEM) return;
      // An aborted connection or a network error pending on it (accept(2)): the backlog may
      // hold more, and an edge-triggered listener raises no new edge for them.
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) drop(c);
  }
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else return fprintf(stderr, "usage: epoll_echo --host H --port P\n"), 2;
  }
  signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT are blocked except inside epoll_pwait, so a signal cannot slip in between
  // checking `stop` and going to sleep.
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigset_t block, during_wait;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &during_wait);

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return fprintf(stderr, "bad host %s\n", host), 2;
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, SOMAXCONN) < 0) {
    fprintf(stderr, "epoll_echo: %s:%d: %s\n", host, port, strerror(errno));
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &len);
  reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &lev);
  printf("listening on %s:%d\n", host, ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event evs[256];
  while (!stop) {
    int n = epoll_pwait(ep, evs, 256, -1, &during_wait);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) on_listener(ep);
      else on_conn(evs[i].data.ptr, evs[i].events);
    }
  }
  close(listen_fd);
  return 0;
}
