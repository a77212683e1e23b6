// The N-API glue only: the IoBlocker class, the syscall functions, argument checks, and the
// one place where an errno becomes a JS Error. Per-environment state lives in the Addon
// instance (several worker threads load this addon at once).
#include <dlfcn.h>
#include <napi.h>
#include <signal.h>
#include <uv.h>

#include <climits>
#include <string>

#include "io_blocker.h"
#include "js_args.h"
#include "lookup.h"
#include "owned_fds.h"
#include "registry.h"
#include "signals.h"
#include "sys_net.h"
#include "uv_watch.h"

namespace iob {
namespace {

using Napi::CallbackInfo;

// An Error for a failed syscall, with Node's usual `code` ('EMFILE') and negative `errno`.
Napi::Error errno_error(Napi::Env env, int err, const std::string& context) {
  Napi::Error e = Napi::Error::New(env, context + ": " + net::strerror(-err));
  e.Set("code", uv_err_name(err));  // libuv error codes are -errno on Unix
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

Napi::Value number(Napi::Env env, double n) { return Napi::Number::New(env, n); }

// A byte count or -errno from read/write: always within int32, which V8 makes a small integer.
Napi::Value count(Napi::Env env, ssize_t n) {
  napi_value v;
  napi_create_int32(env, static_cast<int32_t>(n), &v);
  return Napi::Value(env, v);
}

// ---------------------------------------------------------------------------------------------
// IoBlocker

class BlockerWrap : public Napi::ObjectWrap<BlockerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IoBlocker",
                       {Accessor<&BlockerWrap::BackendName>("backend"),
                        Accessor<&BlockerWrap::PollFd>("pollFd"),
                        Accessor<&BlockerWrap::RegistryId>("registryId"),
                        Accessor<&BlockerWrap::WakeCount>("wakeCount"),
                        InstanceMethod<&BlockerWrap::Register>("register"),
                        InstanceMethod<&BlockerWrap::Modify>("modify"),
                        InstanceMethod<&BlockerWrap::Deregister>("deregister"),
                        InstanceMethod<&BlockerWrap::Block>("block"),
                        InstanceMethod<&BlockerWrap::Notify>("notify"),
                        InstanceMethod<&BlockerWrap::Close>("close"),
                        InstanceMethod<&BlockerWrap::Attach>("attach"),
                        InstanceMethod<&BlockerWrap::Detach>("detach"),
                        InstanceMethod<&BlockerWrap::Ref>("ref")});
  }

