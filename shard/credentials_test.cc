#include "shard/credentials.h"

#include <gtest/gtest.h>

namespace parley::shard {
namespace {

const std::string kKey(32, 'k');
constexpr TimeMs kNow = 1'800'000'000'000;

TEST(CredentialsTest, PasswordRoundTripAndSaltMatters) {
  std::string salt = RandomSalt();
  EXPECT_EQ(salt.size(), kSaltBytes);
  std::string hash = HashPassword("correct horse", salt);
  EXPECT_TRUE(PasswordMatches("correct horse", salt, hash));
  EXPECT_FALSE(PasswordMatches("correct horsf", salt, hash));
  EXPECT_FALSE(PasswordMatches("correct horse", RandomSalt(), hash));
  EXPECT_NE(HashPassword("correct horse", RandomSalt()), hash);
}

TEST(CredentialsTest, TokenRoundTrip) {
  std::string token = SignToken(kKey, 42, kNow);
  EXPECT_EQ(VerifyToken(kKey, token, kNow + 1000), std::optional<UserId>(42));
}

TEST(CredentialsTest, TokenRejectsTamperingKeysAndExpiry) {
  std::string token = SignToken(kKey, 42, kNow);
  std::string other_user = token;
  other_user[3] = '5';  // "v1.42..." -> "v1.52..."
  EXPECT_EQ(VerifyToken(kKey, other_user, kNow), std::nullopt);
  EXPECT_EQ(VerifyToken(std::string(32, 'x'), token, kNow), std::nullopt);
  EXPECT_EQ(VerifyToken(kKey, token, kNow + kTokenLifetimeMs + 1), std::nullopt);
  EXPECT_EQ(VerifyToken(kKey, token, kNow - 120'000), std::nullopt);  // issued in the future
  EXPECT_EQ(VerifyToken(kKey, "", kNow), std::nullopt);
  EXPECT_EQ(VerifyToken(kKey, "v1...", kNow), std::nullopt);
  EXPECT_EQ(VerifyToken(kKey, "v1.0.0." + token.substr(token.rfind('.') + 1), kNow), std::nullopt);
}

}  // namespace
}  // namespace parley::shard
