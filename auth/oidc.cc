#include "auth/oidc.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "auth/encoding.h"
#include "auth/jws.h"

namespace parley::auth {
namespace {

using json = nlohmann::json;

template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BnPtr = std::unique_ptr<BIGNUM, FreeWith<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, FreeWith<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, FreeWith<OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, FreeWith<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, FreeWith<ECDSA_SIG_free>>;
using PkeyRef = std::shared_ptr<EVP_PKEY>;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // bounds the cost of one verification
constexpr size_t kP256CoordBytes = 32;
constexpr size_t kMaxJwksFileBytes = 1 << 20;
constexpr int64_t kMaxLeewayS = 86400;

// ---- JWKS ----

BnPtr BnFromBytes(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// Builds a public key of `type` ("RSA" or "EC") from the parameters pushed on `bld`.
PkeyRef PublicKeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyRef(pkey, EVP_PKEY_free);
}

PkeyRef RsaKey(std::string_view n_b64, std::string_view e_b64) {
  const auto n_bytes = Base64UrlDecode(n_b64);
  const auto e_bytes = Base64UrlDecode(e_b64);
  if (!n_bytes || !e_bytes || e_bytes->empty() || e_bytes->size() > 8) return nullptr;
  BnPtr n = BnFromBytes(*n_bytes);
  BnPtr e = BnFromBytes(*e_bytes);
  if (!n || !e || BN_num_bits(n.get()) < kMinRsaBits || BN_num_bits(n.get()) > kMaxRsaBits ||
      !BN_is_odd(e.get()) || BN_is_one(e.get())) {
    return nullptr;
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  return PublicKeyFromParams("RSA", bld.get());
}

PkeyRef EcP256Key(std::string_view x_b64, std::string_view y_b64) {
  const auto x = Base64UrlDecode(x_b64);
  const auto y = Base64UrlDecode(y_b64);
  if (!x || !y || x->size() != kP256CoordBytes || y->size() != kP256CoordBytes) return nullptr;
  const std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  static constexpr char kGroup[] = "prime256v1";
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  PkeyRef key = PublicKeyFromParams("EC", bld.get());
  if (!key) return nullptr;
  // Import already rejects points off the curve; the explicit check keeps that independent of
  // the provider's import path.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

bool MemberIsAbsentOr(const json& entry, const char* name, std::string_view expected) {
  if (!entry.contains(name)) return true;
  const auto value = jws::StringMember(entry, name);
  return value && *value == expected;
}

struct ParsedKey {
  std::string kid;
  Jwks::KeyType type;
  PkeyRef key;
};

std::optional<ParsedKey> ParseKey(const json& entry) {
  if (!entry.is_object()) return std::nullopt;
  const auto kid = jws::StringMember(entry, "kid");
  const auto kty = jws::StringMember(entry, "kty");
  if (!kid || !kty || !MemberIsAbsentOr(entry, "use", "sig")) return std::nullopt;
  const auto str = [&](const char* name) { return jws::StringMember(entry, name).value_or(""); };
  if (*kty == "RSA" && MemberIsAbsentOr(entry, "alg", "RS256")) {
    PkeyRef key = RsaKey(str("n"), str("e"));
    if (key) return ParsedKey{std::string(*kid), Jwks::KeyType::kRsa, std::move(key)};
  } else if (*kty == "EC" && str("crv") == "P-256" && MemberIsAbsentOr(entry, "alg", "ES256")) {
    PkeyRef key = EcP256Key(str("x"), str("y"));
    if (key) return ParsedKey{std::string(*kid), Jwks::KeyType::kEcP256, std::move(key)};
  }
  return std::nullopt;
}

Error BadJwks(std::string message, std::string details) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(details));
}

// ---- ID token ----

Error Unauthenticated(std::string message, std::string details) {
  return MakeError(ErrorCode::kUnauthenticated, std::move(message), std::move(details));
}

Error Malformed(std::string message) { return Unauthenticated(std::move(message), "malformed"); }

// JWS (RFC 7518 section 3.4) carries ECDSA signatures as raw r || s; OpenSSL verifies DER.
std::optional<std::string> RawEcdsaToDer(std::string_view raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BnPtr r = BnFromBytes(raw.substr(0, kP256CoordBytes));
  BnPtr s = BnFromBytes(raw.substr(kP256CoordBytes));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // now owned by sig
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

bool DigestVerify(EVP_PKEY* key, Jwks::KeyType type, std::string_view signature,
                  std::string_view signed_data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) {
    return false;
  }
  if (type == Jwks::KeyType::kRsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
             reinterpret_cast<const unsigned char*>(signed_data.data()), signed_data.size()) == 1;
}

Status CheckSignature(EVP_PKEY* key, Jwks::KeyType type, const jws::CompactParts& parts) {
  std::optional<std::string> signature = Base64UrlDecode(parts.signature);
  if (signature && type == Jwks::KeyType::kEcP256) {
    signature = signature->size() == 2 * kP256CoordBytes ? RawEcdsaToDer(*signature) : std::nullopt;
  }
  const bool ok = signature && DigestVerify(key, type, *signature, parts.signing_input);
  ERR_clear_error();  // failed verifications leave entries on this thread's error queue
  if (!ok) return Unauthenticated("ID token signature is invalid", "signature");
  return OkStatus();
}

// Checks alg and kid, then the signature. Returns nothing about the payload.
Status CheckHeaderAndSignature(const Jwks& jwks, const jws::CompactParts& parts) {
  const auto header = jws::DecodeObject(parts.header);
  if (!header) return Malformed("ID token header is not a base64url JSON object");
  const auto alg = jws::StringMember(*header, "alg");
  Jwks::KeyType type;
  if (alg && *alg == "RS256") {
    type = Jwks::KeyType::kRsa;
  } else if (alg && *alg == "ES256") {
    type = Jwks::KeyType::kEcP256;
  } else {
    return Unauthenticated("ID token alg must be RS256 or ES256", "alg");
  }
  const auto kid = jws::StringMember(*header, "kid");
  EVP_PKEY* key = kid ? jwks.Find(*kid, type) : nullptr;
  if (key == nullptr) return Unauthenticated("ID token kid names no known key", "kid");
  return CheckSignature(key, type, parts);
}

bool AudienceMatches(const json& payload, std::string_view audience) {
  const auto it = payload.find("aud");
  if (it == payload.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == audience;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const json& v) {
    return v.is_string() && v.get_ref<const std::string&>() == audience;
  });
}

Status CheckTimes(const json& payload, const OidcConfig& config, TimeMs now) {
  const int64_t leeway = std::clamp<int64_t>(config.leeway_s, 0, kMaxLeewayS);
  const int64_t now_s = jws::FloorSeconds(now);
  const auto exp = jws::NumericDateMember(payload, "exp");
  const auto iat = jws::NumericDateMember(payload, "iat");
  const auto nbf = jws::NumericDateMember(payload, "nbf");
  if (!exp) return Malformed("ID token exp must be a number");
  if ((!iat && payload.contains("iat")) || (!nbf && payload.contains("nbf"))) {
    return Malformed("ID token iat and nbf must be numbers");
  }
  if (*exp <= now_s - leeway) return Unauthenticated("ID token has expired", "expired");
  if ((iat && *iat > now_s + leeway) || (nbf && *nbf > now_s + leeway)) {
    return Unauthenticated("ID token is not valid yet", "not_yet_valid");
  }
  return OkStatus();
}

bool EmailVerified(const json& payload) {
  const auto it = payload.find("email_verified");
  if (it == payload.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  return it->is_string() && it->get_ref<const std::string&>() == "true";
}

Result<OidcIdentity> ReadIdentity(const json& payload, const OidcConfig& config,
                                  std::string_view nonce, TimeMs now) {
  const auto sub = jws::StringMember(payload, "sub");
  if (!sub || sub->empty()) return Malformed("ID token sub must be a non-empty string");
  if (jws::StringMember(payload, "iss") != std::optional<std::string_view>(config.issuer)) {
    return Unauthenticated("ID token issuer is not accepted", "issuer");
  }
  if (!AudienceMatches(payload, config.audience)) {
    return Unauthenticated("ID token is not meant for this client", "audience");
  }
  if (Status s = CheckTimes(payload, config, now); !s) return s.error();
  const auto claimed_nonce = jws::StringMember(payload, "nonce");
  if (!claimed_nonce || !ConstantTimeEquals(*claimed_nonce, nonce)) {
    return Unauthenticated("ID token nonce does not match", "nonce");
  }
  const auto email = jws::StringMember(payload, "email");
  if (!email || email->empty()) return Unauthenticated("ID token carries no email", "email");
  if (!EmailVerified(payload)) {
    return Unauthenticated("ID token email is not verified", "email_not_verified");
  }
  const auto name = jws::StringMember(payload, "name");
  return OidcIdentity{config.issuer, std::string(*sub), std::string(*email),
                      std::string(name.value_or("")), true};
}

Result<OidcIdentity> Verify(const Jwks& jwks, const OidcConfig& config, std::string_view id_token,
                            std::string_view nonce, TimeMs now) {
  if (id_token.size() > kMaxIdTokenBytes) return Malformed("ID token is too long");
  const auto parts = jws::Split(id_token);
  if (!parts) return Malformed("ID token is not three base64url segments");
  if (Status s = CheckHeaderAndSignature(jwks, *parts); !s) return s.error();
  const auto payload = jws::DecodeObject(parts->payload);
  if (!payload) return Malformed("ID token payload is not a base64url JSON object");
  return ReadIdentity(*payload, config, nonce, now);
}

}  // namespace

Result<Jwks> Jwks::Parse(std::string_view text) {
  try {
    const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
      return BadJwks("JWKS must be a JSON object with a \"keys\" array", "malformed");
    }
    Jwks jwks;
    for (const json& entry : doc["keys"]) {
      std::optional<ParsedKey> parsed = ParseKey(entry);
      if (!parsed) continue;
      jwks.keys_.emplace(std::make_pair(std::move(parsed->kid), parsed->type),
                         std::move(parsed->key));
    }
    ERR_clear_error();  // rejected keys leave entries on this thread's error queue
    if (jwks.keys_.empty()) return BadJwks("JWKS holds no usable RS256 or ES256 key", "keys");
    return jwks;
  } catch (const json::exception& e) {
    return BadJwks(std::string("JWKS JSON error: ") + e.what(), "malformed");
  }
}

