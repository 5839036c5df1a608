#include "auth/jwt.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/encoding.h"
#include "auth/testing.h"
#include "core/error_matchers.h"

namespace parley::auth {
namespace {

using testing_matchers::IsError;

constexpr std::string_view kKey = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kIssuer = "parley";
constexpr int64_t kNowS = 1'700'000'000;
constexpr TimeMs kNow = kNowS * 1000 + 123;

::testing::AssertionResult Rejected(const Result<TokenClaims>& r, std::string_view details) {
  return IsError(r, ErrorCode::kUnauthenticated, details);
}

TokenClaims Claims() {
  TokenClaims c;
  c.iss = std::string(kIssuer);
  c.sub = 42;
  c.sid = 7;
  c.iat = kNowS;
  c.exp = kNowS + 900;
  c.jti = "jti-1";
  c.use = "access";
  return c;
}

Result<TokenClaims> Verify(std::string_view token, TimeMs now = kNow) {
  return VerifyHs256(kKey, token, now, kIssuer, "access");
}

// A token with arbitrary header and payload JSON, correctly signed with kKey.
std::string SignRaw(const std::string& header_json, const std::string& payload_json) {
  const std::string unsigned_token = UnsignedJwt(header_json, payload_json);  // ends with '.'
  const std::string input = unsigned_token.substr(0, unsigned_token.size() - 1);
  return unsigned_token + Base64UrlEncode(HmacSha256(kKey, input));
}

constexpr char kHeader[] = R"({"alg":"HS256","typ":"JWT"})";
constexpr char kPayload[] =
    R"({"iss":"parley","sub":"42","sid":"7","iat":1700000000,"exp":1700000900,"jti":"j",)"
    R"("use":"access"})";

std::string Segment(const std::string& token, int i) {
  size_t begin = 0;
  for (int k = 0; k < i; ++k) begin = token.find('.', begin) + 1;
  return token.substr(begin, token.find('.', begin) - begin);
}

TEST(JwtTest, RoundTrip) {
  const TokenClaims in = Claims();
  const auto out = Verify(SignHs256(kKey, in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->iss, in.iss);
  EXPECT_EQ(out->sub, in.sub);
  EXPECT_EQ(out->sid, in.sid);
  EXPECT_EQ(out->iat, in.iat);
  EXPECT_EQ(out->exp, in.exp);
  EXPECT_EQ(out->jti, in.jti);
  EXPECT_EQ(out->use, in.use);
}

TEST(JwtTest, WireFormat) {
  TokenClaims c = Claims();
  c.sub = 18446744073709551615u;
  const std::string token = SignHs256(kKey, c);
  EXPECT_EQ(Base64UrlDecode(Segment(token, 0)), kHeader);
  EXPECT_EQ(Base64UrlDecode(Segment(token, 1)),
            R"({"iss":"parley","sub":"18446744073709551615","sid":"7","iat":1700000000,)"
            R"("exp":1700000900,"jti":"jti-1","use":"access"})");
  EXPECT_EQ(Base64UrlDecode(Segment(token, 2))->size(), 32u);
  EXPECT_EQ(Verify(token)->sub, c.sub);
}

TEST(JwtTest, AcceptsAHandBuiltToken) { EXPECT_TRUE(Verify(SignRaw(kHeader, kPayload)).ok()); }

TEST(JwtTest, Expiry) {
  const std::string token = SignHs256(kKey, Claims());
  const TimeMs exp_ms = (kNowS + 900) * 1000;
  EXPECT_TRUE(Verify(token, exp_ms - 1).ok());
  EXPECT_TRUE(Rejected(Verify(token, exp_ms), "expired"));
  EXPECT_TRUE(Rejected(Verify(token, exp_ms + 86'400'000), "expired"));
}

TEST(JwtTest, IssuedInTheFuture) {
  TokenClaims c = Claims();
  c.iat = kNowS + 60;
  c.exp = kNowS + 1000;
  EXPECT_TRUE(Verify(SignHs256(kKey, c)).ok()) << "60 s of clock skew is tolerated";
  c.iat = kNowS + 61;
  EXPECT_TRUE(Rejected(Verify(SignHs256(kKey, c)), "not_yet_valid"));
}

TEST(JwtTest, TamperedPayload) {
  const std::string token = SignHs256(kKey, Claims());
  const std::string payload = *Base64UrlDecode(Segment(token, 1));
  std::string forged = payload;
  forged.replace(forged.find("\"42\""), 4, "\"43\"");
  const std::string tampered =
      Segment(token, 0) + "." + Base64UrlEncode(forged) + "." + Segment(token, 2);
  EXPECT_TRUE(Rejected(Verify(tampered), "signature"));

  std::string flipped = token;
  const size_t i = Segment(token, 0).size() + 5;  // a character inside the payload segment
  flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(Rejected(Verify(flipped), "signature"));
}

TEST(JwtTest, TamperedSignature) {
  std::string token = SignHs256(kKey, Claims());
  token[token.size() - 2] = token[token.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(Rejected(Verify(token), "signature"));
  const std::string cut = SignHs256(kKey, Claims());
  EXPECT_TRUE(Rejected(Verify(cut.substr(0, cut.size() - 4)), "signature"));
  EXPECT_TRUE(Rejected(Verify(cut.substr(0, cut.rfind('.') + 1)), "signature"));
}

TEST(JwtTest, WrongKey) {
  const std::string token = SignHs256("another key of the same length!!", Claims());
  EXPECT_TRUE(Rejected(Verify(token), "signature"));
}

TEST(JwtTest, AlgNoneIsRefused) {
  EXPECT_TRUE(Rejected(Verify(UnsignedJwt(R"({"alg":"none","typ":"JWT"})", kPayload)), "alg"));
  EXPECT_TRUE(Rejected(Verify(UnsignedJwt(R"({"alg":"None"})", kPayload)), "alg"));
  // Even correctly MACed, a header that does not say HS256 is refused.
  EXPECT_TRUE(Rejected(Verify(SignRaw(R"({"alg":"none"})", kPayload)), "alg"));
}

TEST(JwtTest, OtherAlgsAreRefusedEvenWithAnHs256Mac) {
  for (const char* header :
       {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})", R"({"alg":"ES256"})",
        R"({"alg":"hs256"})", R"({"alg":"HS256 "})", R"({"alg":256})", R"({"alg":null})",
        R"({"alg":["HS256"]})", R"({"typ":"JWT"})", R"({})"}) {
    EXPECT_TRUE(Rejected(Verify(SignRaw(header, kPayload)), "alg")) << header;
  }
}

TEST(JwtTest, WrongIssuer) {
  TokenClaims c = Claims();
  c.iss = "parley-staging";
  EXPECT_TRUE(Rejected(Verify(SignHs256(kKey, c)), "issuer"));
  EXPECT_TRUE(Rejected(Verify(SignRaw(kHeader, R"({"sub":"42","sid":"7","iat":1700000000,)"
                                               R"("exp":1700000900,"use":"access"})")),
                       "issuer"));
}

TEST(JwtTest, WrongUse) {
  TokenClaims c = Claims();
  c.use = "refresh";
  const std::string token = SignHs256(kKey, c);
  EXPECT_TRUE(Rejected(Verify(token), "use"));
  EXPECT_TRUE(VerifyHs256(kKey, token, kNow, kIssuer, "refresh").ok());
  EXPECT_TRUE(Rejected(Verify(SignRaw(kHeader, R"({"iss":"parley","sub":"42","sid":"7",)"
                                               R"("iat":1700000000,"exp":1700000900})")),
                       "use"));
}

TEST(JwtTest, GarbageIsMalformed) {
  const std::string good = SignHs256(kKey, Claims());
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string("a.b"), std::string(".."),
        std::string("a.b.c.d"), good + ".", good + ".x", std::string(".") + good,
        Segment(good, 0) + "." + Segment(good, 1), std::string("!!!.@@@.###"),
        UnsignedJwt("not json", kPayload, "c2ln"), UnsignedJwt("[1,2]", kPayload, "c2ln"),
        UnsignedJwt("\"HS256\"", kPayload, "c2ln")}) {
    EXPECT_TRUE(Rejected(Verify(bad), "malformed")) << bad;
  }
}

