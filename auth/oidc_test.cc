#include "auth/oidc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/encoding.h"
#include "auth/testing.h"
#include "core/error_matchers.h"

namespace parley::auth {
namespace {

using testing_matchers::IsError;

using nlohmann::json;

constexpr char kIssuer[] = "https://accounts.example.com";
constexpr char kAudience[] = "parley-client-id";
constexpr char kNonce[] = "n-0S6_WzA2Mj";
constexpr int64_t kNowS = 1'700'000'000;
constexpr TimeMs kNow = kNowS * 1000 + 500;

::testing::AssertionResult Rejected(const Result<OidcIdentity>& r, std::string_view details) {
  return IsError(r, ErrorCode::kUnauthenticated, details);
}

json Claims() {
  return json{{"iss", kIssuer},
              {"aud", kAudience},
              {"sub", "10769150350006150715113082367"},
              {"email", "alice@example.com"},
              {"email_verified", true},
              {"name", "Alice Liddell"},
              {"nonce", kNonce},
              {"iat", kNowS},
              {"exp", kNowS + 3600}};
}

// Keys are generated once: RSA generation is slow.
class OidcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new TestKey(TestKey::Rsa());
    rsa_other_ = new TestKey(TestKey::Rsa());
    ec_ = new TestKey(TestKey::EcP256());
    ec_other_ = new TestKey(TestKey::EcP256());
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete rsa_other_;
    delete ec_;
    delete ec_other_;
  }

  void SetUp() override {
    auto jwks = Jwks::Parse(JwksJson({{"rsa1", rsa_}, {"ec1", ec_}}));
    ASSERT_TRUE(jwks.ok()) << jwks.error().message;
    jwks_ = std::move(jwks.value());
    config_.issuer = kIssuer;
    config_.audience = kAudience;
  }

  Result<OidcIdentity> Verify(std::string_view token, std::string_view nonce = kNonce,
                              TimeMs now = kNow) const {
    return VerifyIdToken(*jwks_, config_, token, nonce, now);
  }

  static std::string Rs256(const json& claims) {
    return rsa_->SignJwt("RS256", "rsa1", claims.dump());
  }
  static std::string Es256(const json& claims) {
    return ec_->SignJwt("ES256", "ec1", claims.dump());
  }

  static TestKey* rsa_;
  static TestKey* rsa_other_;
  static TestKey* ec_;
  static TestKey* ec_other_;
  std::optional<Jwks> jwks_;
  OidcConfig config_;
};

TestKey* OidcTest::rsa_ = nullptr;
TestKey* OidcTest::rsa_other_ = nullptr;
TestKey* OidcTest::ec_ = nullptr;
TestKey* OidcTest::ec_other_ = nullptr;

std::string Segment(const std::string& token, int i) {
  size_t begin = 0;
  for (int k = 0; k < i; ++k) begin = token.find('.', begin) + 1;
  return token.substr(begin, token.find('.', begin) - begin);
}

std::string WithSignature(const std::string& token, std::string_view signature_bytes) {
  return token.substr(0, token.rfind('.') + 1) + Base64UrlEncode(signature_bytes);
}

TEST_F(OidcTest, Rs256Valid) {
  EXPECT_EQ(jwks_->size(), 2u);
  const auto id = Verify(Rs256(Claims()));
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->issuer, kIssuer);
  EXPECT_EQ(id->subject, "10769150350006150715113082367");
  EXPECT_EQ(id->email, "alice@example.com");
  EXPECT_EQ(id->name, "Alice Liddell");
  EXPECT_TRUE(id->email_verified);
}

TEST_F(OidcTest, Es256Valid) {
  const std::string token = Es256(Claims());
  EXPECT_EQ(Base64UrlDecode(Segment(token, 2))->size(), 64u);
  const auto id = Verify(token);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->email, "alice@example.com");
}

TEST_F(OidcTest, OptionalClaims) {
  json c = Claims();
  c.erase("name");
  c.erase("iat");
  c["aud"] = json::array({"other-client", kAudience});
  c["email_verified"] = "true";                  // some providers send a string
  c["exp"] = static_cast<double>(kNowS) + 30.5;  // NumericDate may be fractional
  const auto id = Verify(Rs256(c));
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->name, "");
}

TEST_F(OidcTest, WrongKeyUnderTheSameKid) {
  auto rsa_swapped = Jwks::Parse(JwksJson({{"rsa1", rsa_other_}, {"ec1", ec_other_}}));
  ASSERT_TRUE(rsa_swapped.ok());
  jwks_ = std::move(rsa_swapped.value());
  EXPECT_TRUE(Rejected(Verify(Rs256(Claims())), "signature"));
  EXPECT_TRUE(Rejected(Verify(Es256(Claims())), "signature"));
}

