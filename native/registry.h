// The process-wide table of live blockers, so other threads (workers, the lookup helper
// threads) can wake a blocker by a registry id instead of an fd number that may be reused.
#ifndef WAKELOOP_REGISTRY_H_
#define WAKELOOP_REGISTRY_H_

#include <cstdint>
#include <mutex>

namespace iob {

class IoBlocker;

namespace registry {

// A registry id packs slot (low kSlotBits) and generation (the bits above, never 0), so it is
// a positive int32 and an id of a closed blocker never names the slot's next occupant.
constexpr int kSlotBits = 16;
constexpr uint32_t kMaxSlots = 1u << kSlotBits;

// Enters a blocker and claims its fds (see owner_of_fd); returns its id (> 0) or -ENOSPC when
// kMaxSlots blockers are open (or every slot's generations were used up: ids are never reused).
int32_t add(IoBlocker* blocker, const int* fds, int count);
// Removes a blocker. When it returns, no thread is inside notify() for it, no signal handler
// can write to its wake fd, and the signals it watched are unwatched.
void remove(int32_t id);
// Wakes the blocker with this id from any thread; false if it is gone.
bool notify(int32_t id);

// The id of the blocker that claimed `fd`, or 0. The sys close() refuses those fds: the blocker
// closes them itself later, when the number may be someone else's, and libuv aborts if the fd
// of an attached blocker vanishes under it.
int32_t owner_of_fd(int fd);
// Drops the claims `id` holds on `fds`. Call it while holding mutex() and closing them, so no
// thread sees one of them closed but claimed, or claimed by nobody while still open.
void release_fds_locked(int32_t id, const int* fds, int count);

// For signals.cc: the lock that guards the table (and the signal watch lists), and a lookup
// that must be called while holding it.
std::mutex& mutex();
IoBlocker* find_locked(int32_t id);

}  // namespace registry
}  // namespace iob

#endif  // WAKELOOP_REGISTRY_H_
