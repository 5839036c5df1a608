#include "auth/testing.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "auth/encoding.h"

namespace parley::auth {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr size_t kP256CoordBytes = 32;

void Check(bool ok) {
  if (!ok) std::abort();
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) {
  Check(key != nullptr);
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::string BnBytes(const BIGNUM* bn, int width) {
  std::string out(static_cast<size_t>(width > 0 ? width : BN_num_bytes(bn)), '\0');
  Check(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()),
                     static_cast<int>(out.size())) == static_cast<int>(out.size()));
  return out;
}

// Base64url of a BIGNUM parameter of `key`, big-endian, `width` bytes (0: minimal).
std::string BnParam(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  std::string bytes = BnBytes(bn, width);
  BN_free(bn);
  return Base64UrlEncode(bytes);
}

std::string Dump(const ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DerToRawEcdsa(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  Check(sig != nullptr);
  std::string raw = BnBytes(ECDSA_SIG_get0_r(sig), kP256CoordBytes) +
                    BnBytes(ECDSA_SIG_get0_s(sig), kP256CoordBytes);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string DigestSignSha256(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Check(ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = 0;
  Check(EVP_DigestSign(ctx, nullptr, &len, in, data.size()) == 1);
  std::string sig(len, '\0');
  Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) ==
        1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

}  // namespace

TestKey TestKey::Rsa(int bits) {
  return TestKey(Own(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits))),
                 /*rsa=*/true);
}

TestKey TestKey::EcP256() {
  return TestKey(Own(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), /*rsa=*/false);
}

std::string TestKey::Jwk(std::string_view kid) const {
  ordered_json jwk;
  if (rsa_) {
    jwk["kty"] = "RSA";
    jwk["kid"] = std::string(kid);
    jwk["use"] = "sig";
    jwk["alg"] = "RS256";
    jwk["n"] = BnParam(key_.get(), OSSL_PKEY_PARAM_RSA_N, 0);
    jwk["e"] = BnParam(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0);
  } else {
    jwk["kty"] = "EC";
    jwk["kid"] = std::string(kid);
    jwk["use"] = "sig";
    jwk["alg"] = "ES256";
    jwk["crv"] = "P-256";
    jwk["x"] = BnParam(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, kP256CoordBytes);
    jwk["y"] = BnParam(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, kP256CoordBytes);
  }
  return Dump(jwk);
}

std::string TestKey::SignJwt(std::string_view alg, std::string_view kid,
                             const std::string& payload_json) const {
  ordered_json header;
  header["alg"] = std::string(alg);
  header["kid"] = std::string(kid);
  header["typ"] = "JWT";
  const std::string signing_input =
      Base64UrlEncode(Dump(header)) + "." + Base64UrlEncode(payload_json);
  std::string sig = DigestSignSha256(key_.get(), signing_input);
  if (!rsa_) sig = DerToRawEcdsa(sig);
  return signing_input + "." + Base64UrlEncode(sig);
}

std::string JwksJson(const std::vector<std::pair<std::string, const TestKey*>>& keys) {
  std::string out = R"({"keys":[)";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ",";
    out += keys[i].second->Jwk(keys[i].first);
  }
  return out + "]}";
}

std::string UnsignedJwt(const std::string& header_json, const std::string& payload_json,
                        std::string_view signature_b64) {
  return Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json) + "." +
         std::string(signature_b64);
}

}  // namespace parley::auth