  explicit BlockerWrap(const CallbackInfo& info) : Napi::ObjectWrap<BlockerWrap>(info) {
    Napi::Env env = info.Env();
    events_array(env, info[0], {"IoBlocker", "events"});
    events_ = Napi::Persistent(info[0].As<Napi::Object>());
    std::string backend = native_backend_name();
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      if (!info[1].IsObject()) js::throw_type_error(env, "IoBlocker: options must be an object");
      Napi::Value b = info[1].As<Napi::Object>().Get("backend");
      if (!b.IsUndefined()) {
        if (!b.IsString()) js::throw_type_error(env, "IoBlocker: options.backend must be a string");
        backend = b.As<Napi::String>().Utf8Value();
        if (backend != "epoll" && backend != "poll") {
          js::throw_range_error(env, "IoBlocker: options.backend must be 'epoll' or 'poll', got " +
                                         js::quote(backend));
        }
      }
    }
    int err = core_.open(backend.c_str());
    if (err == -EINVAL) {
      throw Napi::Error::New(env, "IoBlocker: the " + backend + " backend is not available here");
    }
    if (err < 0) throw errno_error(env, err, "IoBlocker: cannot open the " + backend + " backend");
    backend_ = backend;
    registry_id_ = core_.registry_id();
    napi_type_tag_object(env, info.This(), &kTypeTag);  // for the accessors' receiver check
    // Not in the main thread (the default loop): nothing stops it while it is inside block(),
    // and signals reach our own handler.
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) == napi_ok && loop != nullptr && loop != uv_default_loop()) {
      core_.watch_loop(uv_backend_fd(loop), env_stopping, env);
    }
  }

  ~BlockerWrap() override { close(); }

 private:
  // Marks the objects this class constructed, told apart from anything else napi_unwrap takes.
  static constexpr napi_type_tag kTypeTag = {0x77616b656c6f6f70, 0x496f426c6f636b72};

  // A getter for the prototype. node-addon-api's InstanceAccessor unwraps the receiver first,
  // and a foreign one (`Object.getOwnPropertyDescriptor(proto, 'backend').get.call({})`: V8
  // checks receivers for methods, not for accessors) became a bare "Error: Invalid argument".
  template <Napi::Value (BlockerWrap::*Get)(const CallbackInfo&)>
  static Napi::ClassPropertyDescriptor<BlockerWrap> Accessor(const char* name) {
    return napi_property_descriptor{name,    nullptr, nullptr, Getter<Get>, nullptr,
                                    nullptr, napi_default, const_cast<char*>(name)};
  }
  template <Napi::Value (BlockerWrap::*Get)(const CallbackInfo&)>
  static napi_value Getter(napi_env env, napi_callback_info cb_info) {
    // A raw N-API callback: nothing may throw out of it.
    try {
      CallbackInfo info(env, cb_info);
      bool ours = false;
      void* self = nullptr;
      if (napi_check_object_type_tag(env, info.This(), &kTypeTag, &ours) != napi_ok || !ours ||
          napi_unwrap(env, info.This(), &self) != napi_ok) {
        js::throw_type_error(env, std::string("IoBlocker.") + static_cast<const char*>(info.Data()) +
                                      ": receiver is not an IoBlocker");
      }
      return (static_cast<BlockerWrap*>(self)->*Get)(info);
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
      return nullptr;
    }
  }

  // The [eventId, signals] array, checked again on every block(): user code may detach it.
  static js::Bytes events_array(Napi::Env env, napi_value value, js::Arg arg) {
    js::Bytes b = js::typed_array(env, value, napi_int32_array, arg, "an Int32Array");
    if (b.length < 2) {
      js::throw_range_error(env, arg.what() + " must have room for one [eventId, signals] pair " +
                                     "(length >= 2), got length " + std::to_string(b.length));
    }
    return b;
  }

  void ensure_open(Napi::Env env, const char* method) {
    if (core_.is_open()) return;
    Napi::Error e = Napi::Error::New(env, std::string("IoBlocker.") + method +
                                              "(): the blocker is closed");
    e.Set("code", "ERR_BLOCKER_CLOSED");
    throw e;
  }

  void close() {
    if (watch_ != nullptr) watch_->stop();  // clears watch_
    core_.close();
  }

  // Whether Node is stopping this thread (a worker being terminated): N-API then refuses every
  // call that may run JS, so a harmless one tells (NAPI_PREAMBLE checks can_call_into_js).
  static bool env_stopping(void* env_arg) {
    napi_env env = static_cast<napi_env>(env_arg);
    napi_value undefined, result;
    return napi_get_undefined(env, &undefined) != napi_ok ||
           napi_coerce_to_bool(env, undefined, &result) != napi_ok;
  }

  Napi::Value BackendName(const CallbackInfo& info) { return Napi::String::New(info.Env(), backend_); }
  Napi::Value PollFd(const CallbackInfo& info) { return number(info.Env(), core_.poll_fd()); }
  Napi::Value RegistryId(const CallbackInfo& info) { return number(info.Env(), registry_id_); }
  Napi::Value WakeCount(const CallbackInfo& info) { return number(info.Env(), core_.wake_count()); }

  // fd, eventId, interest: the checks register and modify share.
  struct Source {
    int fd;
    int32_t event_id;
    uint32_t interest;
  };
  Source source_args(const CallbackInfo& info, const char* fn) {
    ensure_open(info.Env(), fn);
    return Source{js::fd(info, 0, fn), js::int32(info, 1, {fn, "eventId"}),
                  static_cast<uint32_t>(js::integer(info, 2, {fn, "interest"}, 0, INTEREST_ALL))};
  }

  Napi::Value Register(const CallbackInfo& info) {
    Source s = source_args(info, "register");
    return number(info.Env(), core_.register_fd(s.fd, s.event_id, s.interest));
  }

  Napi::Value Modify(const CallbackInfo& info) {
    Source s = source_args(info, "modify");
    return number(info.Env(), core_.modify(s.fd, s.event_id, s.interest));
  }

  Napi::Value Deregister(const CallbackInfo& info) {
    ensure_open(info.Env(), "deregister");
    return number(info.Env(), core_.deregister(js::fd(info, 0, "deregister")));
  }

  Napi::Value Block(const CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_open(env, "block");
    double timeout_ms = js::number(info, 0, {"block", "timeoutMs"});
    // Re-read pointer and length now: nothing cached survives a detach or a GC.
    js::Bytes events = events_array(env, events_.Value(), {"block", "the events array"});
    size_t pairs = events.length / 2;
    int capacity = pairs > INT_MAX ? INT_MAX : static_cast<int>(pairs);
    return number(env, core_.block(timeout_ms, static_cast<Event*>(events.data), capacity));
  }

  void Notify(const CallbackInfo& info) {
    ensure_open(info.Env(), "notify");
    core_.notify();
  }

  void Close(const CallbackInfo&) { close(); }

  void Attach(const CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      js::throw_type_error(env, "IoBlocker.attach(): onReady must be a function");
    }
    ensure_open(env, "attach");
    if (core_.poll_fd() < 0) {
      throw Napi::Error::New(env, "IoBlocker.attach(): needs the epoll backend (this blocker uses '" +
                                      backend_ + "')");
    }
    if (watch_ != nullptr) {
      if (!watch_->set_callback(info[0])) {
        throw Napi::Error::New(env, "IoBlocker.attach(): N-API failed");
      }
      return;
    }
    const char* error = "";
    core_.pause_loop_watch(true);  // Node's loop is about to watch ours
    watch_ = UvWatch::start(env, core_.poll_fd(), info[0], keep_alive_, &watch_, &error);
    if (watch_ == nullptr) {
      core_.pause_loop_watch(false);
      throw Napi::Error::New(env, std::string("IoBlocker.attach(): ") + error);
    }
  }

  void Detach(const CallbackInfo&) {
    if (watch_ == nullptr) return;
    watch_->stop();  // uv_poll_stop takes our fd out of Node's epoll set at once
    core_.pause_loop_watch(false);
  }

  void Ref(const CallbackInfo& info) {
    ensure_open(info.Env(), "ref");
    keep_alive_ = js::boolean(info, 0, {"ref", "keepAlive"});
    if (watch_ != nullptr) watch_->ref(keep_alive_);
  }

  IoBlocker core_;
  Napi::ObjectReference events_;  // the Int32Array from the constructor
  std::string backend_;           // kept after close for the `backend` property
  int32_t registry_id_ = 0;       // kept after close: notifyBlocker(id) then returns false
  UvWatch* watch_ = nullptr;      // non-null while attached; UvWatch clears it when it stops
  bool keep_alive_ = true;        // ref() state, applied to the next attach too
};

