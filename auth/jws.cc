#include "auth/jws.h"

#include <cmath>
#include <limits>
#include <string>

#include "auth/encoding.h"

namespace parley::auth::jws {

std::optional<CompactParts> Split(std::string_view token) {
  const size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  if (first == 0 || second == first + 1) return std::nullopt;
  return CompactParts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                      token.substr(second + 1), token.substr(0, second)};
}

std::optional<nlohmann::json> DecodeObject(std::string_view segment) {
  const auto text = Base64UrlDecode(segment);
  if (!text) return std::nullopt;
  try {
    nlohmann::json value = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_object()) return std::nullopt;  // also rejects "discarded" (a parse error)
    return value;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string_view> StringMember(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return std::string_view(it->get_ref<const std::string&>());
}

std::optional<int64_t> NumericDateMember(const nlohmann::json& object, const char* name) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    return v > static_cast<uint64_t>(kMax) ? kMax : static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_number_float()) return std::nullopt;
  const double v = std::floor(it->get<double>());
  if (!std::isfinite(v)) return std::nullopt;
  // 2^63 is exactly representable; anything at or beyond it saturates.
  if (v >= 9223372036854775808.0) return kMax;
  if (v < -9223372036854775808.0) return kMin;
  return static_cast<int64_t>(v);
}

int64_t FloorSeconds(TimeMs now) {
  int64_t s = now / 1000;
  if (now % 1000 < 0) --s;
  return s;
}

}  // namespace parley::auth::jws
