// getaddrinfo(3) on the process's helper threads (helper_pool.h). The result lives in a
// shared_ptr the queued job co-owns, and completion wakes the blocker by registry id, which is
// safe if the blocker (or the whole environment) is gone by then.
#include "lookup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "helper_pool.h"
#include "registry.h"

namespace iob {

struct LookupTable::Request {
  std::string host;
  int32_t registry_id;
  std::mutex mu;
  bool done = false;       // guarded by mu
  bool cancelled = false;  // guarded by mu
  LookupResult result;     // written by the helper thread before done is set
};

namespace {

const char* gai_error_name(int code) {
  switch (code) {
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SYSTEM: return "EAI_SYSTEM";
#ifdef EAI_NODATA
    case EAI_NODATA: return "EAI_NODATA";
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
#endif
    default: return "EAI_UNKNOWN";
  }
}

LookupResult resolve(const std::string& host) {
  LookupResult result;
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;        // both families, in the resolver's preferred order
  hints.ai_socktype = SOCK_STREAM;    // one entry per address instead of one per socktype
  struct addrinfo* found = nullptr;
  int code = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (code != 0) {
    result.error = gai_error_name(code);
    result.message = code == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(code);
    return result;
  }
  // Freed however this returns: the copies below may throw std::bad_alloc.
  std::unique_ptr<struct addrinfo, void (*)(struct addrinfo*)> list(found, freeaddrinfo);
  for (struct addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN];
    int family;
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<struct sockaddr_in*>(ai->ai_addr)->sin_addr, text,
                sizeof text);
      family = 4;
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<struct sockaddr_in6*>(ai->ai_addr)->sin6_addr, text,
                sizeof text);
      family = 6;
    } else {
      continue;
    }
    bool seen = false;
    for (const auto& e : result.addresses) seen = seen || (e.family == family && e.address == text);
    if (!seen) result.addresses.push_back({text, family});
  }
  return result;
}

// Runs on a helper thread, where an exception would end the process: running out of memory
// (the C++ code around getaddrinfo allocates) is reported as the lookup's own failure.
LookupResult resolve_or_report(const std::string& host) {
  try {
    return resolve(host);
  } catch (const std::bad_alloc&) {
    LookupResult failed;
    failed.error = "EAI_MEMORY";  // both short enough to need no allocation
    failed.message = "out of memory";
    return failed;
  }
}

void run(const std::shared_ptr<LookupTable::Request>& request) {
  LookupResult result = resolve_or_report(request->host);
  bool wake;
  {
    std::lock_guard<std::mutex> lock(request->mu);
    request->result = std::move(result);
    request->done = true;
    wake = !request->cancelled;
  }
  // The registry checks the generation: a blocker closed meanwhile is simply not found.
  if (wake) registry::notify(request->registry_id);
}

}  // namespace

LookupTable::~LookupTable() {
  for (auto& entry : requests_) forget(entry.second);
}

void LookupTable::forget(const Entry& entry) {
  {
    std::lock_guard<std::mutex> lock(entry.request->mu);
    entry.request->cancelled = true;
  }
  helper_pool::abandon(entry.ticket);
}

int32_t LookupTable::start(const std::string& host, int32_t registry_id) {
  auto request = std::make_shared<Request>();
  request->host = host;
  request->registry_id = registry_id;
  std::shared_ptr<helper_pool::Ticket> ticket;
  int32_t queued = helper_pool::submit([request] { run(request); }, &ticket);
  if (queued < 0) return queued;
  int32_t id = next_id_;
  next_id_ = next_id_ == INT32_MAX ? 1 : next_id_ + 1;
  requests_[id] = Entry{std::move(request), std::move(ticket)};
  return id;
}

LookupTable::Status LookupTable::take(int32_t request_id, LookupResult* out) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return Status::kUnknown;
  {
    std::lock_guard<std::mutex> lock(it->second.request->mu);
    if (!it->second.request->done) return Status::kPending;
    *out = std::move(it->second.request->result);
  }
  requests_.erase(it);
  return Status::kDone;
}

void LookupTable::cancel(int32_t request_id) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  forget(it->second);
  requests_.erase(it);
}

}  // namespace iob
