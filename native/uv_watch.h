// The attached mode: a libuv uv_poll_t that watches a blocker's poll fd from Node's own loop
// and calls back into JS when events are pending.
#ifndef WAKELOOP_UV_WATCH_H_
#define WAKELOOP_UV_WATCH_H_

#include <node_api.h>
#include <uv.h>

namespace iob {

// Owned through a pointer the owner keeps (`*owner_slot`); the watcher clears that pointer when
// it goes away by itself (environment teardown). Invariant: used on the JS thread only.
class UvWatch {
 public:
  // Starts watching `fd` for readability; on readiness calls `on_ready` with no arguments.
  // Returns nullptr and sets *error (a libuv/N-API failure text) if it cannot start.
  static UvWatch* start(napi_env env, int fd, napi_value on_ready, bool keep_alive,
                        UvWatch** owner_slot, const char** error);
  // Replaces the callback. false if N-API failed.
  bool set_callback(napi_value on_ready);
  // Whether the handle keeps the loop (and so the process) alive.
  void ref(bool keep_alive);
  // Stops watching and closes the handle; the memory is freed in the close callback.
  void stop();

 private:
  UvWatch() = default;
  ~UvWatch() = default;
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_close(uv_handle_t* handle);
  static void on_env_cleanup(void* arg);
  void release_js();

  uv_poll_t handle_;
  napi_env env_ = nullptr;
  napi_ref on_ready_ = nullptr;             // strong reference to the callback
  napi_async_context async_ = nullptr;      // the callback scope MakeCallback runs in
  UvWatch** owner_slot_ = nullptr;          // cleared when the watch stops
  bool stopped_ = false;
};

}  // namespace iob

#endif  // WAKELOOP_UV_WATCH_H_
