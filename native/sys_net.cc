// Raw non-blocking socket calls for IPv4 and IPv6 (numeric addresses only). Each returns
// >= 0 or -errno; retrying EAGAIN and reporting errors is the TypeScript side's job.
#include "sys_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>

namespace iob {
namespace net {
namespace {

// Parses a numeric IPv4 or IPv6 address into `ss`; returns its length, or 0 if unparsable.
socklen_t parse(const std::string& address, int port, struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  // A JS string may hold a NUL; inet_pton would stop there and accept a prefix.
  if (address.find('\0') != std::string::npos) return 0;
  auto* v4 = reinterpret_cast<struct sockaddr_in*>(ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return sizeof *v4;
  }
  auto* v6 = reinterpret_cast<struct sockaddr_in6*>(ss);
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return sizeof *v6;
  }
  return 0;
}

int to_address(const struct sockaddr_storage& ss, Address* out) {
  char text[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const struct sockaddr_in&>(ss);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    *out = Address{text, 4, ntohs(v4.sin_port)};
    return 0;
  }
  if (ss.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const struct sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    *out = Address{text, 6, ntohs(v6.sin6_port)};
    return 0;
  }
  return -EAFNOSUPPORT;  // e.g. a Unix socket or a pipe given as fd
}

int set_flag(int fd, int level, int option, bool on) {
  int value = on ? 1 : 0;
  return setsockopt(fd, level, option, &value, sizeof value) == 0 ? 0 : -errno;
}

}  // namespace

int somaxconn() { return SOMAXCONN; }

int socket(int family) {
  int domain = family == 6 ? AF_INET6 : AF_INET;
  int fd = ::socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd >= 0 ? fd : -errno;
}

int bind(int fd, const std::string& address, int port) {
  struct sockaddr_storage ss;
  socklen_t len = parse(address, port, &ss);
  if (len == 0) return -EINVAL;
  return ::bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) == 0 ? 0 : -errno;
}

int listen(int fd, int backlog) { return ::listen(fd, backlog) == 0 ? 0 : -errno; }

int accept(int fd) {
  for (;;) {
    int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client >= 0) return client;
    if (errno != EINTR) return -errno;
  }
}

int connect(int fd, const std::string& address, int port) {
  struct sockaddr_storage ss;
  socklen_t len = parse(address, port, &ss);
  if (len == 0) return -EINVAL;
  // A non-blocking connect interrupted by a signal keeps going in the background; the
  // caller sees EINTR like EINPROGRESS and waits for writability (connect(2)).
  return ::connect(fd, reinterpret_cast<struct sockaddr*>(&ss), len) == 0 ? 0 : -errno;
}

ssize_t read(int fd, void* buf, size_t length) {
  for (;;) {
    // recv(2) goes straight to the socket; read(2) first passes the file layer (position lock,
    // permission and notification hooks), measurably slower per message. Pipes and ttys are
    // not sockets: plain read(2).
    ssize_t n = recv(fd, buf, length, 0);
    if (n < 0 && errno == ENOTSOCK) n = ::read(fd, buf, length);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;  // EINTR: a blocking tty or pipe; just read again
  }
}

ssize_t write(int fd, const void* buf, size_t length) {
  for (;;) {
    // MSG_NOSIGNAL: a reset peer gives EPIPE instead of a SIGPIPE that kills the process.
    ssize_t n = send(fd, buf, length, MSG_NOSIGNAL);
    // Pipes and ttys are not sockets: plain write(2). Node ignores SIGPIPE process-wide, so
    // a closed pipe reader gives EPIPE here too.
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, buf, length);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

int max_iov() { return IOV_MAX; }

ssize_t writev(int fd, const struct iovec* iov, int count) {
  struct msghdr msg = {};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::writev(fd, iov, count);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

int shutdown(int fd, int how) {
  int mode = how == 0 ? SHUT_RD : how == 1 ? SHUT_WR : SHUT_RDWR;
  return ::shutdown(fd, mode) == 0 ? 0 : -errno;
}

int close(int fd) {
  // On Linux the fd is released even when close(2) reports EINTR, and retrying could close
  // a number another thread just got (close(2), "Dealing with error returns").
  if (::close(fd) == 0 || errno == EINTR) return 0;
  return -errno;
}

int socket_error(int fd) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0) return -errno;
  return value;
}

int set_no_delay(int fd, bool on) { return set_flag(fd, IPPROTO_TCP, TCP_NODELAY, on); }
int set_reuse_addr(int fd, bool on) { return set_flag(fd, SOL_SOCKET, SO_REUSEADDR, on); }
int set_reuse_port(int fd, bool on) { return set_flag(fd, SOL_SOCKET, SO_REUSEPORT, on); }

int set_reset_on_close(int fd, bool on) {
  // SO_LINGER on with a zero timeout: close() then sends RST and drops unsent data.
  struct linger l = {on ? 1 : 0, 0};
  return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0 ? 0 : -errno;
}

int set_non_blocking(int fd, bool on) {
  int value = on ? 1 : 0;  // FIONBIO: one syscall instead of F_GETFL + F_SETFL (as libuv)
  return ioctl(fd, FIONBIO, &value) == 0 ? 0 : -errno;
}

int local_address(int fd, Address* out) {
  struct sockaddr_storage ss = {};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) return -errno;
  return to_address(ss, out);
}

int peer_address(int fd, Address* out) {
  struct sockaddr_storage ss = {};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) return -errno;
  return to_address(ss, out);
}

int open_reserve_fd() {
  // libuv's EMFILE trick: the caller keeps this fd; when accept fails with EMFILE it closes
  // it, accepts and closes the connection (so an edge-triggered listener does not stay
  // ready forever), then opens the reserve again.
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

namespace {
// strerror_r has two signatures (XSI returns int, GNU returns char*); take both.
[[maybe_unused]] const char* strerror_result(int ret, const char* buf) { return ret == 0 ? buf : "Unknown error"; }
[[maybe_unused]] const char* strerror_result(const char* ret, const char*) { return ret; }
}  // namespace

std::string strerror(int errnum) {
  char buf[128];
  buf[0] = '\0';
  return strerror_result(strerror_r(errnum, buf, sizeof buf), buf);
}

}  // namespace net
}  // namespace iob
