// OpenID Connect sign-in: verification of ID tokens (OpenID Connect Core 1.0 section 3.1.3.7)
// signed by the identity provider with RS256 or ES256, against the provider's published keys
// (a JWKS, RFC 7517) that the operator stores in a file.
//
// Thread contract: a Jwks is immutable once built; one instance may be shared by any number of
// threads calling VerifyIdToken concurrently. Copies are cheap (keys are shared, reference
// counted). Jwks::Load reads a file (blocking I/O): call it at start-up or from a worker, not on a
// shard thread. VerifyIdToken does one RSA or ECDSA verification (tens of microseconds), never
// reads a clock and never throws.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "core/ids.h"

namespace parley::auth {

// Longest ID token VerifyIdToken and PeekEmail look at.
inline constexpr size_t kMaxIdTokenBytes = 16 * 1024;

// The provider's public signing keys, by "kid".
class Jwks {
 public:
  enum class KeyType { kRsa, kEcP256 };

  // Parses {"keys":[...]}. Uses RSA keys (kty "RSA", n, e; modulus of at least 2048 bits) and
  // EC keys (kty "EC", crv "P-256", x, y of 32 bytes each, a point on the curve) that have a
  // string "kid", and whose "use" (if present) is "sig" and "alg" (if present) is RS256 / ES256
  // respectively. Other entries are skipped; when two usable entries share a kid and a type, the
  // first wins. Errors (kInvalidArgument): "malformed" (not JSON, no "keys" array), "keys" (no
  // usable key).
  static Result<Jwks> Parse(std::string_view json);
  // Reads `path` (at most 1 MiB) and parses it. Errors as Parse, plus "path" if the file cannot
  // be read.
  static Result<Jwks> Load(const std::string& path);

  // Number of usable keys.
  size_t size() const { return keys_.size(); }

  // The key named `kid` of `type`, or null. The pointer lives as long as this Jwks (or a copy).
  // The key is shared: use it only for operations that do not modify it (verification).
  EVP_PKEY* Find(std::string_view kid, KeyType type) const;

 private:
  using KeyRef = std::shared_ptr<EVP_PKEY>;
  std::map<std::pair<std::string, KeyType>, KeyRef> keys_;
};

struct OidcConfig {
  std::string issuer;     // exact "iss" expected
  std::string audience;   // our client id, expected in "aud"
  int64_t leeway_s = 60;  // clock skew allowed on exp, iat and nbf; clamped to 0..86400
};

struct OidcIdentity {
  std::string issuer, subject, email, name;
  bool email_verified = false;
};

// Verifies `id_token` and returns who it names. All errors are kUnauthenticated except an empty
// `nonce` argument (kInvalidArgument, "nonce") and an empty config.issuer or config.audience
// (kInvalidArgument, "config"). `details`:
//   "malformed"          too long, not three segments, non-object JSON, missing/ill-typed sub,
//                        exp, iat or nbf
//   "alg"                header alg is not exactly RS256 or ES256 ("none", "HS256", ... refused)
//   "kid"                no key of the alg's type with the header's kid
//   "signature"          signature invalid (or, for ES256, not 64 bytes)
//   "issuer"             iss != config.issuer
//   "audience"           aud is neither config.audience nor an array containing it
//   "expired"            exp <= now - leeway (seconds)
//   "not_yet_valid"      iat or nbf > now + leeway
//   "nonce"              nonce claim missing or != `nonce`
//   "email"              no non-empty string email claim
//   "email_not_verified" email_verified is not true (bool true or the string "true")
// On success email_verified is always true; name may be empty.
Result<OidcIdentity> VerifyIdToken(const Jwks& jwks, const OidcConfig& config,
                                   std::string_view id_token, std::string_view nonce, TimeMs now);

// The "email" claim of `id_token` WITHOUT verifying anything: only for choosing the shard that
// will verify the token. nullopt if the token cannot be read or has no string email.
std::optional<std::string> PeekEmail(std::string_view id_token);

}  // namespace parley::auth
