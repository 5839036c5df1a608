#include "auth/opaque_token.h"

#include "auth/encoding.h"

namespace parley::auth {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kMinSecretChars = 20;
constexpr size_t kMaxSecretChars = 128;

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Takes a non-zero canonical decimal id and its '_' terminator off the front of `rest`.
std::optional<uint64_t> TakeId(std::string_view& rest) {
  const size_t end = rest.find('_');
  if (end == std::string_view::npos) return std::nullopt;
  const auto id = ParseDecimalU64(rest.substr(0, end));
  if (!id || *id == 0) return std::nullopt;
  rest.remove_prefix(end + 1);
  return id;
}

}  // namespace

std::string NewOpaqueToken(std::string_view prefix, uint64_t a, uint64_t b,
                           std::string* secret_out) {
  const std::string secret = Base64UrlEncode(RandomBytes(kSecretBytes));
  if (secret_out != nullptr) *secret_out = secret;
  return std::string(prefix) + "_" + std::to_string(a) + "_" + std::to_string(b) + "_" + secret;
}

std::optional<OpaqueToken> ParseOpaqueToken(std::string_view prefix, std::string_view token) {
  if (prefix.empty() || token.size() <= prefix.size() || token.substr(0, prefix.size()) != prefix ||
      token[prefix.size()] != '_') {
    return std::nullopt;
  }
  std::string_view rest = token.substr(prefix.size() + 1);
  const auto a = TakeId(rest);
  if (!a) return std::nullopt;
  const auto b = TakeId(rest);
  if (!b) return std::nullopt;
  if (rest.size() < kMinSecretChars || rest.size() > kMaxSecretChars) return std::nullopt;
  for (char c : rest) {
    if (!IsBase64UrlChar(c)) return std::nullopt;
  }
  return OpaqueToken{*a, *b, std::string(rest)};
}

std::string HashSecret(std::string_view secret) { return Sha256(secret); }

}  // namespace parley::auth
