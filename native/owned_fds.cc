#include "owned_fds.h"

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <unordered_map>

#include "registry.h"

namespace iob {
namespace owned_fds {
namespace {

// Which open file an fd number named when it was recorded: if the fd was closed some other
// way (fs.closeSync, handed to libuv) and the number reused, the file is another one.
struct Owned {
  const void* owner;
  dev_t dev;
  ino_t ino;
};

struct Table {
  std::mutex mu;
  std::unordered_map<int, Owned> fds;  // guarded by mu
};

// Never destroyed: environments may go away while the process runs its static destructors.
Table& table() {
  static Table* const instance = new Table();
  return *instance;
}

}  // namespace

void own(int fd, const void* owner) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return;
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  t.fds[fd] = Owned{owner, st.st_dev, st.st_ino};
}

int release_and_close(int fd, int (*close_fd)(int)) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  t.fds.erase(fd);
  return close_fd(fd);
}

void close_all(const void* owner) {
  Table& t = table();
  // Under the lock: a close through release_and_close() on another thread cannot slip in
  // between the check of an fd and its close, and hand the number to someone else.
  std::lock_guard<std::mutex> lock(t.mu);
  for (auto it = t.fds.begin(); it != t.fds.end();) {
    if (it->second.owner != owner) {
      ++it;
      continue;
    }
    struct stat st;
    bool same = fstat(it->first, &st) == 0 && st.st_dev == it->second.dev && st.st_ino == it->second.ino;
    if (same && registry::owner_of_fd(it->first) == 0) ::close(it->first);
    it = t.fds.erase(it);
  }
}

}  // namespace owned_fds
}  // namespace iob
