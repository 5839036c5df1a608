#include "auth/encoding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace parley::auth {
namespace {

struct Vector {
  std::string bytes;
  std::string base64;
  std::string base32;
};

// RFC 4648 section 10.
const Vector kRfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "MY"},
    {"fo", "Zm8=", "MZXQ"},
    {"foo", "Zm9v", "MZXW6"},
    {"foob", "Zm9vYg==", "MZXW6YQ"},
    {"fooba", "Zm9vYmE=", "MZXW6YTB"},
    {"foobar", "Zm9vYmFy", "MZXW6YTBOI"},
};

std::string WithoutPadding(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

TEST(Base64Test, Rfc4648Vectors) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(Base64Encode(v.bytes), v.base64);
    EXPECT_EQ(Base64Decode(v.base64), v.bytes);
    EXPECT_EQ(Base64UrlEncode(v.bytes), WithoutPadding(v.base64));
    EXPECT_EQ(Base64UrlDecode(WithoutPadding(v.base64)), v.bytes);
    EXPECT_EQ(Base64UrlDecode(v.base64), v.bytes) << "padded input is accepted too";
  }
}

TEST(Base64Test, AlphabetsDiffer) {
  const std::string bytes = "\xfb\xff\xbf";
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), bytes);
  EXPECT_EQ(Base64UrlDecode("+/+/"), std::nullopt);
  EXPECT_EQ(Base64Decode("-_-_"), std::nullopt);
}

TEST(Base64Test, RoundTripsEveryLength) {
  for (size_t n = 0; n <= 70; ++n) {
    const std::string bytes = RandomBytes(n);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes) << n;
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes) << n;
  }
}

TEST(Base64Test, UrlDecodeRejectsInvalidInput) {
  for (const char* bad : {"Z", "Zg=", "Zg===", "Z=g=", "=", "Zm9v!", "Zm 9v", "Zm9v\n",
                          "Zh",            // non-zero unused bits: "Zg" is the canonical form
                          "Zm9=",          // same, three-character group
                          "Zm8==",         // padding count does not fit the length
                          "Zm9vZg==x"}) {  // padding in the middle
    EXPECT_EQ(Base64UrlDecode(bad), std::nullopt) << bad;
  }
}

TEST(Base64Test, StandardDecodeRequiresPadding) {
  EXPECT_EQ(Base64Decode("Zg"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm8"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zg=a"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zh=="), std::nullopt);
  EXPECT_EQ(Base64Decode(""), "");
}

TEST(Base32Test, Rfc4648Vectors) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(Base32Encode(v.bytes), v.base32);
    EXPECT_EQ(Base32Decode(v.base32), v.bytes);
  }
}

TEST(Base32Test, DecodeIsLenient) {
  EXPECT_EQ(Base32Decode("mzxw6ytboi"), "foobar");
  EXPECT_EQ(Base32Decode("MZXW 6YTB OI"), "foobar");
  EXPECT_EQ(Base32Decode("MZXW6YQ="), "foob");
  EXPECT_EQ(Base32Decode("MY======"), "f");
}

TEST(Base32Test, DecodeRejectsInvalidInput) {
  for (const char* bad : {"MZXW1", "MZXW0", "MZXW8", "MZ-W6", "M", "MZX", "MZXW6Y", "MZ\tXW"}) {
    EXPECT_EQ(Base32Decode(bad), std::nullopt) << bad;
  }
}

TEST(Base32Test, RoundTripsEveryLength) {
  for (size_t n = 0; n <= 40; ++n) {
    const std::string bytes = RandomBytes(n);
    EXPECT_EQ(Base32Decode(Base32Encode(bytes)), bytes) << n;
  }
}

TEST(HexTest, LowerCase) {
  EXPECT_EQ(Hex(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
  EXPECT_EQ(Hex(""), "");
}

TEST(RandomBytesTest, LengthAndFreshness) {
  EXPECT_EQ(RandomBytes(0), "");
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

TEST(Sha256Test, KnownDigest) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HmacTest, RfcVectors) {
  // RFC 4231 test case 2 and RFC 2202 test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(HmacSha256("", "").size(), 32u);
}

TEST(ConstantTimeEqualsTest, Compares) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(ParseDecimalU64Test, CanonicalOnly) {
  EXPECT_EQ(ParseDecimalU64("0"), 0u);
  EXPECT_EQ(ParseDecimalU64("42"), 42u);
  EXPECT_EQ(ParseDecimalU64("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  for (const char* bad : {"", "18446744073709551616", "99999999999999999999", "007", "00", "+1",
                          "-1", "1a", " 1", "1 ", "0x10", "123456789012345678901"}) {
    EXPECT_EQ(ParseDecimalU64(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace parley::auth
