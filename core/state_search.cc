// Recent searches: applying their events. The list lives in the user's record, so operator== and
// replay cover it with the rest of the user.
#include <algorithm>
#include <utility>

#include "core/search_query.h"
#include "core/state.h"

namespace parley {

std::vector<RecentSearch> ShardState::RecentSearchesOf(UserId user) const {
  const UserState* u = FindUser(user);
  return u == nullptr ? std::vector<RecentSearch>{} : u->recent_searches;
}

void ShardState::ApplyEvent(SearchRecorded&& e) {
  UserState* user = MutableUser(e.user_id);
  if (user == nullptr) return;
  std::vector<RecentSearch>& list = user->recent_searches;
  auto same = std::find_if(list.begin(), list.end(),
                           [&](const RecentSearch& r) { return r.query == e.query; });
  if (same != list.end()) list.erase(same);
  list.insert(list.begin(), RecentSearch{std::move(e.query), e.at});
  if (list.size() > kMaxRecentSearches) list.resize(kMaxRecentSearches);
}

void ShardState::ApplyEvent(const RecentSearchesCleared& e) {
  if (UserState* user = MutableUser(e.user_id)) user->recent_searches.clear();
}

}  // namespace parley
