#include "auth/jwt.h"

#include <nlohmann/json.hpp>

#include "auth/encoding.h"
#include "auth/jws.h"

namespace parley::auth {
namespace {

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr int64_t kIatSkewS = 60;

Error Unauthenticated(std::string message, std::string details) {
  return MakeError(ErrorCode::kUnauthenticated, std::move(message), std::move(details));
}

Error Malformed(std::string message) { return Unauthenticated(std::move(message), "malformed"); }

Status CheckHeader(std::string_view segment) {
  const auto header = jws::DecodeObject(segment);
  if (!header) return Malformed("token header is not a base64url JSON object");
  const auto alg = jws::StringMember(*header, "alg");
  if (!alg || *alg != "HS256") return Unauthenticated("token alg must be HS256", "alg");
  return OkStatus();
}

Status CheckSignature(std::string_view key, const jws::CompactParts& parts) {
  const auto signature = Base64UrlDecode(parts.signature);
  const std::string expected = HmacSha256(key, parts.signing_input);
  if (!signature || !ConstantTimeEquals(*signature, expected)) {
    return Unauthenticated("token signature does not match", "signature");
  }
  return OkStatus();
}

// The id in string member `name`, 0 (never a valid id) when absent or not a canonical decimal.
uint64_t IdMember(const nlohmann::json& payload, const char* name) {
  const auto text = jws::StringMember(payload, name);
  if (!text) return 0;
  return ParseDecimalU64(*text).value_or(0);
}

// Reads the claims' shapes only; the time, issuer and use rules are checked by the caller.
Result<TokenClaims> ReadClaims(const nlohmann::json& payload) {
  TokenClaims claims;
  const uint64_t sub_id = IdMember(payload, "sub");
  const uint64_t sid_id = IdMember(payload, "sid");
  if (sub_id == 0) return Malformed("token sub must be a non-zero decimal string");
  if (sid_id == 0) return Malformed("token sid must be a non-zero decimal string");
  const auto iat = jws::NumericDateMember(payload, "iat");
  const auto exp = jws::NumericDateMember(payload, "exp");
  if (!iat || !exp) return Malformed("token iat and exp must be numbers");
  const auto jti = jws::StringMember(payload, "jti");
  if (!jti && payload.contains("jti")) return Malformed("token jti must be a string");
  claims.sub = sub_id;
  claims.sid = sid_id;
  claims.iat = *iat;
  claims.exp = *exp;
  claims.iss = std::string(jws::StringMember(payload, "iss").value_or(""));
  claims.jti = std::string(jti.value_or(""));
  claims.use = std::string(jws::StringMember(payload, "use").value_or(""));
  return claims;
}

Status CheckRules(const TokenClaims& claims, const nlohmann::json& payload, TimeMs now,
                  std::string_view issuer, std::string_view use) {
  const int64_t now_s = jws::FloorSeconds(now);
  if (claims.exp <= now_s) return Unauthenticated("token has expired", "expired");
  if (claims.iat > now_s + kIatSkewS) {
    return Unauthenticated("token was issued in the future", "not_yet_valid");
  }
  if (!jws::StringMember(payload, "iss") || claims.iss != issuer) {
    return Unauthenticated("token issuer is not accepted", "issuer");
  }
  if (!jws::StringMember(payload, "use") || claims.use != use) {
    return Unauthenticated("token is not meant for this use", "use");
  }
  return OkStatus();
}

Result<TokenClaims> Verify(std::string_view key, std::string_view token, TimeMs now,
                           std::string_view issuer, std::string_view use) {
  if (token.size() > kMaxHs256TokenBytes) return Malformed("token is too long");
  const auto parts = jws::Split(token);
  if (!parts) return Malformed("token is not three base64url segments");
  if (Status s = CheckHeader(parts->header); !s) return s.error();
  if (Status s = CheckSignature(key, *parts); !s) return s.error();
  const auto payload = jws::DecodeObject(parts->payload);
  if (!payload) return Malformed("token payload is not a base64url JSON object");
  Result<TokenClaims> claims = ReadClaims(*payload);
  if (!claims) return claims;
  if (Status s = CheckRules(*claims, *payload, now, issuer, use); !s) return s.error();
  return claims;
}

}  // namespace

std::string SignHs256(std::string_view key, const TokenClaims& claims) {
  nlohmann::ordered_json payload;
  payload["iss"] = claims.iss;
  payload["sub"] = std::to_string(claims.sub);
  payload["sid"] = std::to_string(claims.sid);
  payload["iat"] = claims.iat;
  payload["exp"] = claims.exp;
  payload["jti"] = claims.jti;
  payload["use"] = claims.use;
  // `replace` makes dump() total: invalid UTF-8 in a claim becomes U+FFFD instead of throwing.
  const std::string json = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string token = Base64UrlEncode(kHeader) + "." + Base64UrlEncode(json);
  const std::string mac = HmacSha256(key, token);
  return token + "." + Base64UrlEncode(mac);
}

Result<TokenClaims> VerifyHs256(std::string_view key, std::string_view token, TimeMs now,
                                std::string_view issuer, std::string_view use) {
  if (key.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "HS256 verification key is empty", "key");
  }
  try {
    return Verify(key, token, now, issuer, use);
  } catch (const nlohmann::json::exception& e) {
    return Malformed(std::string("token JSON error: ") + e.what());
  }
}

}  // namespace parley::auth
