// Opaque bearer tokens that carry their own routing: "<prefix>_<a>_<b>_<secret>", e.g.
// "prl_12_345_<43 base64url chars>". `a` and `b` are non-zero decimal ids (say, a user and a
// session) that let any shard find the owner without a lookup table; the secret is 32 random
// bytes in base64url. Only HashSecret(secret) is stored, so a leaked table grants nothing.
// The secret's alphabet includes '_', so parsing takes the first three '_'-separated fields by
// position and leaves the rest to the secret.
//
// Thread contract: pure functions (NewOpaqueToken reads the CSPRNG), callable from any thread
// concurrently, cheap, never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

struct OpaqueToken {
  uint64_t a = 0, b = 0;
  std::string secret;  // base64url text, as it appears in the token
};

// A fresh token. Writes the secret part to *secret_out when it is not null.
// REQUIRES: prefix non-empty; a and b non-zero (ParseOpaqueToken refuses zero ids).
std::string NewOpaqueToken(std::string_view prefix, uint64_t a, uint64_t b,
                           std::string* secret_out);

// Strict parse: exactly `prefix` then '_', two canonical non-zero decimal uint64 ids (no sign,
// no leading zero) each followed by '_', then a secret of 20..128 base64url characters. nullopt
// for anything else.
std::optional<OpaqueToken> ParseOpaqueToken(std::string_view prefix, std::string_view token);

// What is stored for a token: Sha256(secret), 32 raw bytes. The secret already holds 256 random
// bits, so an unsalted fast hash is enough.
std::string HashSecret(std::string_view secret);

}  // namespace parley::auth
