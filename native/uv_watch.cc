// libuv uv_poll_t on the blocker's epoll fd, so a blocker can run inside Node's event loop.
// Raw N-API here: C++ exceptions must not escape into libuv's callbacks.
#include "uv_watch.h"

namespace iob {

UvWatch* UvWatch::start(napi_env env, int fd, napi_value on_ready, bool keep_alive,
                        UvWatch** owner_slot, const char** error) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    *error = "cannot get the libuv loop";
    return nullptr;
  }
  UvWatch* w = new UvWatch();
  w->env_ = env;
  w->owner_slot_ = owner_slot;
  if (uv_poll_init(loop, &w->handle_, fd) != 0) {
    *error = "uv_poll_init failed";
    delete w;  // never initialized as a handle, so no uv_close
    return nullptr;
  }
  w->handle_.data = w;
  napi_value name;
  if (napi_create_reference(env, on_ready, 1, &w->on_ready_) != napi_ok ||
      napi_create_string_utf8(env, "wakeloop.IoBlocker", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, nullptr, name, &w->async_) != napi_ok ||
      napi_add_env_cleanup_hook(env, on_env_cleanup, w) != napi_ok ||
      uv_poll_start(&w->handle_, UV_READABLE, on_poll) != 0) {
    *error = "cannot start watching the poll fd";
    w->owner_slot_ = nullptr;
    w->stop();
    return nullptr;
  }
  w->ref(keep_alive);
  return w;
}

bool UvWatch::set_callback(napi_value on_ready) {
  napi_ref next;
  if (napi_create_reference(env_, on_ready, 1, &next) != napi_ok) return false;
  napi_delete_reference(env_, on_ready_);
  on_ready_ = next;
  return true;
}

void UvWatch::ref(bool keep_alive) {
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&handle_);
  if (keep_alive) uv_ref(h);
  else uv_unref(h);
}

void UvWatch::on_poll(uv_poll_t* handle, int /*status*/, int /*events*/) {
  // On an error status the callback still runs: the JS turn calls block(), which reports it.
  UvWatch* self = static_cast<UvWatch*>(handle->data);
  if (self->stopped_ || self->on_ready_ == nullptr) return;
  napi_env env = self->env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, self->on_ready_, &fn) == napi_ok && fn != nullptr &&
      napi_get_global(env, &recv) == napi_ok) {  // napi_make_callback wants an object
    // napi_make_callback enters a callback scope: process.nextTick and microtasks run when
    // it returns, as after any libuv callback in Node.
    napi_status status = napi_make_callback(env, self->async_, recv, fn, 0, nullptr, &result);
    if (status == napi_pending_exception) {
      // There is no JS caller to throw to: hand the error to process 'uncaughtException'.
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
  }
  // `self` may be stopped by now (onReady called detach() or close()); it is freed only in
  // the close callback, which libuv runs later, so touching it above was safe.
  napi_close_handle_scope(env, scope);
}

void UvWatch::release_js() {
  if (on_ready_ != nullptr) napi_delete_reference(env_, on_ready_);
  if (async_ != nullptr) napi_async_destroy(env_, async_);
  on_ready_ = nullptr;
  async_ = nullptr;
}

void UvWatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (owner_slot_ != nullptr) *owner_slot_ = nullptr;
  napi_remove_env_cleanup_hook(env_, on_env_cleanup, this);
  release_js();
  uv_poll_stop(&handle_);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_close);
}

// May run after the environment is gone: a worker's loop runs the last close callbacks while it
// shuts down, possibly after Node dlclosed the addon (binding.cc pins it for this). It touches
// only this object, whose memory (the handle's too) it frees itself, never the environment.
void UvWatch::on_close(uv_handle_t* handle) { delete static_cast<UvWatch*>(handle->data); }

void UvWatch::on_env_cleanup(void* arg) {
  // The environment is going away (a worker exiting, or the main thread at exit): close the
  // handle now, while the loop still runs close callbacks, or libuv would find an open
  // handle on a closed loop.
  static_cast<UvWatch*>(arg)->stop();
}

}  // namespace iob
