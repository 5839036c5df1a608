// Recent searches, on the user's shard. The query is stored as typed (trimmed), not parsed:
// it is shown back to the user and run again as it was.
#include "core/decide_rules.h"
#include "core/search_query.h"

namespace parley::rules {

namespace {

Error UserNotFound() { return MakeError(ErrorCode::kNotFound, "user not found", "user_id"); }

}  // namespace

Decision DecideOn(const ShardState& state, const RecordSearch& c, Context& ctx) {
  if (state.FindUser(c.actor) == nullptr) return UserNotFound();
  std::string_view query = TrimAscii(c.query);
  if (query.empty()) return Invalid("query is empty", "query");
  if (query.size() > kMaxSearchQueryBytes) {
    return Invalid(TooLong("query", kMaxSearchQueryBytes), "query");
  }
  if (!IsValidUtf8(query)) return Invalid("query is not valid UTF-8", "query");
  return Emit(SearchRecorded{c.actor, std::string(query), ctx.now});
}

// Logged even when the list is already empty: clearing is rare, and every clear then looks the
// same to the caller.
Decision DecideOn(const ShardState& state, const ClearRecentSearches& c, Context& ctx) {
  if (state.FindUser(c.actor) == nullptr) return UserNotFound();
  return Emit(RecentSearchesCleared{c.actor, ctx.now});
}

}  // namespace parley::rules
