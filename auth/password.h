// Password hashing: scrypt (RFC 7914) with its cost parameters recorded in each hash, so costs can
// be raised later and old hashes upgraded at the next sign-in; plus verification of the legacy
// PBKDF2-HMAC-SHA256 hashes imported from the previous system. The password policy (length,
// banned passwords) lives in core, not here.
//
// Stored format (PHC-like, ASCII):
//   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>
// where salt (16 bytes) and hash (32 bytes) are standard base64 without '=' padding.
//
// Thread contract: every function may be called from any thread concurrently. HashPassword,
// VerifyPassword and the first DummyHash call for given params are deliberately slow (tens to
// hundreds of milliseconds and 128 * r * 2^ln bytes of memory at the defaults): never call them
// on a shard thread; run them on a worker pool. None throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::auth {

struct ScryptParams {
  uint8_t log2_n = 15;  // N = 2^log2_n
  uint32_t r = 8;
  uint32_t p = 1;
};

bool operator==(const ScryptParams& a, const ScryptParams& b);

// A new hash of `password` in the stored format above, with a fresh random salt.
// REQUIRES: params within the limits VerifyPassword accepts (log2_n 1..22, r 1..32, p 1..16) and
// 2^log2_n < 2^(16 * r) (scrypt's own limit). Calls std::abort() if scrypt fails, which only
// happens for parameters outside those limits or when memory runs out.
std::string HashPassword(std::string_view password, const ScryptParams& params);

enum class PasswordCheck {
  kMismatch,
  kMatch,
  kMatchNeedsRehash,  // correct password, but store HashPassword(password, current) now
};

// Checks `password` against `stored`:
//  - "$scrypt$..." hashes are recomputed with their recorded parameters (parameters outside
//    log2_n 1..22, r 1..32, p 1..16 give kMismatch) and compared in constant time;
//    kMatchNeedsRehash when the recorded parameters differ from `current`. The salt must be 1..64
//    bytes and the hash exactly 32 bytes.
//  - anything else is a legacy hash: 32 raw bytes of PBKDF2-HMAC-SHA256 with 1000 iterations
//    and `legacy_salt` (which must be non-empty); a match is always kMatchNeedsRehash.
// Unparsable or truncated input of any kind gives kMismatch.
PasswordCheck VerifyPassword(std::string_view password, std::string_view stored,
                             std::string_view legacy_salt, const ScryptParams& current);

// A valid hash (of a random password) with `params`, computed once per distinct params and then
// cached for the life of the process. Sign-in verifies against it when the email is unknown, so
// that the response time does not reveal which emails have accounts. The reference stays valid
// for the life of the process.
const std::string& DummyHash(const ScryptParams& params);

}  // namespace parley::auth
