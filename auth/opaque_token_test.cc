#include "auth/opaque_token.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "auth/encoding.h"

namespace parley::auth {
namespace {

const std::string kSecret(43, 'A');  // no '_' inside, so field boundaries are unambiguous

TEST(OpaqueTokenTest, RoundTrip) {
  std::string secret;
  const std::string token = NewOpaqueToken("prl", 12, 345, &secret);
  EXPECT_EQ(token.rfind("prl_12_345_", 0), 0u);
  EXPECT_EQ(secret.size(), 43u);
  EXPECT_EQ(token, "prl_12_345_" + secret);
  EXPECT_EQ(Base64UrlDecode(secret)->size(), 32u);
  const auto parsed = ParseOpaqueToken("prl", token);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->a, 12u);
  EXPECT_EQ(parsed->b, 345u);
  EXPECT_EQ(parsed->secret, secret);
  EXPECT_EQ(HashSecret(secret), Sha256(secret));
  EXPECT_EQ(HashSecret(secret).size(), 32u);
}

TEST(OpaqueTokenTest, FreshSecrets) {
  EXPECT_NE(NewOpaqueToken("prl", 1, 2, nullptr), NewOpaqueToken("prl", 1, 2, nullptr));
}

TEST(OpaqueTokenTest, LargestIds) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const auto parsed = ParseOpaqueToken("prl", NewOpaqueToken("prl", kMax, kMax, nullptr));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->a, kMax);
  EXPECT_EQ(parsed->b, kMax);
}

TEST(OpaqueTokenTest, SecretMayHoldUnderscoresAndDashes) {
  const std::string secret = "_abc-def_ghi_jkl-mno_pqr_";
  const auto parsed = ParseOpaqueToken("prl", "prl_1_2_" + secret);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->secret, secret);
  // A prefix containing '_' is matched exactly too.
  EXPECT_EQ(ParseOpaqueToken("parley_inv", "parley_inv_3_4_" + kSecret)->a, 3u);
}

TEST(OpaqueTokenTest, SecretLengthBounds) {
  EXPECT_TRUE(ParseOpaqueToken("prl", "prl_1_2_" + std::string(20, 'x')));
  EXPECT_TRUE(ParseOpaqueToken("prl", "prl_1_2_" + std::string(128, 'x')));
  EXPECT_FALSE(ParseOpaqueToken("prl", "prl_1_2_" + std::string(19, 'x')));
  EXPECT_FALSE(ParseOpaqueToken("prl", "prl_1_2_" + std::string(129, 'x')));
}

TEST(OpaqueTokenTest, MalformedTokens) {
  const std::string bad[] = {
      "",
      "prl",
      "prl_",
      "prl_1_2_",
      "prx_1_2_" + kSecret,
      "pr_1_2_" + kSecret,
      "prlx_1_2_" + kSecret,
      "PRL_1_2_" + kSecret,
      "prl1_2_" + kSecret,
      "prl-1_2_" + kSecret,
      " prl_1_2_" + kSecret,
      "prl_0_2_" + kSecret,
      "prl_1_0_" + kSecret,
      "prl_01_2_" + kSecret,
      "prl_1_02_" + kSecret,
      "prl_+1_2_" + kSecret,
      "prl_-1_2_" + kSecret,
      "prl_1_-2_" + kSecret,
      "prl_18446744073709551616_2_" + kSecret,
      "prl_1_99999999999999999999_" + kSecret,
      "prl_1a_2_" + kSecret,
      "prl_0x1_2_" + kSecret,
      "prl__2_" + kSecret,
      "prl_1__" + kSecret,
      "prl_1_" + kSecret,
      "prl_1_2" + kSecret,
      "prl_ 1_2_" + kSecret,
      "prl_1_2_" + kSecret + "=",
      "prl_1_2_" + kSecret + ".",
      "prl_1_2_" + kSecret + "+",
      "prl_1_2_" + kSecret + "/",
      "prl_1_2_" + kSecret + " ",
      "prl_1_2_" + kSecret + "\n",
      "prl_1_2_" + std::string("\0", 1) + kSecret,
      "prl_1_2_" + kSecret.substr(0, 20) + "\xc3\xa9" + kSecret.substr(20),
  };
  for (const std::string& token : bad) {
    EXPECT_FALSE(ParseOpaqueToken("prl", token).has_value()) << token;
  }
  EXPECT_FALSE(ParseOpaqueToken("", "_1_2_" + kSecret).has_value()) << "empty prefix";
}

}  // namespace
}  // namespace parley::auth
