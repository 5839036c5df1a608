// Mentions in message text. The syntax (docs/protocol.md, "Mentions"):
//   <@123>        the user with id 123
//   <!channel>    every member of the channel
//   <!here>       every member of the channel (the server does not narrow it to those online)
//   <!everyone>   every member of the channel (in #general: the whole workspace)
// Anything else between < and > is left alone, so text may contain "<" freely.
#pragma once

#include <string_view>
#include <vector>

#include "core/ids.h"

namespace parley {

struct Mentions {
  std::vector<UserId> users;  // ascending, without duplicates
  bool channel = false;       // any of <!channel>, <!here>, <!everyone>

  bool empty() const { return users.empty() && !channel; }
  bool operator==(const Mentions&) const = default;
};

// At most kMaxMentionedUsers distinct users are kept; later ones are ignored.
inline constexpr size_t kMaxMentionedUsers = 50;
Mentions ParseMentions(std::string_view text);

}  // namespace parley