TEST_F(OidcTest, UnknownOrMismatchedKid) {
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("RS256", "rsa2", Claims().dump())), "kid"));
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("RS256", "", Claims().dump())), "kid"));
  // "ec1" exists, but not as an RSA key (and "rsa1" is not an EC key).
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("RS256", "ec1", Claims().dump())), "kid"));
  EXPECT_TRUE(Rejected(Verify(ec_->SignJwt("ES256", "rsa1", Claims().dump())), "kid"));
  // An EC signature labelled RS256 looks up an RSA key named "ec1": there is none.
  EXPECT_TRUE(Rejected(Verify(ec_->SignJwt("RS256", "ec1", Claims().dump())), "kid"));
  // No kid at all.
  const std::string token = Rs256(Claims());
  const std::string no_kid =
      UnsignedJwt(R"({"alg":"RS256","typ":"JWT"})", Claims().dump(), Segment(token, 2));
  EXPECT_TRUE(Rejected(Verify(no_kid), "kid"));
}

TEST_F(OidcTest, Expiry) {
  json c = Claims();
  c["exp"] = kNowS - 59;  // within the 60 s leeway
  EXPECT_TRUE(Verify(Rs256(c)).ok());
  c["exp"] = kNowS - 60;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "expired"));
  c["exp"] = kNowS - 86400;
  EXPECT_TRUE(Rejected(Verify(Es256(c)), "expired"));
  config_.leeway_s = 0;
  c["exp"] = kNowS + 1;
  EXPECT_TRUE(Verify(Rs256(c)).ok());
  c["exp"] = kNowS;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "expired"));
}

TEST_F(OidcTest, NotYetValid) {
  json c = Claims();
  c["iat"] = kNowS + 60;
  EXPECT_TRUE(Verify(Rs256(c)).ok());
  c["iat"] = kNowS + 61;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "not_yet_valid"));
  c = Claims();
  c["nbf"] = kNowS + 61;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "not_yet_valid"));
}

TEST_F(OidcTest, WrongAudience) {
  json c = Claims();
  c["aud"] = "someone-else";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "audience"));
  c["aud"] = json::array({"someone-else", "another"});
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "audience"));
  c["aud"] = json::array();
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "audience"));
  c["aud"] = json::array({json::array({kAudience})});
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "audience"));
  c["aud"] = 5;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "audience"));
  c.erase("aud");
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "audience"));
}

TEST_F(OidcTest, WrongIssuer) {
  json c = Claims();
  c["iss"] = "https://evil.example.com";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "issuer"));
  c["iss"] = std::string(kIssuer) + "/";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "issuer"));
  c.erase("iss");
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "issuer"));
}

TEST_F(OidcTest, Nonce) {
  const std::string token = Rs256(Claims());
  EXPECT_TRUE(Rejected(Verify(token, "another-nonce"), "nonce"));
  EXPECT_TRUE(IsError(Verify(token, ""), ErrorCode::kInvalidArgument, "nonce"));
  json c = Claims();
  c.erase("nonce");
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "nonce"));
  c["nonce"] = "";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "nonce"));
}

TEST_F(OidcTest, EmailMustBeVerified) {
  json c = Claims();
  c["email_verified"] = false;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "email_not_verified"));
  c["email_verified"] = "false";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "email_not_verified"));
  c["email_verified"] = 1;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "email_not_verified"));
  c.erase("email_verified");
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "email_not_verified"));
  c = Claims();
  c.erase("email");
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "email"));
  c["email"] = "";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "email"));
}

TEST_F(OidcTest, AlgNoneIsRefused) {
  const std::string payload = Claims().dump();
  EXPECT_TRUE(Rejected(Verify(UnsignedJwt(R"({"alg":"none","kid":"rsa1"})", payload)), "alg"));
  const std::string token = Rs256(Claims());
  EXPECT_TRUE(Rejected(
      Verify(UnsignedJwt(R"({"alg":"none","kid":"rsa1"})", payload, Segment(token, 2))), "alg"));
  EXPECT_TRUE(Rejected(Verify(UnsignedJwt(R"({"kid":"rsa1"})", payload, "c2ln")), "alg"));
}

