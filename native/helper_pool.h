// A few helper threads, shared by the whole process, that run blocking jobs (getaddrinfo(3))
// in order of arrival, as libuv's threadpool does: a burst of lookups waits in a queue instead
// of starting a thread each. A job its owner gave up on stops counting against the limit, so
// lookups that hang in the resolver and were cancelled do not hold back the others. No N-API
// in here.
#ifndef WAKELOOP_HELPER_POOL_H_
#define WAKELOOP_HELPER_POOL_H_

#include <cstdint>
#include <functional>
#include <memory>

namespace iob {
namespace helper_pool {

// At most this many jobs run at once, not counting abandoned ones.
constexpr int kMaxRunning = 4;
// At most this many helper threads exist, abandoned jobs' included: past it, new jobs wait
// for a thread again.
constexpr int kMaxThreads = 32;

// A queued job, as its owner holds it.
struct Ticket;

// Queues `job` for a helper thread and sets `*ticket`. 0, or -errno when no helper thread
// exists and none could be started (the job is then not queued). Any thread may call it.
int32_t submit(std::function<void()> job, std::shared_ptr<Ticket>* ticket);

// Gives up on a job: one still queued is dropped without running; one running finishes, but
// no longer counts against kMaxRunning. Idempotent; any thread may call it.
void abandon(const std::shared_ptr<Ticket>& ticket);

}  // namespace helper_pool
}  // namespace iob

#endif  // WAKELOOP_HELPER_POOL_H_
