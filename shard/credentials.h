// Password hashing and session tokens: the seam the identity work replaces (scrypt on a worker
// pool, JWT access tokens). Today: an HMAC-SHA256-signed token
// "v1.<user_id>.<issued_ms>.<hex mac>" valid for 30 days,
// passwords as PBKDF2-HMAC-SHA256 (1,000 rounds). Pure functions of their inputs (the
// caller supplies salt, key and time); any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace parley::shard {

inline constexpr TimeMs kTokenLifetimeMs = TimeMs{30} * 24 * 3600 * 1000;
inline constexpr size_t kSaltBytes = 16;

// kSaltBytes of randomness from OpenSSL's CSPRNG.
std::string RandomSalt();
std::string HashPassword(std::string_view password, std::string_view salt);
bool PasswordMatches(std::string_view password, std::string_view salt, std::string_view hash);

std::string SignToken(std::string_view key, UserId user, TimeMs issued_at);
// The user a token names, if its MAC is valid and it has not expired at `now`.
std::optional<UserId> VerifyToken(std::string_view key, std::string_view token, TimeMs now);

}  // namespace parley::shard
