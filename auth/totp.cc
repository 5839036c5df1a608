#include "auth/totp.h"

#include <algorithm>
#include <set>

#include "auth/encoding.h"

namespace parley::auth {
namespace {

// 32 symbols, so `byte & 31` picks one uniformly.
constexpr std::string_view kRecoveryAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
constexpr size_t kRecoveryGroups = 3;
constexpr size_t kRecoveryGroupLen = 4;

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string NewRecoveryCode() {
  const std::string random = RandomBytes(kRecoveryGroups * kRecoveryGroupLen);
  std::string code;
  for (size_t i = 0; i < random.size(); ++i) {
    if (i > 0 && i % kRecoveryGroupLen == 0) code.push_back('-');
    code.push_back(kRecoveryAlphabet[static_cast<unsigned char>(random[i]) & 31]);
  }
  return code;
}

}  // namespace

uint64_t TotpStep(TimeMs now) {
  if (now < 0) return 0;
  return static_cast<uint64_t>(now) / 1000 / kTotpPeriodS;
}

std::string TotpCode(std::string_view secret, uint64_t step, int digits) {
  digits = std::clamp(digits, 1, 10);
  const std::string mac = HmacSha1(secret, BigEndian64(step));
  const size_t offset = static_cast<unsigned char>(mac[mac.size() - 1]) & 0x0f;
  const auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(mac[i]));
  };
  const uint32_t binary = (byte(offset) & 0x7f) << 24 | byte(offset + 1) << 16 |
                          byte(offset + 2) << 8 | byte(offset + 3);
  uint64_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  code.insert(0, static_cast<size_t>(digits) - std::min(code.size(), size_t(digits)), '0');
  return code;
}

std::optional<uint64_t> MatchTotp(std::string_view secret, std::string_view code, TimeMs now) {
  std::string digits;
  for (char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9' || digits.size() == kTotpDigits) return std::nullopt;
    digits.push_back(c);
  }
  if (digits.size() != kTotpDigits || secret.empty()) return std::nullopt;
  const uint64_t step = TotpStep(now);
  std::optional<uint64_t> matched;
  // Every candidate is computed and compared, so timing does not tell which one matched.
  for (uint64_t candidate = step == 0 ? 0 : step - 1; candidate <= step + 1; ++candidate) {
    if (ConstantTimeEquals(TotpCode(secret, candidate, kTotpDigits), digits) && !matched) {
      matched = candidate;
    }
  }
  return matched;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account, std::string_view secret) {
  const std::string enc_issuer = PercentEncode(issuer);
  return "otpauth://totp/" + enc_issuer + ":" + PercentEncode(account) +
         "?secret=" + Base32Encode(secret) + "&issuer=" + enc_issuer +
         "&algorithm=SHA1&digits=6&period=30";
}

std::vector<std::string> NewRecoveryCodes(size_t n) {
  std::vector<std::string> codes;
  std::set<std::string> seen;
  while (codes.size() < n) {
    std::string code = NewRecoveryCode();
    if (seen.insert(code).second) codes.push_back(std::move(code));
  }
  return codes;
}

std::string NormaliseRecoveryCode(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

}  // namespace parley::auth