// ---------------------------------------------------------------------------------------------
// The module: syscall shims, lookups, signals

// Keeps this shared object mapped until the process exits. Node dlcloses an addon when the last
// environment that loaded it goes away (a worker that alone loaded it, for instance), but code
// here can outlive every environment: getaddrinfo helper threads still running, the process-wide
// signal handler, and the uv_close callback of an attached blocker that the worker's loop runs
// after its environment is torn down. RTLD_NODELETE on an object already loaded (RTLD_NOLOAD)
// makes every later dlclose leave it in place (dlopen(3)). Best effort: if it fails, nothing
// changes.
void pin_shared_object() {
  static const bool pinned = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&pin_shared_object), &info) == 0 || info.dli_fname == nullptr) {
      return false;
    }
    return dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != nullptr;
  }();
  (void)pinned;
}

class Addon : public Napi::Addon<Addon> {
 public:
  ~Addon() { owned_fds::close_all(this); }

  Addon(Napi::Env env, Napi::Object exports) {
    pin_shared_object();
    DefineAddon(exports,
                {InstanceValue("IoBlocker", BlockerWrap::Define(env), napi_enumerable),
                 InstanceMethod<&Addon::NotifyBlocker>("notifyBlocker", napi_enumerable),
                 InstanceMethod<&Addon::Socket>("socket", napi_enumerable),
                 InstanceMethod<&Addon::Bind>("bind", napi_enumerable),
                 InstanceMethod<&Addon::Listen>("listen", napi_enumerable),
                 InstanceMethod<&Addon::Accept>("accept", napi_enumerable),
                 InstanceMethod<&Addon::Connect>("connect", napi_enumerable),
                 InstanceValue("read", Napi::Function::New<&Addon::Read>(env, "read"), napi_enumerable),
                 InstanceValue("write", Napi::Function::New<&Addon::Write>(env, "write"), napi_enumerable),
                 InstanceMethod<&Addon::Writev>("writev", napi_enumerable),
                 InstanceMethod<&Addon::Shutdown>("shutdown", napi_enumerable),
                 InstanceMethod<&Addon::Close>("close", napi_enumerable),
                 InstanceMethod<&Addon::SocketError>("socketError", napi_enumerable),
                 InstanceMethod<&Addon::SetNoDelay>("setNoDelay", napi_enumerable),
                 InstanceMethod<&Addon::SetResetOnClose>("setResetOnClose", napi_enumerable),
                 InstanceMethod<&Addon::SetReuseAddr>("setReuseAddr", napi_enumerable),
                 InstanceMethod<&Addon::SetReusePort>("setReusePort", napi_enumerable),
                 InstanceMethod<&Addon::SetNonBlocking>("setNonBlocking", napi_enumerable),
                 InstanceMethod<&Addon::LocalAddress>("localAddress", napi_enumerable),
                 InstanceMethod<&Addon::PeerAddress>("peerAddress", napi_enumerable),
                 InstanceMethod<&Addon::OpenReserveFd>("openReserveFd", napi_enumerable),
                 InstanceValue("somaxconn", number(env, net::somaxconn()), napi_enumerable),
                 InstanceMethod<&Addon::Strerror>("strerror", napi_enumerable),
                 InstanceMethod<&Addon::LookupStart>("lookupStart", napi_enumerable),
                 InstanceMethod<&Addon::LookupTake>("lookupTake", napi_enumerable),
                 InstanceMethod<&Addon::LookupCancel>("lookupCancel", napi_enumerable),
                 InstanceMethod<&Addon::SignalWatch>("signalWatch", napi_enumerable),
                 InstanceMethod<&Addon::SignalUnwatch>("signalUnwatch", napi_enumerable),
                 InstanceMethod<&Addon::SignalCount>("signalCount", napi_enumerable),
                 InstanceMethod<&Addon::SignalReinstall>("signalReinstall", napi_enumerable),
                 InstanceValue("signalMaxWatchers", number(env, signals::kMaxWatchers), napi_enumerable)});
  }

