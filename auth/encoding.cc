#include "auth/encoding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdlib>

namespace parley::auth {
namespace {

constexpr std::string_view kBase64Std =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

constexpr int8_t kInvalid = -1;

using ReverseTable = std::array<int8_t, 256>;

constexpr ReverseTable MakeReverse(std::string_view alphabet) {
  ReverseTable table{};
  for (auto& v : table) v = kInvalid;
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr ReverseTable kBase64StdReverse = MakeReverse(kBase64Std);
constexpr ReverseTable kBase64UrlReverse = MakeReverse(kBase64Url);
constexpr ReverseTable kBase32Reverse = MakeReverse(kBase32);

std::string EncodeBase64(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 |
                 static_cast<unsigned char>(bytes[i + 1]) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[(v >> shift) & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
  if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
  out.push_back(alphabet[(v >> 18) & 63]);
  out.push_back(alphabet[(v >> 12) & 63]);
  if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
  if (pad) out.append(rest == 1 ? "==" : "=");
  return out;
}

// Decodes base64 text that holds no '=' at all. A final group of 2 or 3 characters must leave
// its unused low bits zero: otherwise several texts would decode to the same bytes.
std::optional<std::string> DecodeBase64Unpadded(std::string_view text,
                                                const ReverseTable& reverse) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int8_t v = reverse[static_cast<unsigned char>(c)];
    if (v == kInvalid) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// Splits off trailing '=' and checks their count against the length. `required` demands
// padding whenever the length is not a multiple of 4.
std::optional<std::string> DecodeBase64(std::string_view text, const ReverseTable& reverse,
                                        bool required) {
  size_t pads = 0;
  while (!text.empty() && text.back() == '=' && pads < 3) {
    text.remove_suffix(1);
    ++pads;
  }
  if (pads > 2) return std::nullopt;
  if ((pads > 0 || required) && (text.size() + pads) % 4 != 0) return std::nullopt;
  return DecodeBase64Unpadded(text, reverse);
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  return EncodeBase64(bytes, kBase64Url, /*pad=*/false);
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  return DecodeBase64(text, kBase64UrlReverse, /*required=*/false);
}

std::string Base64Encode(std::string_view bytes) {
  return EncodeBase64(bytes, kBase64Std, /*pad=*/true);
}

std::optional<std::string> Base64Decode(std::string_view text) {
  return DecodeBase64(text, kBase64StdReverse, /*required=*/true);
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32[(acc >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kBase32[(acc << (5 - bits)) & 31]);
  return out;
}

std::optional<std::string> Base32Decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const int8_t v = kBase32Reverse[static_cast<unsigned char>(c)];
    if (v == kInvalid) return std::nullopt;
    ++symbols;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // A final group of 1, 3 or 6 symbols cannot come from whole bytes.
  const size_t tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6) return std::nullopt;
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    std::abort();  // only fails on allocation failure
  }
  return std::string(reinterpret_cast<char*>(digest), len);
}

namespace {

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  // OpenSSL 3.0's HMAC() refuses a NULL key, which an empty string_view may carry.
  static constexpr unsigned char kEmpty[1] = {0};
  const void* key_ptr = key.empty() ? kEmpty : static_cast<const void*>(key.data());
  const auto* data_ptr =
      data.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(data.data());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key_ptr, static_cast<int>(key.size()), data_ptr, data.size(), out, &len) ==
      nullptr) {
    std::abort();  // only fails on allocation failure
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  return Hmac(EVP_sha256(), key, data);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  return Hmac(EVP_sha1(), key, data);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<uint64_t> ParseDecimalU64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace parley::auth
