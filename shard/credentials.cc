#include "shard/credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdlib>
#include <vector>

namespace parley::shard {
namespace {

// Kept modest (~0.5 ms) while hashing still runs on a shard thread; the identity work moves it
// to scrypt on a worker pool and re-hashes on the next login.
constexpr int kPbkdf2Iterations = 1000;

std::string Hex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string Mac(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return Hex(mac, len);
}

template <class T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string RandomSalt() {
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), kSaltBytes) != 1) std::abort();
  return salt;
}

std::string HashPassword(std::string_view password, std::string_view salt) {
  std::string out(32, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), kPbkdf2Iterations, EVP_sha256(), 32,
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool PasswordMatches(std::string_view password, std::string_view salt, std::string_view hash) {
  std::string computed = HashPassword(password, salt);
  return computed.size() == hash.size() &&
         CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

std::string SignToken(std::string_view key, UserId user, TimeMs issued_at) {
  std::string body = "v1." + std::to_string(user) + "." + std::to_string(issued_at);
  return body + "." + Mac(key, body);
}

std::optional<UserId> VerifyToken(std::string_view key, std::string_view token, TimeMs now) {
  size_t last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos || token.substr(0, 3) != "v1.") return std::nullopt;
  std::string_view body = token.substr(0, last_dot);
  std::string expected = Mac(key, body);
  std::string_view mac = token.substr(last_dot + 1);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return std::nullopt;
  }
  std::string_view fields = body.substr(3);
  size_t dot = fields.find('.');
  UserId user = 0;
  TimeMs issued = 0;
  if (dot == std::string_view::npos || !ParseNumber(fields.substr(0, dot), &user) ||
      !ParseNumber(fields.substr(dot + 1), &issued) || user == 0) {
    return std::nullopt;
  }
  if (now < issued - 60'000 || now - issued > kTokenLifetimeMs) return std::nullopt;
  return user;
}

}  // namespace parley::shard
