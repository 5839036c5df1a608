#include "core/error.h"

namespace parley {

// These names appear in logs and docs/protocol.md: once released they never change.
std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kMalformedFrame:
      return "malformed_frame";
    case ErrorCode::kFrameTooLarge:
      return "frame_too_large";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::kHelloRequired:
      return "hello_required";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kInvalidCredentials:
      return "invalid_credentials";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kLagged:
      return "lagged";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kAccountLocked:
      return "account_locked";
    case ErrorCode::kOverloaded:
      return "overloaded";
    case ErrorCode::kLimitExceeded:
      return "limit_exceeded";
  }
  // A value outside the enum (e.g. decoded from a newer peer) still gets a printable name.
  return "unknown";
}

}  // namespace parley
