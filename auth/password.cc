#include "auth/password.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "auth/encoding.h"

namespace parley::auth {
namespace {

constexpr std::string_view kScryptPrefix = "$scrypt$";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr int kLegacyIterations = 1000;
constexpr size_t kLegacyHashBytes = 32;

bool ParamsInRange(uint64_t log2_n, uint64_t r, uint64_t p) {
  return log2_n >= 1 && log2_n <= 22 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

// scrypt allocates 128 * r * p bytes for B and 128 * r * (N + 2) for V; OpenSSL refuses anything
// above maxmem, whose default (32 MiB) is too small for N = 2^15, r = 8.
uint64_t MaxMem(const ScryptParams& params) {
  const uint64_t n = uint64_t{1} << params.log2_n;
  return 128 * uint64_t{params.r} * (n + 2) + 128 * uint64_t{params.r} * params.p + (1u << 20);
}

std::optional<std::string> Scrypt(std::string_view password, std::string_view salt,
                                  const ScryptParams& params, size_t out_len) {
  std::string out(out_len, '\0');
  const int ok = EVP_PBE_scrypt(password.data(), password.size(),
                                reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                                uint64_t{1} << params.log2_n, params.r, params.p, MaxMem(params),
                                reinterpret_cast<unsigned char*>(out.data()), out.size());
  if (ok != 1) return std::nullopt;
  return out;
}

std::string EncodeUnpadded(std::string_view bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

std::optional<std::string> DecodeUnpadded(std::string_view text) {
  if (text.find('=') != std::string_view::npos) return std::nullopt;
  std::string padded(text);
  padded.append((4 - padded.size() % 4) % 4, '=');
  return Base64Decode(padded);
}

struct ParsedHash {
  ScryptParams params;
  std::string salt;
  std::string hash;
};

// Reads "<key>=<decimal>" from the front of `text`.
std::optional<uint64_t> TakeParam(std::string_view& text, std::string_view key) {
  if (text.substr(0, key.size() + 1) != std::string(key) + "=") return std::nullopt;
  text.remove_prefix(key.size() + 1);
  const size_t end = text.find(',');
  const auto value = ParseDecimalU64(text.substr(0, end));
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return value;
}

std::optional<ScryptParams> ParseParams(std::string_view text) {
  const auto ln = TakeParam(text, "ln");
  const auto r = TakeParam(text, "r");
  const auto p = TakeParam(text, "p");
  if (!ln || !r || !p || !text.empty() || !ParamsInRange(*ln, *r, *p)) return std::nullopt;
  return ScryptParams{static_cast<uint8_t>(*ln), static_cast<uint32_t>(*r),
                      static_cast<uint32_t>(*p)};
}

std::optional<ParsedHash> ParseScryptHash(std::string_view stored) {
  stored.remove_prefix(kScryptPrefix.size());
  const size_t params_end = stored.find('$');
  if (params_end == std::string_view::npos) return std::nullopt;
  const size_t salt_end = stored.find('$', params_end + 1);
  if (salt_end == std::string_view::npos) return std::nullopt;
  auto params = ParseParams(stored.substr(0, params_end));
  auto salt = DecodeUnpadded(stored.substr(params_end + 1, salt_end - params_end - 1));
  auto hash = DecodeUnpadded(stored.substr(salt_end + 1));
  if (!params || !salt || !hash) return std::nullopt;
  // Exactly 32 bytes: scrypt's shorter outputs are prefixes of longer ones, so accepting other
  // lengths would accept truncated hashes.
  if (salt->empty() || salt->size() > 64 || hash->size() != kHashBytes) return std::nullopt;
  return ParsedHash{*params, std::move(*salt), std::move(*hash)};
}

PasswordCheck VerifyScrypt(std::string_view password, std::string_view stored,
                           const ScryptParams& current) {
  const auto parsed = ParseScryptHash(stored);
  if (!parsed) return PasswordCheck::kMismatch;
  const auto computed = Scrypt(password, parsed->salt, parsed->params, kHashBytes);
  if (!computed || !ConstantTimeEquals(*computed, parsed->hash)) return PasswordCheck::kMismatch;
  return parsed->params == current ? PasswordCheck::kMatch : PasswordCheck::kMatchNeedsRehash;
}

PasswordCheck VerifyLegacy(std::string_view password, std::string_view stored,
                           std::string_view legacy_salt) {
  if (legacy_salt.empty() || stored.size() != kLegacyHashBytes) return PasswordCheck::kMismatch;
  unsigned char out[kLegacyHashBytes];
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                                   reinterpret_cast<const unsigned char*>(legacy_salt.data()),
                                   static_cast<int>(legacy_salt.size()), kLegacyIterations,
                                   EVP_sha256(), sizeof(out), out);
  if (ok != 1) return PasswordCheck::kMismatch;
  const std::string_view computed(reinterpret_cast<const char*>(out), sizeof(out));
  return ConstantTimeEquals(computed, stored) ? PasswordCheck::kMatchNeedsRehash
                                              : PasswordCheck::kMismatch;
}

}  // namespace

bool operator==(const ScryptParams& a, const ScryptParams& b) {
  return a.log2_n == b.log2_n && a.r == b.r && a.p == b.p;
}

std::string HashPassword(std::string_view password, const ScryptParams& params) {
  if (!ParamsInRange(params.log2_n, params.r, params.p)) std::abort();
  const std::string salt = RandomBytes(kSaltBytes);
  const auto hash = Scrypt(password, salt, params, kHashBytes);
  if (!hash) std::abort();
  return std::string(kScryptPrefix) + "ln=" + std::to_string(params.log2_n) +
         ",r=" + std::to_string(params.r) + ",p=" + std::to_string(params.p) + "$" +
         EncodeUnpadded(salt) + "$" + EncodeUnpadded(*hash);
}

PasswordCheck VerifyPassword(std::string_view password, std::string_view stored,
                             std::string_view legacy_salt, const ScryptParams& current) {
  if (stored.substr(0, kScryptPrefix.size()) == kScryptPrefix) {
    return VerifyScrypt(password, stored, current);
  }
  return VerifyLegacy(password, stored, legacy_salt);
}

const std::string& DummyHash(const ScryptParams& params) {
  using Key = std::tuple<uint8_t, uint32_t, uint32_t>;
  static std::mutex mu;
  static std::map<Key, std::string> cache;  // never erased: references stay valid
  const Key key{params.log2_n, params.r, params.p};
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  // Hashed outside the lock so that a first call for new params does not stall callers using
  // params already cached. Concurrent first calls may each hash; the first insert wins.
  std::string hash = HashPassword(Base64UrlEncode(RandomBytes(18)), params);
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(key, std::move(hash)).first->second;
}

}  // namespace parley::auth
