// A few helper threads, shared by the whole process, that run blocking jobs (getaddrinfo(3))
// in order of arrival, as libuv's threadpool does: a burst of lookups waits in a queue instead
// of starting a thread each. No N-API in here.
#ifndef WAKELOOP_HELPER_POOL_H_
#define WAKELOOP_HELPER_POOL_H_

#include <cstdint>
#include <functional>

namespace iob {
namespace helper_pool {

// At most this many helper threads run at once; a thread idle for a while exits.
constexpr int kMaxThreads = 4;

// Queues `job` for a helper thread. 0, or -errno when no helper thread exists and none could
// be started (the job is then not queued). Any thread may call it.
int32_t submit(std::function<void()> job);

}  // namespace helper_pool
}  // namespace iob

#endif  // WAKELOOP_HELPER_POOL_H_