 private:
  // A new fd (or -errno) for JS, recorded as this environment's until closed through close().
  Napi::Value owned(Napi::Env env, int fd) {
    owned_fds::own(fd, this);
    return number(env, fd);
  }

  Napi::Value NotifyBlocker(const CallbackInfo& info) {
    double id = js::integer(info, 0, {"notifyBlocker", "registryId"}, -9007199254740991.0,
                            9007199254740991.0);
    bool ok = id > 0 && id <= INT32_MAX && registry::notify(static_cast<int32_t>(id));
    return Napi::Boolean::New(info.Env(), ok);
  }

  Napi::Value Socket(const CallbackInfo& info) {
    double family = js::integer(info, 0, {"socket", "family"}, INT32_MIN, INT32_MAX);
    if (family != 4 && family != 6) {
      js::throw_range_error(info.Env(), "socket: family must be 4 or 6, got " +
                                            js::format_number(family));
    }
    return owned(info.Env(), net::socket(static_cast<int>(family)));
  }

  // fd, address, port: the checks bind and connect share.
  struct Endpoint {
    int fd;
    std::string address;
    int port;
  };
  static Endpoint endpoint_args(const CallbackInfo& info, const char* fn) {
    return Endpoint{js::fd(info, 0, fn), js::string(info, 1, {fn, "address"}),
                    static_cast<int>(js::integer(info, 2, {fn, "port"}, 0, 65535))};
  }

  Napi::Value Bind(const CallbackInfo& info) {
    Endpoint e = endpoint_args(info, "bind");
    return number(info.Env(), net::bind(e.fd, e.address, e.port));
  }

  Napi::Value Connect(const CallbackInfo& info) {
    Endpoint e = endpoint_args(info, "connect");
    return number(info.Env(), net::connect(e.fd, e.address, e.port));
  }

  Napi::Value Listen(const CallbackInfo& info) {
    int fd = js::fd(info, 0, "listen");
    return number(info.Env(), net::listen(fd, js::int32(info, 1, {"listen", "backlog"})));
  }

  Napi::Value Accept(const CallbackInfo& info) {
    return owned(info.Env(), net::accept(js::fd(info, 0, "accept")));
  }

