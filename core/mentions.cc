#include "core/mentions.h"

#include <algorithm>
#include <cstdint>

namespace parley {

Mentions ParseMentions(std::string_view text) {
  Mentions out;
  size_t pos = 0;
  while ((pos = text.find('<', pos)) != std::string_view::npos) {
    size_t close = text.find('>', pos + 1);
    if (close == std::string_view::npos) break;
    std::string_view inner = text.substr(pos + 1, close - pos - 1);
    pos = close + 1;
    if (inner == "!channel" || inner == "!here" || inner == "!everyone") {
      out.channel = true;
      continue;
    }
    if (inner.size() < 2 || inner.size() > 21 || inner[0] != '@') continue;
    UserId id = 0;
    bool digits = true;
    for (char c : inner.substr(1)) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      UserId digit = static_cast<UserId>(c - '0');
      if (id > (UINT64_MAX - digit) / 10) {  // would overflow: not an id
        digits = false;
        break;
      }
      id = id * 10 + digit;
    }
    if (!digits || id == 0) continue;
    auto it = std::lower_bound(out.users.begin(), out.users.end(), id);
    if (it != out.users.end() && *it == id) continue;
    if (out.users.size() >= kMaxMentionedUsers) continue;
    out.users.insert(it, id);
  }
  return out;
}

}  // namespace parley