Result<Jwks> Jwks::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return BadJwks("cannot open JWKS file " + path, "path");
  std::string text(kMaxJwksFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return BadJwks("cannot read JWKS file " + path, "path");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxJwksFileBytes) return BadJwks("JWKS file is too large: " + path, "path");
  return Parse(text);
}

EVP_PKEY* Jwks::Find(std::string_view kid, KeyType type) const {
  const auto it = keys_.find(std::make_pair(std::string(kid), type));
  return it == keys_.end() ? nullptr : it->second.get();
}

Result<OidcIdentity> VerifyIdToken(const Jwks& jwks, const OidcConfig& config,
                                   std::string_view id_token, std::string_view nonce, TimeMs now) {
  if (nonce.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "a non-empty nonce is required", "nonce");
  }
  if (config.issuer.empty() || config.audience.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "OIDC issuer and audience must be set", "config");
  }
  try {
    return Verify(jwks, config, id_token, nonce, now);
  } catch (const json::exception& e) {
    return Malformed(std::string("ID token JSON error: ") + e.what());
  }
}

std::optional<std::string> PeekEmail(std::string_view id_token) {
  if (id_token.size() > kMaxIdTokenBytes) return std::nullopt;
  const auto parts = jws::Split(id_token);
  if (!parts) return std::nullopt;
  try {
    const auto payload = jws::DecodeObject(parts->payload);
    if (!payload) return std::nullopt;
    const auto email = jws::StringMember(*payload, "email");
    if (!email) return std::nullopt;
    return std::string(*email);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace parley::auth
