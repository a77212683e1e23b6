// The process-wide registry of blockers: the only static state in the addon besides the
// signal table, because several worker threads load the addon and wake each other's blockers.
#include "registry.h"

#include <cerrno>
#include <vector>

#include "io_blocker.h"
#include "signals.h"

namespace iob {
namespace registry {
namespace {

struct Slot {
  IoBlocker* blocker = nullptr;  // null while free
  uint32_t generation = 0;       // bumped on every reuse; part of the id
};

struct Table {
  std::mutex mu;
  std::vector<Slot> slots;       // Invariant: guarded by mu
  std::vector<uint32_t> free;    // indexes of free slots, guarded by mu
  std::vector<int32_t> fd_owner; // fd -> id of the blocker that owns it, 0 = none; guarded by mu
};

constexpr uint32_t kMaxGeneration = (1u << (31 - kSlotBits)) - 1;

// Heap-allocated and never destroyed: a detached lookup thread may notify while the process
// runs its static destructors at exit.
Table& table() {
  static Table* t = new Table();
  return *t;
}

uint32_t slot_of(int32_t id) { return static_cast<uint32_t>(id) & (kMaxSlots - 1); }
uint32_t generation_of(int32_t id) { return static_cast<uint32_t>(id) >> kSlotBits; }

}  // namespace

std::mutex& mutex() { return table().mu; }

IoBlocker* find_locked(int32_t id) {
  Table& t = table();
  if (id <= 0) return nullptr;
  uint32_t slot = slot_of(id);
  if (slot >= t.slots.size()) return nullptr;
  const Slot& s = t.slots[slot];
  return s.generation == generation_of(id) ? s.blocker : nullptr;
}

int32_t add(IoBlocker* blocker, const int* fds, int count) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  uint32_t slot;
  if (!t.free.empty()) {
    slot = t.free.back();
    t.free.pop_back();
  } else if (t.slots.size() < kMaxSlots) {
    slot = static_cast<uint32_t>(t.slots.size());
    t.slots.emplace_back();
  } else {
    return -ENOSPC;
  }
  Slot& s = t.slots[slot];
  s.generation++;  // never past kMaxGeneration: remove() retires a slot that reached it
  s.blocker = blocker;
  int32_t id = static_cast<int32_t>((s.generation << kSlotBits) | slot);
  for (int i = 0; i < count; i++) {
    if (fds[i] < 0) continue;
    size_t fd = static_cast<size_t>(fds[i]);
    if (fd >= t.fd_owner.size()) t.fd_owner.resize(fd + 1, 0);
    t.fd_owner[fd] = id;
  }
  return id;
}

int32_t owner_of_fd(int fd) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  return fd >= 0 && static_cast<size_t>(fd) < t.fd_owner.size() ? t.fd_owner[fd] : 0;
}

void release_fds_locked(int32_t id, const int* fds, int count) {
  Table& t = table();
  for (int i = 0; i < count; i++) {
    int fd = fds[i];
    if (id > 0 && fd >= 0 && static_cast<size_t>(fd) < t.fd_owner.size() && t.fd_owner[fd] == id) {
      t.fd_owner[fd] = 0;
    }
  }
}

void remove(int32_t id) {
  Table& t = table();
  {
    std::lock_guard<std::mutex> lock(t.mu);
    if (find_locked(id) == nullptr) return;
    Slot& s = t.slots[slot_of(id)];
    s.blocker = nullptr;
    // A generation that wrapped would make an old id name a new blocker (a stale notify would
    // wake it), so a slot whose generations are used up is retired: after 65,536 x 32,767
    // blockers, add() reports ENOSPC.
    if (s.generation < kMaxGeneration) t.free.push_back(slot_of(id));
    signals::forget_locked(id);
  }
  // A handler that read the wake fd before forget_locked() cleared it may still be writing.
  signals::wait_for_handlers();
}

bool notify(int32_t id) {
  std::lock_guard<std::mutex> lock(mutex());
  IoBlocker* blocker = find_locked(id);
  if (blocker == nullptr) return false;
  // Under the lock: close() removes the blocker (taking this lock) before closing its fds.
  blocker->notify();
  return true;
}

}  // namespace registry
}  // namespace iob
