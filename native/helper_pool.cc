#include "helper_pool.h"

#include <errno.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

namespace iob {
namespace helper_pool {

struct Ticket {
  enum class State { kQueued, kRunning, kDone };
  std::function<void()> job;  // moved out when the job starts or is dropped
  State state = State::kQueued;
  bool abandoned = false;
};

namespace {

// An idle helper thread exits after this long, so a program that resolved a name once does
// not keep threads for good.
constexpr auto kIdleExit = std::chrono::seconds(10);

struct Pool {
  std::mutex mu;
  std::condition_variable queued;
  // Everything below is guarded by mu.
  std::deque<std::shared_ptr<Ticket>> jobs;
  int threads = 0;
  int idle = 0;              // threads waiting for a job
  int abandoned_running = 0; // threads running a job that was abandoned

  // Threads running a job somebody still waits for, or ready to take one.
  int counted() const { return threads - abandoned_running; }

  // Starts a thread if queued jobs outnumber the idle threads (each idle thread takes one once
  // woken) and the limits allow. False only if the start failed.
  bool start_if_needed();
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
    if (!got) break;
    std::shared_ptr<Ticket> ticket = std::move(p.jobs.front());
    p.jobs.pop_front();
    ticket->state = Ticket::State::kRunning;
    std::function<void()> job = std::move(ticket->job);
    lock.unlock();
    job();
    job = nullptr;  // whatever the job holds is released outside the lock
    lock.lock();
    ticket->state = Ticket::State::kDone;
    if (ticket->abandoned) {
      p.abandoned_running--;
      // While this job hung, another thread may have taken its place: one of the two goes.
      if (p.counted() > kMaxRunning) break;
    }
  }
  p.threads--;
}

bool Pool::start_if_needed() {
  if (static_cast<int>(jobs.size()) <= idle || counted() >= kMaxRunning || threads >= kMaxThreads) {
    return true;
  }
  try {
    std::thread(work).detach();
  } catch (const std::system_error&) {
    return false;
  }
  threads++;
  return true;
}

}  // namespace

int32_t submit(std::function<void()> job, std::shared_ptr<Ticket>* ticket) {
  auto queued = std::make_shared<Ticket>();
  queued->job = std::move(job);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  p.jobs.push_back(queued);
  if (!p.start_if_needed() && p.threads == 0) {
    p.jobs.pop_back();
    return -EAGAIN;  // the running threads would take it in turn; here there are none
  }
  p.queued.notify_one();
  *ticket = std::move(queued);
  return 0;
}

void abandon(const std::shared_ptr<Ticket>& ticket) {
  Pool& p = pool();
  std::function<void()> dropped;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(p.mu);
  if (ticket->abandoned || ticket->state == Ticket::State::kDone) return;
  ticket->abandoned = true;
  if (ticket->state == Ticket::State::kQueued) {
    p.jobs.erase(std::find(p.jobs.begin(), p.jobs.end(), ticket));
    ticket->state = Ticket::State::kDone;
    dropped = std::move(ticket->job);
    return;
  }
  p.abandoned_running++;
  p.start_if_needed();  // a queued job may take the running one's place
}

}  // namespace helper_pool
}  // namespace iob
