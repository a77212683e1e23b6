// The sockets (and reserve fds) each environment opened through the addon, so that a worker
// thread that ends without closing them (terminated, or process.exit() inside it, where no
// `finally` runs) does not leave them open in the process: a listener left open keeps taking
// its share of a SO_REUSEPORT port's connections, and nobody accepts them. Node closes a
// worker's libuv handles the same way. Process-wide, since an fd opened on one thread may be
// closed through the addon on another.
#ifndef WAKELOOP_OWNED_FDS_H_
#define WAKELOOP_OWNED_FDS_H_

namespace iob {
namespace owned_fds {

// Records that `owner` (an environment's addon instance) opened `fd`, and which file it is.
// Ignores fd < 0.
void own(int fd, const void* owner);
// Forgets `fd`, whoever opened it, and closes it with `close_fd`, both under the table's lock:
// once closed, its number may be handed to another thread's new socket.
int release_and_close(int fd, int (*close_fd)(int));
// Closes every fd `owner` still holds: its environment is going away. An fd that was closed
// some other way meanwhile is skipped: its number now names another file (or an IoBlocker's).
void close_all(const void* owner);

}  // namespace owned_fds
}  // namespace iob

#endif  // WAKELOOP_OWNED_FDS_H_
