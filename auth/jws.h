// INTERNAL to parley_auth (includes nlohmann/json, a private dependency): do not include from
// public headers or from other libraries. Parsing shared by the HS256 (jwt.cc) and OIDC (oidc.cc)
// verifiers: splitting a compact JWS (RFC 7515 section 7.1) and reading its JSON parts.
//
// Thread contract: pure functions, callable from any thread. None throws: JSON errors become
// nullopt.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/ids.h"

namespace parley::auth::jws {

// Views into the token the parts were split from.
struct CompactParts {
  std::string_view header;         // base64url
  std::string_view payload;        // base64url
  std::string_view signature;      // base64url, may be empty
  std::string_view signing_input;  // "<header>.<payload>", what the signature covers
};

// Exactly three '.'-separated segments with non-empty header and payload; nullopt otherwise.
std::optional<CompactParts> Split(std::string_view token);

// base64url-decodes `segment` and parses it as a JSON object; nullopt if either step fails or the
// value is not an object.
std::optional<nlohmann::json> DecodeObject(std::string_view segment);

// The string member `name` of `object`, nullopt if absent or not a string.
std::optional<std::string_view> StringMember(const nlohmann::json& object, const char* name);

// A JWT NumericDate member (RFC 7519 section 2): a JSON number of seconds, fractions floored,
// clamped to the int64 range. nullopt if absent or not a finite number.
std::optional<int64_t> NumericDateMember(const nlohmann::json& object, const char* name);

// Whole seconds since the epoch containing `now` (floor, also for negative times).
int64_t FloorSeconds(TimeMs now);

}  // namespace parley::auth::jws
