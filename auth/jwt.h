// HS256 JSON Web Tokens (RFC 7519) that parley issues and verifies itself: access tokens and
// other short-lived bearer tokens, told apart by the "use" claim. The key is parley's own secret;
// third-party tokens (OIDC) are verified by oidc.h instead.
//
// Token format: base64url({"alg":"HS256","typ":"JWT"}) "." base64url(payload) "." base64url(mac)
// with payload {"iss":..., "sub":"<decimal>", "sid":"<decimal>", "iat":<s>, "exp":<s>,
// "jti":..., "use":...} and mac = HMAC-SHA256(key, header "." payload).
//
// Thread contract: pure functions of their arguments, callable from any thread concurrently,
// cheap (one HMAC and a small JSON parse), never read a clock, never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/ids.h"

namespace parley::auth {

// Longest token VerifyHs256 looks at; longer input is rejected as "malformed" unparsed.
inline constexpr size_t kMaxHs256TokenBytes = 8 * 1024;

struct TokenClaims {
  std::string iss;
  uint64_t sub = 0;  // user id
  uint64_t sid = 0;  // session id
  int64_t iat = 0;   // NumericDate: seconds since the epoch
  int64_t exp = 0;   // NumericDate: seconds since the epoch
  std::string jti;
  std::string use = "access";
};

// The signed compact token for `claims`.
// REQUIRES: key is a secret of at least 32 random bytes (not checked here; an empty key still
// signs, and VerifyHs256 refuses it).
std::string SignHs256(std::string_view key, const TokenClaims& claims);

// Verifies `token` and returns its claims. Errors (all kUnauthenticated unless noted), by
// `details`:
//   "key"           kInvalidArgument: `key` is empty
//   "malformed"     too long, not three base64url segments, JSON that is not an object, claims
//                   of the wrong type (sub/sid must be non-zero decimal strings, iat/exp numbers)
//   "alg"           header "alg" is anything but exactly "HS256" (incl. "none", missing)
//   "signature"     the HMAC does not match; checked before any payload claim is read
//   "expired"       exp <= now (in seconds)
//   "not_yet_valid" iat > now + 60 s
//   "issuer"        iss != issuer
//   "use"           use != use
Result<TokenClaims> VerifyHs256(std::string_view key, std::string_view token, TimeMs now,
                                std::string_view issuer, std::string_view use);

}  // namespace parley::auth
