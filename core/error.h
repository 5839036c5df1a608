// Domain errors and Result<T>. Codes are stable: they map 1:1 onto the wire's Error.code and
// never change meaning once released (docs/protocol.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace parley {

enum class ErrorCode : uint16_t {
  kOk = 0,
  kBadRequest = 1,          // well-formed frame, but a request that makes no sense (wrong body)
  kMalformedFrame = 2,      // failed the FlatBuffers verifier or framing rules
  kFrameTooLarge = 3,       // declared length above --max_frame_bytes
  kUnsupportedVersion = 4,  // no protocol version in common
  kHelloRequired = 5,       // a request before Hello
  kUnauthenticated = 6,     // needs a signed-in session
  kInvalidCredentials = 7,  // login failed (never says whether the email exists)
  kForbidden = 8,
  kNotFound = 9,
  kAlreadyExists = 10,
  kInvalidArgument = 11,
  kLagged = 12,  // the session's outbound queue overflowed; resume with Sync
  kInternal = 13,
  kUnavailable = 14,  // shutting down or not ready
  kRateLimited = 15,  // too many requests; Error.retry_after_ms says when to try again
  kAccountLocked = 16,  // too many failed sign-ins; retry_after_ms says until when
  kOverloaded = 17,     // a connection limit or sign-in admission; retry after retry_after_ms
  kLimitExceeded = 18,  // a per-connection limit (subscriptions) that waiting does not lift
};

// Stable lower_snake name of a code, for logs and people ("not_found").
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // for people
  std::string details;  // machine-usable detail (a field name, a limit), may be empty
  uint32_t retry_after_ms = 0;  // kRateLimited, kAccountLocked, kOverloaded
};

inline Error MakeError(ErrorCode code, std::string message, std::string details = {}) {
  return Error{code, std::move(message), std::move(details), 0};
}

// Holds a T or an Error. No exceptions cross layer or thread boundaries; fallible calls return
// this.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation with no value.
struct Unit {};
using Status = Result<Unit>;
inline Status OkStatus() { return Unit{}; }

}  // namespace parley