TEST(JwtTest, HugeInputIsMalformed) {
  const std::string huge(kMaxHs256TokenBytes + 1, 'A');
  EXPECT_TRUE(Rejected(Verify(huge), "malformed"));
  TokenClaims c = Claims();
  c.jti = std::string(kMaxHs256TokenBytes, 'j');
  EXPECT_TRUE(Rejected(Verify(SignHs256(kKey, c)), "malformed"));
}

TEST(JwtTest, ClaimsOfTheWrongShapeAreMalformed) {
  for (const char* payload : {
           R"([])",
           R"("text")",
           R"({"iss":"parley","sub":42,"sid":"7","iat":1,"exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"0","sid":"7","iat":1,"exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"042","sid":"7","iat":1,"exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"-1","sid":"7","iat":1,"exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"42","sid":"0","iat":1,"exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"42","iat":1,"exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"42","sid":"7","iat":"1","exp":1700000900,"use":"access"})",
           R"({"iss":"parley","sub":"42","sid":"7","iat":1,"use":"access"})",
           R"({"iss":"parley","sub":"42","sid":"7","iat":1,"exp":1700000900,"jti":5})",
           R"({"iss":"parley","sub":"99999999999999999999","sid":"7","iat":1,"exp":1700000900})",
       }) {
    EXPECT_TRUE(Rejected(Verify(SignRaw(kHeader, payload)), "malformed")) << payload;
  }
}

TEST(JwtTest, InvalidUtf8ClaimsNeverThrow) {
  TokenClaims c = Claims();
  c.jti = "\xff\xfe";
  const auto out = Verify(SignHs256(kKey, c));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->jti, "\xef\xbf\xbd\xef\xbf\xbd") << "replaced by U+FFFD when signing";
  EXPECT_TRUE(Rejected(Verify(SignRaw(kHeader, "{\"iss\":\"\xff\"}")), "malformed"));
}

TEST(JwtTest, EmptyKeyIsAnInvalidArgument) {
  const std::string token = SignHs256("", Claims());
  EXPECT_TRUE(
      IsError(VerifyHs256("", token, kNow, kIssuer, "access"), ErrorCode::kInvalidArgument, "key"));
}

}  // namespace
}  // namespace parley::auth