  // buf, offset, length: a checked byte range of a Uint8Array.
  static js::Bytes range_args(const CallbackInfo& info, const char* fn) {
    js::Bytes buf = js::uint8_array(info, 1, {fn, "buf"});
    double offset = js::integer(info, 2, {fn, "offset"}, 0, static_cast<double>(buf.length));
    double length =
        js::integer(info, 3, {fn, "length"}, 0, static_cast<double>(buf.length) - offset);
    return js::Bytes{static_cast<uint8_t*>(buf.data) + static_cast<size_t>(offset),
                     static_cast<size_t>(length)};
  }

  // read and write run once per message: plain functions (no instance lookup) returning an
  // int32 (the kernel moves at most INT32_MAX bytes per call).
  static Napi::Value Read(const CallbackInfo& info) {
    int fd = js::fd(info, 0, "read");
    js::Bytes b = range_args(info, "read");
    return count(info.Env(), net::read(fd, b.data, b.length));
  }

  static Napi::Value Write(const CallbackInfo& info) {
    int fd = js::fd(info, 0, "write");
    js::Bytes b = range_args(info, "write");
    return count(info.Env(), net::write(fd, b.data, b.length));
  }

  Napi::Value Writev(const CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = js::fd(info, 0, "writev");
    if (!info[1].IsArray()) js::throw_type_error(env, "writev: bufs must be an array");
    Napi::Array bufs = info[1].As<Napi::Array>();
    // More buffers than IOV_MAX: write the first IOV_MAX; a short count is normal anyway.
    uint32_t count = bufs.Length();
    if (count > static_cast<uint32_t>(net::max_iov())) count = net::max_iov();
    // Two passes: fetching an element can run JS (a getter, a Proxy) that detaches a buffer
    // fetched before it, so no data pointer is taken until every element is in hand.
    napi_value values[IOV_MAX];
    for (uint32_t i = 0; i < count; i++) values[i] = bufs.Get(i);
    struct iovec iov[IOV_MAX];
    for (uint32_t i = 0; i < count; i++) {
      js::Arg what{"writev", "bufs", static_cast<long>(i)};
      js::Bytes b = js::typed_array(env, values[i], napi_uint8_array, what, "a Uint8Array");
      iov[i].iov_base = b.data;
      iov[i].iov_len = b.length;
    }
    return number(env, static_cast<double>(net::writev(fd, iov, static_cast<int>(count))));
  }

  Napi::Value Shutdown(const CallbackInfo& info) {
    int fd = js::fd(info, 0, "shutdown");
    int how = static_cast<int>(js::integer(info, 1, {"shutdown", "how"}, 0, 2));
    return number(info.Env(), net::shutdown(fd, how));
  }

  Napi::Value Close(const CallbackInfo& info) {
    int fd = js::fd(info, 0, "close");
    if (registry::owner_of_fd(fd) != 0) {
      js::throw_range_error(info.Env(), "close: fd " + std::to_string(fd) +
                                            " belongs to an IoBlocker (close the blocker instead)");
    }
    return number(info.Env(), owned_fds::release_and_close(fd, net::close));
  }

  Napi::Value SocketError(const CallbackInfo& info) {
    return number(info.Env(), net::socket_error(js::fd(info, 0, "socketError")));
  }

  // fd, on: the shape of every boolean socket option.
  template <int (*Set)(int, bool)>
  static Napi::Value flag(const CallbackInfo& info, const char* fn) {
    int fd = js::fd(info, 0, fn);
    return number(info.Env(), Set(fd, js::boolean(info, 1, {fn, "on"})));
  }
  Napi::Value SetNoDelay(const CallbackInfo& i) { return flag<net::set_no_delay>(i, "setNoDelay"); }
  Napi::Value SetReuseAddr(const CallbackInfo& i) { return flag<net::set_reuse_addr>(i, "setReuseAddr"); }
  Napi::Value SetReusePort(const CallbackInfo& i) { return flag<net::set_reuse_port>(i, "setReusePort"); }
  Napi::Value SetResetOnClose(const CallbackInfo& i) {
    return flag<net::set_reset_on_close>(i, "setResetOnClose");
  }
  Napi::Value SetNonBlocking(const CallbackInfo& i) {
    return flag<net::set_non_blocking>(i, "setNonBlocking");
  }

