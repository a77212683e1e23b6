#include "owned_fds.h"

#include <unistd.h>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace iob {
namespace owned_fds {
namespace {

struct Table {
  std::mutex mu;
  std::unordered_map<int, const void*> owners;  // guarded by mu
};

// Never destroyed: environments may go away while the process runs its static destructors.
Table& table() {
  static Table* const instance = new Table();
  return *instance;
}

}  // namespace

void own(int fd, const void* owner) {
  if (fd < 0) return;
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  t.owners[fd] = owner;
}

void release(int fd) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  t.owners.erase(fd);
}

void close_all(const void* owner) {
  std::vector<int> mine;
  {
    Table& t = table();
    std::lock_guard<std::mutex> lock(t.mu);
    for (auto it = t.owners.begin(); it != t.owners.end();) {
      if (it->second == owner) {
        mine.push_back(it->first);
        it = t.owners.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (int fd : mine) ::close(fd);
}

}  // namespace owned_fds
}  // namespace iob
