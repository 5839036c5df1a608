// TEST-ONLY helpers (library parley_auth_testing): generate signing keys, publish them as a JWKS
// and sign ID tokens the way an OpenID provider would, so that tests here and in other folders can
// exercise auth/oidc.h without a network. Never link this into a program. The names live in
// parley::auth itself: a nested `testing` namespace would shadow gtest's inside parley::auth.
//
// Thread contract: TestKey is immutable after construction and may be shared across threads;
// copies share the key. Key generation is slow (RSA-2048 takes ~50-200 ms): make keys once per
// test suite where you can. Failures inside OpenSSL call std::abort(): these helpers are for
// tests, where a crash is the clearest report.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::auth {

class TestKey {
 public:
  // A fresh RSA key pair. Jwks::Parse ignores moduli below 2048 bits, so smaller keys are only
  // useful for testing that rule.
  static TestKey Rsa(int bits = 2048);
  // A fresh P-256 key pair.
  static TestKey EcP256();

  bool is_rsa() const { return rsa_; }

  // The public key as a JWK object (JSON text): {"kty":"RSA","kid":..,"use":"sig","alg":"RS256",
  // "n":..,"e":..} or {"kty":"EC","kid":..,"use":"sig","alg":"ES256","crv":"P-256","x":..,"y":..}.
  std::string Jwk(std::string_view kid) const;

  // A compact JWS with header {"alg":alg,"kid":kid,"typ":"JWT"} over `payload_json` (used
  // verbatim). The signature is always this key's own algorithm (RS256 for RSA keys, ES256 as
  // raw 64-byte r || s for EC keys) whatever `alg` says, so tests can mislabel tokens.
  std::string SignJwt(std::string_view alg, std::string_view kid,
                      const std::string& payload_json) const;

 private:
  TestKey(std::shared_ptr<EVP_PKEY> key, bool rsa) : key_(std::move(key)), rsa_(rsa) {}

  std::shared_ptr<EVP_PKEY> key_;
  bool rsa_;
};

// {"keys":[<Jwk(kid)>...]} in the given order.
std::string JwksJson(const std::vector<std::pair<std::string /*kid*/, const TestKey*>>& keys);

// base64url(header_json) "." base64url(payload_json) "." signature_b64, both JSON texts used
// verbatim: for crafting "alg":"none", mislabelled and tampered tokens.
std::string UnsignedJwt(const std::string& header_json, const std::string& payload_json,
                        std::string_view signature_b64 = "");

}  // namespace parley::auth
