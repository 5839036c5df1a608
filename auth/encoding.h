// Byte encodings and small crypto primitives shared by parley_auth: base64 / base64url / base32 /
// hex, random bytes, SHA-256, HMAC and constant-time comparison.
//
// Thread contract: every function is a pure function of its arguments (RandomBytes reads the
// OpenSSL CSPRNG, which is thread-safe) and may be called from any thread concurrently. None
// blocks on I/O; none throws. Decoders return nullopt on any invalid input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

// RFC 4648 section 5 (URL and filename safe alphabet), without '=' padding.
std::string Base64UrlEncode(std::string_view bytes);
// Accepts input with or without '=' padding (padded input must be a multiple of 4 long). Rejects
// characters outside the alphabet, impossible lengths and non-zero trailing bits, so every byte
// string has exactly one accepted encoding per padding style.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// RFC 4648 section 4 (standard alphabet), with '=' padding.
std::string Base64Encode(std::string_view bytes);
// Requires canonical padded input (length a multiple of 4, at most two '=' at the end).
std::optional<std::string> Base64Decode(std::string_view text);

// RFC 4648 section 6 alphabet (A-Z, 2-7), upper case, no padding. Used for TOTP secrets.
std::string Base32Encode(std::string_view bytes);
// Case-insensitive; ignores '=' and ' ' anywhere (people type secrets by hand). Rejects other
// characters and lengths that no byte string encodes to.
std::optional<std::string> Base32Decode(std::string_view text);

// Lower-case hex, two characters per byte.
std::string Hex(std::string_view bytes);

// `n` bytes from the OpenSSL CSPRNG. Calls std::abort() if the CSPRNG fails: there is no safe
// way to continue minting secrets without randomness.
std::string RandomBytes(size_t n);

// Raw 32-byte SHA-256 digest.
std::string Sha256(std::string_view data);

// Raw HMAC digests (32 and 20 bytes). An empty key is allowed (it is an all-zero HMAC key).
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSha1(std::string_view key, std::string_view data);

// Compares in time that depends only on the length. False when the lengths differ (the length
// itself is not treated as secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Canonical unsigned decimal: 1..20 ASCII digits, no sign, no leading zero (except "0" itself),
// no overflow. nullopt otherwise.
std::optional<uint64_t> ParseDecimalU64(std::string_view text);

}  // namespace parley::auth
