// Argument checks for the N-API glue: each either returns a checked C++ value or throws a
// TypeError (wrong type) or RangeError (right type, value out of range) naming the function.
#ifndef WAKELOOP_JS_ARGS_H_
#define WAKELOOP_JS_ARGS_H_

#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace iob {
namespace js {

[[noreturn]] inline void throw_type_error(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

[[noreturn]] inline void throw_range_error(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

// Where an error message comes from: "read: offset", or "writev: bufs[3]" with an index. The
// text is built only when an error is thrown: these checks run on every read and write.
struct Arg {
  const char* fn;
  const char* name;
  long index = -1;
  std::string what() const {
    std::string s = std::string(fn) + ": " + name;
    return index < 0 ? s : s + "[" + std::to_string(index) + "]";
  }
};

// A number for an error message, as JS would print it near enough: integers in full (2**53 is
// 9007199254740992, not the 9.0072e+15 that looked in range), others with the fewest digits
// that read back the same. Never casts an out-of-range double to an integer type.
inline std::string format_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";  // and -0
  char buf[32];
  if (d == std::trunc(d) && std::fabs(d) < 1e21) {
    snprintf(buf, sizeof buf, "%.0f", d);  // exact: every such double is an integer < 22 digits
    return buf;
  }
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

// A user's string for an error message: quoted, shortened, control characters escaped (a NUL
// must not cut or garble the message).
inline std::string quote(const std::string& s, size_t max = 40) {
  // Cut between UTF-8 characters, not inside one (continuation bytes are 10xxxxxx).
  while (max > 0 && max < s.size() && (static_cast<unsigned char>(s[max]) & 0xC0) == 0x80) max--;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < max; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > max ? "'..." : "'");
}

// The error paths of number() and integer(), kept out of line: the checks run several times per
// read and write, and inlining the message building made their stack frames large.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_not_number(Napi::Env env, Arg arg) {
  throw_type_error(env, arg.what() + " must be a number");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_bad_integer(Napi::Env env, Arg arg, double d,
                                                                     double min, double max) {
  if (std::isinf(d) || d != std::trunc(d)) throw_type_error(env, arg.what() + " must be an integer");
  throw_range_error(env, arg.what() + " must be between " + format_number(min) + " and " +
                             format_number(max) + ", got " + format_number(d));
}

// A JS number, not NaN. One N-API call; undefined and non-numbers are a TypeError.
inline double number(const Napi::CallbackInfo& info, size_t i, Arg arg) {
  double d;
  if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok || std::isnan(d)) {
    throw_not_number(info.Env(), arg);
  }
  return d;
}

// An integral JS number in [min, max]: a non-integer (or an infinity) is a TypeError, an
// integer out of range a RangeError.
inline double integer(const Napi::CallbackInfo& info, size_t i, Arg arg, double min, double max) {
  double d = number(info, i, arg);
  if (!(d >= min && d <= max && d == std::trunc(d))) throw_bad_integer(info.Env(), arg, d, min, max);
  return d;
}

inline int32_t int32(const Napi::CallbackInfo& info, size_t i, Arg arg) {
  return static_cast<int32_t>(integer(info, i, arg, INT32_MIN, INT32_MAX));
}

// A file descriptor: a non-negative int32.
inline int fd(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return static_cast<int>(integer(info, i, Arg{fn, "fd"}, 0, INT32_MAX));
}

inline bool boolean(const Napi::CallbackInfo& info, size_t i, Arg arg) {
  bool b;
  if (napi_get_value_bool(info.Env(), info[i], &b) != napi_ok) {
    throw_type_error(info.Env(), arg.what() + " must be a boolean");
  }
  return b;
}

inline std::string string(const Napi::CallbackInfo& info, size_t i, Arg arg) {
  if (!info[i].IsString()) throw_type_error(info.Env(), arg.what() + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// The bytes of a typed array of the given type (Buffer counts as a Uint8Array). A detached
// array is a TypeError: its length reads as 0, which would otherwise look like valid input.
struct Bytes {
  void* data;
  size_t length;  // in elements
};

// `type_name` comes with its article: "an Int32Array".
inline Bytes typed_array(Napi::Env env, napi_value value, napi_typedarray_type want, Arg arg,
                         const char* type_name) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != want) {
    throw_type_error(env, arg.what() + " must be " + type_name);
  }
  if (length == 0) {
    bool detached = false;
    napi_is_detached_arraybuffer(env, buffer, &detached);
    if (detached) throw_type_error(env, arg.what() + " is detached");
  }
  return Bytes{data, length};
}

inline Bytes uint8_array(const Napi::CallbackInfo& info, size_t i, Arg arg) {
  return typed_array(info.Env(), info[i], napi_uint8_array, arg, "a Uint8Array");
}

}  // namespace js
}  // namespace iob

#endif  // WAKELOOP_JS_ARGS_H_