TEST_F(OidcTest, Hs256KeyConfusionIsRefused) {
  // The classic attack: MAC the token with the public key material as an HMAC secret.
  const json jwk = json::parse(rsa_->Jwk("rsa1"));
  const std::string modulus = *Base64UrlDecode(jwk["n"].get<std::string>());
  const std::string header = R"({"alg":"HS256","kid":"rsa1","typ":"JWT"})";
  const std::string payload = Claims().dump();
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  for (const std::string& secret : {modulus, rsa_->Jwk("rsa1"), Base64UrlEncode(modulus)}) {
    const std::string forged =
        UnsignedJwt(header, payload, Base64UrlEncode(HmacSha256(secret, input)));
    EXPECT_TRUE(Rejected(Verify(forged), "alg"));
  }
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("HS256", "rsa1", payload)), "alg"));
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("RS512", "rsa1", payload)), "alg"));
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("PS256", "rsa1", payload)), "alg"));
}

TEST_F(OidcTest, Es256SignatureLength) {
  const std::string token = Es256(Claims());
  const std::string raw = *Base64UrlDecode(Segment(token, 2));
  EXPECT_TRUE(Rejected(Verify(WithSignature(token, raw.substr(0, 63))), "signature"));
  EXPECT_TRUE(Rejected(Verify(WithSignature(token, raw + '\0')), "signature"));
  EXPECT_TRUE(Rejected(Verify(WithSignature(token, "")), "signature"));
  EXPECT_TRUE(Rejected(Verify(WithSignature(token, std::string(64, '\0'))), "signature"));
  EXPECT_TRUE(Rejected(Verify(WithSignature(token, std::string(64, '\xff'))), "signature"));
  // A DER signature (what OpenSSL emits) is not the JWS encoding.
  std::string der = "\x30\x44\x02\x20" + raw.substr(0, 32) + "\x02\x20" + raw.substr(32);
  EXPECT_TRUE(Rejected(Verify(WithSignature(token, der)), "signature"));
  // Swapping r and s breaks it too.
  EXPECT_TRUE(
      Rejected(Verify(WithSignature(token, raw.substr(32) + raw.substr(0, 32))), "signature"));
}

TEST_F(OidcTest, TamperedTokens) {
  for (const std::string& token : {Rs256(Claims()), Es256(Claims())}) {
    json forged = Claims();
    forged["email"] = "mallory@example.com";
    const std::string tampered =
        Segment(token, 0) + "." + Base64UrlEncode(forged.dump()) + "." + Segment(token, 2);
    EXPECT_TRUE(Rejected(Verify(tampered), "signature"));
    std::string flipped = token;
    flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(Rejected(Verify(flipped), "signature"));
    EXPECT_TRUE(Rejected(Verify(token.substr(0, token.rfind('.') + 1) + "!!"), "signature"));
  }
}

TEST_F(OidcTest, MalformedTokens) {
  const std::string good = Rs256(Claims());
  for (const std::string& bad :
       {std::string(), std::string("x"), std::string("a.b"), good + ".x",
        std::string(kMaxIdTokenBytes + 1, 'a'), UnsignedJwt("nope", "{}", "c2ln"),
        UnsignedJwt("[]", "{}", "c2ln")}) {
    EXPECT_TRUE(Rejected(Verify(bad), "malformed")) << bad.substr(0, 80);
  }
  json c = Claims();
  c["exp"] = "tomorrow";
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "malformed"));
  c = Claims();
  c.erase("exp");
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "malformed"));
  c = Claims();
  c["iat"] = nullptr;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "malformed"));
  c = Claims();
  c["sub"] = 12345;
  EXPECT_TRUE(Rejected(Verify(Rs256(c)), "malformed"));
  EXPECT_TRUE(Rejected(Verify(rsa_->SignJwt("RS256", "rsa1", "[1]")), "malformed"));
  EXPECT_TRUE(
      Rejected(Verify(rsa_->SignJwt("RS256", "rsa1", "{\"email\":\"\xff\"}")), "malformed"));
}

TEST_F(OidcTest, ConfigMustNameIssuerAndAudience) {
  config_.audience.clear();
  EXPECT_TRUE(IsError(Verify(Rs256(Claims())), ErrorCode::kInvalidArgument, "config"));
}

TEST_F(OidcTest, JwksCopiesShareKeys) {
  std::optional<Jwks> copy = *jwks_;
  jwks_.reset();
  EXPECT_TRUE(VerifyIdToken(*copy, config_, Rs256(Claims()), kNonce, kNow).ok());
  EXPECT_TRUE(VerifyIdToken(*copy, config_, Es256(Claims()), kNonce, kNow).ok());
}

TEST_F(OidcTest, ConcurrentVerification) {
  const std::string rs = Rs256(Claims());
  const std::string es = Es256(Claims());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        ok += Verify(rs).ok() ? 1 : 0;
        ok += Verify(es).ok() ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
}

