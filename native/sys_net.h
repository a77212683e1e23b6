// Thin non-blocking socket shims. Each returns >= 0 or -errno and never throws; EAGAIN is a
// value. No N-API in here: binding.cc validates arguments and converts.
#ifndef WAKELOOP_SYS_NET_H_
#define WAKELOOP_SYS_NET_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace iob {
namespace net {

// An IPv4 or IPv6 endpoint in numeric form.
struct Address {
  std::string address;  // inet_ntop text, e.g. "127.0.0.1" or "::1"
  int family;           // 4 or 6
  int port;
};

// The backlog that means "as many as the kernel allows" (the kernel caps it at
// net.core.somaxconn).
int somaxconn();

int socket(int family);  // SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC; family 4 or 6
int bind(int fd, const std::string& address, int port);     // -EINVAL if not numeric
int listen(int fd, int backlog);
int accept(int fd);                                         // accept4 NONBLOCK | CLOEXEC
int connect(int fd, const std::string& address, int port);  // -EINPROGRESS is normal
ssize_t read(int fd, void* buf, size_t length);
ssize_t write(int fd, const void* buf, size_t length);      // never raises SIGPIPE on sockets
ssize_t writev(int fd, const struct iovec* iov, int count); // count <= max_iov()
int max_iov();
int shutdown(int fd, int how);  // 0 = read, 1 = write, 2 = both
int close(int fd);
int socket_error(int fd);       // SO_ERROR: a positive errno or 0; -errno if getsockopt fails
int set_no_delay(int fd, bool on);
int set_reuse_addr(int fd, bool on);
int set_reuse_port(int fd, bool on);
// SO_LINGER with a zero timeout when on: close() resets the connection.
int set_reset_on_close(int fd, bool on);
int set_non_blocking(int fd, bool on);
int local_address(int fd, Address* out);
int peer_address(int fd, Address* out);
int open_reserve_fd();          // /dev/null, close-on-exec
std::string strerror(int errnum);

}  // namespace net
}  // namespace iob

#endif  // WAKELOOP_SYS_NET_H_
