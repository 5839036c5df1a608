#include "auth/password.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/encoding.h"

namespace parley::auth {
namespace {

// Cheap parameters (N = 1024, 1 MiB) so the suite stays fast; one test runs the defaults.
constexpr ScryptParams kFast{10, 8, 1};
constexpr ScryptParams kFaster{9, 8, 1};

std::string LegacyHash(std::string_view password, std::string_view salt) {
  unsigned char out[32];
  EXPECT_EQ(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()),
                              static_cast<int>(salt.size()), 1000, EVP_sha256(), sizeof(out), out),
            1);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

TEST(PasswordTest, HashFormat) {
  const std::string hash = HashPassword("correct horse", kFast);
  const std::string prefix = "$scrypt$ln=10,r=8,p=1$";
  ASSERT_EQ(hash.substr(0, prefix.size()), prefix);
  const std::string rest = hash.substr(prefix.size());
  const size_t dollar = rest.find('$');
  ASSERT_NE(dollar, std::string::npos);
  EXPECT_EQ(dollar, 22u) << "16-byte salt, unpadded base64";
  EXPECT_EQ(rest.size() - dollar - 1, 43u) << "32-byte hash, unpadded base64";
  EXPECT_EQ(rest.find('='), std::string::npos) << "no base64 padding";
  EXPECT_EQ(Base64Decode(rest.substr(0, dollar) + "==")->size(), 16u);
}

TEST(PasswordTest, SaltIsFresh) {
  EXPECT_NE(HashPassword("same", kFast), HashPassword("same", kFast));
}

TEST(PasswordTest, MatchAndMismatch) {
  const std::string hash = HashPassword("correct horse", kFast);
  EXPECT_EQ(VerifyPassword("correct horse", hash, "", kFast), PasswordCheck::kMatch);
  EXPECT_EQ(VerifyPassword("correct horsE", hash, "", kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("", hash, "", kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("correct horse ", hash, "", kFast), PasswordCheck::kMismatch);
}

TEST(PasswordTest, EmptyAndBinaryPasswords) {
  const std::string empty = HashPassword("", kFast);
  EXPECT_EQ(VerifyPassword("", empty, "", kFast), PasswordCheck::kMatch);
  const std::string binary("p\0w\xff", 4);
  EXPECT_EQ(VerifyPassword(binary, HashPassword(binary, kFast), "", kFast), PasswordCheck::kMatch);
  EXPECT_EQ(VerifyPassword(std::string("p\0w", 3), HashPassword(binary, kFast), "", kFast),
            PasswordCheck::kMismatch);
}

TEST(PasswordTest, NeedsRehashWhenParamsDiffer) {
  const std::string hash = HashPassword("pw", kFaster);
  EXPECT_EQ(VerifyPassword("pw", hash, "", kFast), PasswordCheck::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("pw", hash, "", ScryptParams{9, 4, 1}),
            PasswordCheck::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("pw", hash, "", ScryptParams{9, 8, 2}),
            PasswordCheck::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("wrong", hash, "", kFast), PasswordCheck::kMismatch);
}

TEST(PasswordTest, DefaultParams) {
  const ScryptParams defaults;
  EXPECT_EQ(defaults, (ScryptParams{15, 8, 1}));
  const std::string hash = HashPassword("pw", defaults);
  EXPECT_EQ(hash.rfind("$scrypt$ln=15,r=8,p=1$", 0), 0u);
  EXPECT_EQ(VerifyPassword("pw", hash, "", defaults), PasswordCheck::kMatch);
}

TEST(PasswordTest, ParamsAreReadFromTheHash) {
  // Rewriting the recorded cost must change the result: the stored params are what is used.
  std::string hash = HashPassword("pw", kFaster);
  hash.replace(hash.find("ln=9"), 4, "ln=8");
  EXPECT_EQ(VerifyPassword("pw", hash, "", kFaster), PasswordCheck::kMismatch);
}

TEST(PasswordTest, LegacyPbkdf2) {
  const std::string salt = "legacy-salt-123";
  const std::string stored = LegacyHash("hunter2", salt);
  EXPECT_EQ(VerifyPassword("hunter2", stored, salt, kFast), PasswordCheck::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("hunter3", stored, salt, kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("hunter2", stored, "other-salt", kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("hunter2", stored, "", kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("hunter2", stored.substr(0, 31), salt, kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("hunter2", stored + "x", salt, kFast), PasswordCheck::kMismatch);
}

TEST(PasswordTest, GarbageStoredValuesMismatch) {
  const std::string good = HashPassword("pw", kFast);
  const std::string salt_and_hash = good.substr(good.find('$', 8));  // "$<salt>$<hash>"
  const std::string salt = salt_and_hash.substr(1, 22);
  const std::vector<std::string> garbage = {
      "",
      "$scrypt$",
      "$scrypt$ln=10,r=8,p=1",
      "$scrypt$ln=10,r=8,p=1$",
      "$scrypt$ln=10,r=8,p=1$" + salt,
      "$scrypt$ln=10,r=8,p=1$" + salt + "$",
      "$scrypt$ln=10,r=8,p=1$$" + good.substr(good.rfind('$') + 1),
      "$scrypt$ln=0,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=23,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=0,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=33,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=0" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=17" + salt_and_hash,
      "$scrypt$ln=20,r=1,p=1" + salt_and_hash,  // N >= 2^(16 r): scrypt refuses
      "$scrypt$ln=010,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=ten,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=8" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=1,x=2" + salt_and_hash,
      "$scrypt$r=8,ln=10,p=1" + salt_and_hash,
      "$scrypt$ln=99999999999999999999999,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=1$!!!!$AAAA",
      "$scrypt$ln=10,r=8,p=1$" + salt + "$AAAA",  // 3-byte hash
      good + "=",
      good + "$",
      good.substr(0, good.size() - 1),
      "$scrypt$ln=-1,r=8,p=1" + salt_and_hash,
      "$SCRYPT$ln=10,r=8,p=1" + salt_and_hash,
      std::string(32, '\0'),
      "$2b$12$abcdefghijklmnopqrstuv",
  };
  for (const std::string& stored : garbage) {
    EXPECT_EQ(VerifyPassword("pw", stored, "", kFast), PasswordCheck::kMismatch) << stored;
  }
  // A 32-byte legacy-looking value with no legacy salt is never accepted.
  EXPECT_EQ(VerifyPassword("pw", std::string(32, 'x'), "", kFast), PasswordCheck::kMismatch);
}

TEST(PasswordTest, DummyHashIsStableAndMatchesNothing) {
  const std::string& a = DummyHash(kFast);
  const std::string& b = DummyHash(kFast);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.rfind("$scrypt$ln=10,r=8,p=1$", 0), 0u);
  EXPECT_EQ(VerifyPassword("", a, "", kFast), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword("password", a, "", kFast), PasswordCheck::kMismatch);
  EXPECT_NE(&DummyHash(kFaster), &a);
  EXPECT_EQ(DummyHash(kFaster).rfind("$scrypt$ln=9,r=8,p=1$", 0), 0u);
}

TEST(PasswordTest, DummyHashIsThreadSafe) {
  const ScryptParams params{8, 4, 1};  // not used by other tests: first call races here
  std::vector<const std::string*> seen(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] { seen[i] = &DummyHash(params); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<const std::string*>(seen.begin(), seen.end()).size(), 1u);
}

}  // namespace
}  // namespace parley::auth