  static Napi::Value address(Napi::Env env, int err, const net::Address& a) {
    if (err < 0) return number(env, err);
    Napi::Object o = Napi::Object::New(env);
    o.Set("address", a.address);
    o.Set("family", a.family);
    o.Set("port", a.port);
    return o;
  }
  Napi::Value LocalAddress(const CallbackInfo& info) {
    net::Address a;
    int err = net::local_address(js::fd(info, 0, "localAddress"), &a);
    return address(info.Env(), err, a);
  }
  Napi::Value PeerAddress(const CallbackInfo& info) {
    net::Address a;
    int err = net::peer_address(js::fd(info, 0, "peerAddress"), &a);
    return address(info.Env(), err, a);
  }

  Napi::Value OpenReserveFd(const CallbackInfo& info) { return owned(info.Env(), net::open_reserve_fd()); }

  Napi::Value Strerror(const CallbackInfo& info) {
    int32_t err = js::int32(info, 0, {"strerror", "errno"});
    // -errno is what every shim returns, so take either sign.
    return Napi::String::New(info.Env(), net::strerror(err == INT32_MIN ? 0 : (err < 0 ? -err : err)));
  }

  Napi::Value LookupStart(const CallbackInfo& info) {
    std::string host = js::string(info, 0, {"lookupStart", "host"});
    if (host.find('\0') != std::string::npos) {
      js::throw_type_error(info.Env(), "lookupStart: host must not contain NUL characters");
    }
    int32_t registry_id = js::int32(info, 1, {"lookupStart", "registryId"});
    return number(info.Env(), lookups_.start(host, registry_id));
  }

  Napi::Value LookupTake(const CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t id = js::int32(info, 0, {"lookupTake", "requestId"});
    LookupResult r;
    switch (lookups_.take(id, &r)) {
      case LookupTable::Status::kUnknown:
        js::throw_range_error(env, "lookupTake: no lookup request " + std::to_string(id) +
                                       " (never started, already taken or cancelled)");
      case LookupTable::Status::kPending:
        return env.Undefined();
      case LookupTable::Status::kDone:
        break;
    }
    Napi::Object result = Napi::Object::New(env);
    if (!r.error.empty()) {
      result.Set("error", r.error);
      result.Set("message", r.message);
    }
    Napi::Array list = Napi::Array::New(env, r.addresses.size());
    for (size_t i = 0; i < r.addresses.size(); i++) {
      Napi::Object a = Napi::Object::New(env);
      a.Set("address", r.addresses[i].address);
      a.Set("family", r.addresses[i].family);
      list.Set(static_cast<uint32_t>(i), a);
    }
    result.Set("addresses", list);
    return result;
  }

  void LookupCancel(const CallbackInfo& info) {
    lookups_.cancel(js::int32(info, 0, {"lookupCancel", "requestId"}));
  }

  static int signum_arg(const CallbackInfo& info, const char* fn) {
    return static_cast<int>(js::integer(info, 0, {fn, "signum"}, 1, NSIG - 1));
  }
  // An omitted `chain` leaves the setting as it is (what worker threads pass).
  static signals::Chain chain_arg(const CallbackInfo& info, size_t index, const char* fn) {
    if (info[index].IsUndefined()) return signals::kChainKeep;
    return js::boolean(info, index, {fn, "chain"}) ? signals::kChainOn : signals::kChainOff;
  }
  Napi::Value SignalWatch(const CallbackInfo& info) {
    int signum = signum_arg(info, "signalWatch");
    int32_t id = js::int32(info, 1, {"signalWatch", "registryId"});
    return number(info.Env(), signals::watch(signum, id, chain_arg(info, 2, "signalWatch")));
  }
  Napi::Value SignalUnwatch(const CallbackInfo& info) {
    int signum = signum_arg(info, "signalUnwatch");
    int32_t id = js::int32(info, 1, {"signalUnwatch", "registryId"});
    return number(info.Env(), signals::unwatch(signum, id));
  }
  Napi::Value SignalCount(const CallbackInfo& info) {
    return number(info.Env(), signals::count(signum_arg(info, "signalCount")));
  }
  Napi::Value SignalReinstall(const CallbackInfo& info) {
    int signum = signum_arg(info, "signalReinstall");
    return number(info.Env(), signals::reinstall(signum, chain_arg(info, 1, "signalReinstall")));
  }

  LookupTable lookups_;  // this environment's name lookups
};

}  // namespace
}  // namespace iob

using WakeloopAddon = iob::Addon;  // the macro pastes the name into an identifier
NODE_API_ADDON(WakeloopAddon)
