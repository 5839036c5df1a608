#include "auth/totp.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "auth/encoding.h"

namespace parley::auth {
namespace {

// The RFC 4226 / RFC 6238 (SHA-1) test secret.
constexpr std::string_view kRfcSecret = "12345678901234567890";

TEST(TotpTest, Rfc6238AppendixBSha1) {
  struct Vector {
    int64_t unix_s;
    const char* code;
  };
  const Vector vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(TotpCode(kRfcSecret, TotpStep(v.unix_s * 1000), 8), v.code) << v.unix_s;
  }
}

TEST(TotpTest, Rfc4226AppendixDHotp) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(TotpCode(kRfcSecret, i), expected[i]) << i;
  }
}

TEST(TotpTest, Step) {
  EXPECT_EQ(TotpStep(0), 0u);
  EXPECT_EQ(TotpStep(29'999), 0u);
  EXPECT_EQ(TotpStep(30'000), 1u);
  EXPECT_EQ(TotpStep(59'999), 1u);
  EXPECT_EQ(TotpStep(1'111'111'109'000), 37'037'036u);
  EXPECT_EQ(TotpStep(-1), 0u);
}

TEST(TotpTest, CodeDigitsAreZeroPadded) {
  EXPECT_EQ(TotpCode(kRfcSecret, 1, 8), "94287082");
  EXPECT_EQ(TotpCode(kRfcSecret, 1, 6), "287082");
  EXPECT_EQ(TotpCode(kRfcSecret, TotpStep(1111111109'000), 8), "07081804");
  EXPECT_EQ(TotpCode(kRfcSecret, TotpStep(1111111109'000), 7), "7081804");
  EXPECT_EQ(TotpCode(kRfcSecret, 0, 10).size(), 10u);
  EXPECT_EQ(TotpCode(kRfcSecret, 0, 0).size(), 1u) << "digits clamp to 1..10";
}

TEST(TotpTest, MatchesWithinOneStep) {
  const TimeMs now = 1'700'000'012'345;
  const uint64_t step = TotpStep(now);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step), now), step);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step - 1), now), step - 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, step + 1), now), step + 1);
}

TEST(TotpTest, RejectsTwoStepsAway) {
  const TimeMs now = 1'700'000'012'345;
  const uint64_t step = TotpStep(now);
  const std::set<std::string> window = {TotpCode(kRfcSecret, step - 1), TotpCode(kRfcSecret, step),
                                        TotpCode(kRfcSecret, step + 1)};
  for (uint64_t far : {step - 2, step + 2, step - 100}) {
    const std::string code = TotpCode(kRfcSecret, far);
    ASSERT_EQ(window.count(code), 0u) << "vector collides with the window; pick another time";
    EXPECT_EQ(MatchTotp(kRfcSecret, code, now), std::nullopt) << far;
  }
}

TEST(TotpTest, StepZeroDoesNotUnderflow) {
  EXPECT_EQ(MatchTotp(kRfcSecret, "755224", 0), 0u);
  EXPECT_EQ(MatchTotp(kRfcSecret, "287082", 0), 1u);
  EXPECT_EQ(MatchTotp(kRfcSecret, "359152", 0), std::nullopt);
}

TEST(TotpTest, CodeSyntax) {
  const TimeMs now = 1'700'000'012'345;
  const std::string code = TotpCode(kRfcSecret, TotpStep(now));
  EXPECT_TRUE(MatchTotp(kRfcSecret, code.substr(0, 3) + " " + code.substr(3), now));
  EXPECT_TRUE(MatchTotp(kRfcSecret, " " + code + " ", now));
  for (const std::string& bad :
       {std::string(), code.substr(0, 5), code + "0", code.substr(0, 5) + "a", "+" + code.substr(1),
        code.substr(0, 3) + "-" + code.substr(3), code + "\n", std::string("\xef\xbc\x91") + code,
        std::string("      ")}) {
    EXPECT_EQ(MatchTotp(kRfcSecret, bad, now), std::nullopt) << bad;
  }
  EXPECT_EQ(MatchTotp("", TotpCode("", TotpStep(now)), now), std::nullopt) << "empty secret";
}

TEST(TotpTest, OtpauthUri) {
  EXPECT_EQ(OtpauthUri("Parley Chat", "alice@example.com", kRfcSecret),
            "otpauth://totp/Parley%20Chat:alice%40example.com"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Parley%20Chat"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("a-b.c_d~e", "x:y&z=\xc3\xa9", "\xff"),
            "otpauth://totp/a-b.c_d~e:x%3Ay%26z%3D%C3%A9"
            "?secret=74&issuer=a-b.c_d~e&algorithm=SHA1&digits=6&period=30");
}

TEST(RecoveryCodeTest, Shape) {
  constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  const std::vector<std::string> codes = NewRecoveryCodes();
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), 10u);
  for (const std::string& code : codes) {
    ASSERT_EQ(code.size(), 14u) << code;
    EXPECT_EQ(code[4], '-');
    EXPECT_EQ(code[9], '-');
    for (size_t i : {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13}) {
      EXPECT_NE(kAlphabet.find(code[i]), std::string_view::npos) << code;
    }
    EXPECT_EQ(NormaliseRecoveryCode(code).size(), 12u);
  }
  EXPECT_TRUE(NewRecoveryCodes(0).empty());
  EXPECT_EQ(NewRecoveryCodes(3).size(), 3u);
  EXPECT_NE(NewRecoveryCodes(1), NewRecoveryCodes(1));
}

TEST(RecoveryCodeTest, Normalise) {
  EXPECT_EQ(NormaliseRecoveryCode("ABCD-efgh ijkl"), "abcdefghijkl");
  EXPECT_EQ(NormaliseRecoveryCode(" abcd - efgh - ijkl "), "abcdefghijkl");
  EXPECT_EQ(NormaliseRecoveryCode(""), "");
  const std::string code = NewRecoveryCodes(1)[0];
  std::string typed;
  for (char c : code) typed.push_back(c == '-' ? ' ' : static_cast<char>(std::toupper(c)));
  EXPECT_EQ(Sha256(NormaliseRecoveryCode(typed)), Sha256(NormaliseRecoveryCode(code)));
}

}  // namespace
}  // namespace parley::auth
