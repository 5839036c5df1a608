// The token parsers: parley's HS256 access tokens (auth/jwt.h) and OpenID Connect ID tokens
// (auth/oidc.h). The first input byte picks what the rest is:
//   0: a token as received, given to VerifyHs256, PeekEmail and VerifyIdToken;
//   1: "<header JSON>\n<payload JSON>", signed with the HS256 key, so that the claim checks
//      after the signature are reached;
//   2: a payload JSON, signed ES256 with the provider's key, for the ID-token claim checks.
// A token that verifies must hold what the verifiers promise.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/encoding.h"
#include "auth/jwt.h"
#include "auth/oidc.h"
#include "auth/testing.h"

namespace {

using namespace parley;

constexpr std::string_view kKey = "fuzzing-key-of-at-least-32-bytes!!";
constexpr std::string_view kIssuer = "parley";
constexpr TimeMs kNow = 1'700'000'000'000;

struct Provider {
  auth::TestKey key = auth::TestKey::EcP256();
  auth::Jwks jwks = *auth::Jwks::Parse(auth::JwksJson({{"ec1", &key}}));
  auth::OidcConfig config{"https://idp.example.com", "parley-client"};
};

const Provider& TheProvider() {
  static const Provider* provider = new Provider();
  return *provider;
}

void CheckHs256(std::string_view token) {
  Result<auth::TokenClaims> claims = auth::VerifyHs256(kKey, token, kNow, kIssuer, "access");
  if (!claims.ok()) return;
  if (claims->sub == 0 || claims->sid == 0 || claims->exp <= kNow / 1000 ||
      claims->iss != kIssuer || claims->use != "access") {
    abort();  // accepted a token its contract refuses
  }
}

void CheckIdToken(std::string_view token) {
  const Provider& p = TheProvider();
  Result<auth::OidcIdentity> who = auth::VerifyIdToken(p.jwks, p.config, token, "n0nce", kNow);
  if (!who.ok()) return;
  if (who->email.empty() || !who->email_verified || who->issuer != p.config.issuer ||
      who->subject.empty()) {
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckHs256(rest);
      (void)auth::PeekEmail(rest);
      CheckIdToken(rest);
      break;
    case 1: {
      size_t newline = rest.find('\n');
      if (newline == std::string_view::npos) return 0;
      std::string signing_input = auth::Base64UrlEncode(rest.substr(0, newline)) + "." +
                                  auth::Base64UrlEncode(rest.substr(newline + 1));
      CheckHs256(signing_input + "." +
                 auth::Base64UrlEncode(auth::HmacSha256(kKey, signing_input)));
      break;
    }
    case 2: {
      std::string token = TheProvider().key.SignJwt("ES256", "ec1", std::string(rest));
      (void)auth::PeekEmail(token);
      CheckIdToken(token);
      break;
    }
  }
  return 0;
}
