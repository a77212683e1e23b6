#include "helper_pool.h"

#include <errno.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

namespace iob {
namespace helper_pool {
namespace {

// An idle helper thread exits after this long, so a program that resolved a name once does
// not keep threads for good.
constexpr auto kIdleExit = std::chrono::seconds(10);

struct Pool {
  std::mutex mu;
  std::condition_variable queued;
  std::deque<std::function<void()>> jobs;  // guarded by mu
  int threads = 0;                         // guarded by mu
  int idle = 0;                            // threads waiting for a job; guarded by mu
};

// Never destroyed: detached helper threads may still use it while the process runs its exit
// handlers and static destructors.
Pool& pool() {
  static Pool* const instance = new Pool();
  return *instance;
}

void work() {
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.mu);
  for (;;) {
    p.idle++;
    bool got = p.queued.wait_for(lock, kIdleExit, [&p] { return !p.jobs.empty(); });
    p.idle--;
    if (!got) {
      p.threads--;
      return;
    }
    std::function<void()> job = std::move(p.jobs.front());
    p.jobs.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // whatever the job holds is released outside the lock
    lock.lock();
  }
}

}  // namespace

int32_t submit(std::function<void()> job) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  p.jobs.push_back(std::move(job));
  // Each idle thread takes one queued job once woken; start another only for jobs beyond those.
  if (static_cast<int>(p.jobs.size()) > p.idle && p.threads < kMaxThreads) {
    try {
      std::thread(work).detach();
      p.threads++;
    } catch (const std::system_error& e) {
      if (p.threads == 0) {
        p.jobs.pop_back();
        return e.code().value() > 0 ? -e.code().value() : -EAGAIN;
      }
      // The running threads take the job in turn.
    }
  }
  p.queued.notify_one();
  return 0;
}

}  // namespace helper_pool
}  // namespace iob