TEST_F(OidcTest, PeekEmailReadsWithoutVerifying) {
  EXPECT_EQ(PeekEmail(Rs256(Claims())), "alice@example.com");
  json c = Claims();
  c["email"] = "bob@example.com";
  EXPECT_EQ(PeekEmail(UnsignedJwt(R"({"alg":"none"})", c.dump())), "bob@example.com");
  c.erase("email");
  EXPECT_EQ(PeekEmail(Rs256(c)), std::nullopt);
  c["email"] = 5;
  EXPECT_EQ(PeekEmail(Rs256(c)), std::nullopt);
  for (const std::string& bad : {std::string(), std::string("a.b"), std::string("a.b.c.d"),
                                 UnsignedJwt("{}", "not json"), UnsignedJwt("{}", "[]")}) {
    EXPECT_EQ(PeekEmail(bad), std::nullopt) << bad;
  }
}

// ---- Jwks ----

TEST(JwksTest, BadJson) {
  for (const char* text : {"", "{", "[]", "null", R"({"keys":{}})", R"({"keys":"x"})", R"({})",
                           "{\"keys\":[\"\xff\"]}"}) {
    EXPECT_TRUE(IsError(Jwks::Parse(text), ErrorCode::kInvalidArgument, "malformed")) << text;
  }
}

TEST(JwksTest, NoUsableKeys) {
  const TestKey rsa = TestKey::Rsa();
  const TestKey ec = TestKey::EcP256();
  json rsa_jwk = json::parse(rsa.Jwk("r"));
  json ec_jwk = json::parse(ec.Jwk("e"));
  auto with = [](json jwk, const char* key, json value) {
    if (value.is_null()) {
      jwk.erase(key);
    } else {
      jwk[key] = std::move(value);
    }
    return jwk;
  };
  std::string y = *Base64UrlDecode(ec_jwk["y"].get<std::string>());
  y[31] ^= 1;  // no longer on the curve
  const json unusable = json::array({
      42,
      "key",
      json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"kid", "o"}, {"x", "11qYAYKxCrfVS_7TyWQHOg"}},
      json{{"kty", "oct"}, {"kid", "s"}, {"k", "c2VjcmV0"}},
      with(rsa_jwk, "kid", nullptr),
      with(rsa_jwk, "kid", 7),
      with(rsa_jwk, "use", "enc"),
      with(rsa_jwk, "alg", "RS512"),
      with(rsa_jwk, "n", "not base64!"),
      with(rsa_jwk, "e", ""),
      with(rsa_jwk, "e", nullptr),
      with(ec_jwk, "crv", "P-384"),
      with(ec_jwk, "alg", "ES384"),
      with(ec_jwk, "x", "AAAA"),
      with(ec_jwk, "y", Base64UrlEncode(y)),
      with(ec_jwk, "y", nullptr),
      json::parse(TestKey::Rsa(1024).Jwk("small")),
  });
  EXPECT_TRUE(
      IsError(Jwks::Parse(json{{"keys", unusable}}.dump()), ErrorCode::kInvalidArgument, "keys"));
  EXPECT_TRUE(IsError(Jwks::Parse(R"({"keys":[]})"), ErrorCode::kInvalidArgument, "keys"));

  json mixed = unusable;
  mixed.push_back(rsa_jwk);
  mixed.push_back(ec_jwk);
  const auto jwks = Jwks::Parse(json{{"keys", mixed}}.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  EXPECT_EQ(jwks->size(), 2u);
  EXPECT_NE(jwks->Find("r", Jwks::KeyType::kRsa), nullptr);
  EXPECT_EQ(jwks->Find("r", Jwks::KeyType::kEcP256), nullptr);
  EXPECT_NE(jwks->Find("e", Jwks::KeyType::kEcP256), nullptr);
}

TEST(JwksTest, KeysWithoutOptionalMembers) {
  const TestKey ec = TestKey::EcP256();
  json jwk = json::parse(ec.Jwk("e"));
  jwk.erase("use");
  jwk.erase("alg");
  const auto jwks = Jwks::Parse(json{{"keys", json::array({jwk})}}.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  EXPECT_EQ(jwks->size(), 1u);
}

TEST(JwksTest, Load) {
  const TestKey ec = TestKey::EcP256();
  const std::string path = ::testing::TempDir() + "/parley_auth_jwks_test.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << JwksJson({{"e", &ec}});
  }
  const auto jwks = Jwks::Load(path);
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  EXPECT_EQ(jwks->size(), 1u);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << R"({"keys":[{"kty":"OKP","kid":"x"}]})";
  }
  EXPECT_TRUE(IsError(Jwks::Load(path), ErrorCode::kInvalidArgument, "keys"));
  std::remove(path.c_str());
  EXPECT_TRUE(IsError(Jwks::Load(path), ErrorCode::kInvalidArgument, "path"));
}

}  // namespace
}  // namespace parley::auth
