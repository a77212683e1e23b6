// Name resolution off the JS thread: getaddrinfo(3) on a helper thread, completion signalled
// by waking a blocker through the registry. No N-API in here.
#ifndef WAKELOOP_LOOKUP_H_
#define WAKELOOP_LOOKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "helper_pool.h"

namespace iob {

struct LookupResult {
  std::string error;    // the EAI_* name ("EAI_NONAME"), empty on success
  std::string message;  // gai_strerror(3) text, empty on success
  struct Entry {
    std::string address;
    int family;  // 4 or 6
  };
  std::vector<Entry> addresses;  // getaddrinfo order, SOCK_STREAM only, deduplicated
};

// The lookups started by one JS environment. Each request is shared with its queued job, so it
// outlives this table (and the environment) when a worker exits mid-lookup.
// Invariant: only the environment's JS thread calls the methods.
class LookupTable {
 public:
  enum class Status { kUnknown, kPending, kDone };

  LookupTable() = default;
  LookupTable(const LookupTable&) = delete;
  LookupTable& operator=(const LookupTable&) = delete;
  ~LookupTable();

  // Starts a lookup; wakes `registry_id` when done. A request id (> 0) or -errno.
  int32_t start(const std::string& host, int32_t registry_id);
  // kDone fills `out` and forgets the request; kPending while running; kUnknown otherwise.
  Status take(int32_t request_id, LookupResult* out);
  // Forgets a request: still queued, it is dropped; already running, its result is discarded,
  // nobody is woken, and its helper thread no longer counts against the pool's limit.
  void cancel(int32_t request_id);

  struct Request;

 private:
  struct Entry {
    std::shared_ptr<Request> request;
    std::shared_ptr<helper_pool::Ticket> ticket;
  };
  // Marks the request cancelled and abandons its job.
  static void forget(const Entry& entry);

  std::unordered_map<int32_t, Entry> requests_;
  int32_t next_id_ = 1;
};

}  // namespace iob

#endif  // WAKELOOP_LOOKUP_H_
