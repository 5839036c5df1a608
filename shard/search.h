// What travels between shards for a Search (shard/search.cc): the question every shard is asked
// about the asker, and the part each answers from its own state at that moment. The session's
// shard joins the parts into the access lists of a search::SearchSpec, so a search only ever
// returns what its asker may read when it runs. Both own their data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/search_query.h"
#include "core/state.h"
#include "search/searcher.h"

namespace parley::shard {

// UserQueryKind::kSearch: shared by the copies sent to every shard (immutable).
struct SearchAsk {
  uint8_t kind = 0;  // search::SearchKind
  // The people the query's in: and from: filters name (never PersonRef::kMe), by index.
  std::vector<PersonRef> people;
};

struct ScopeChannel {
  ChannelId id = 0;
  WorkspaceId workspace_id = 0;
  std::string name;  // channels; empty for conversations
  ChannelKind kind = ChannelKind::kChannel;
  UserId other = 0;  // a direct conversation: the member who is not the asker
  bool member = true;  // channel searches also list public channels the asker has not joined
  bool is_private = false;
};

struct SearchPart {
  // Messages: the channels and conversations the asker may read here. Channels: the channels
  // they may see (public ones of their workspaces, unless a guest, and the ones they are in).
  std::vector<ScopeChannel> channels;
  // People searches, and message searches with person filters: whom the asker may see (held
  // here or not). Person filters only ever name these.
  std::vector<UserId> people;
  // For each SearchAsk::people entry, the users held here that it names.
  std::vector<std::vector<UserId>> named;
};

// The session's shard, while the parts come in.
struct SearchPending {
  SearchQuery query;
  std::string typed;  // the query as the user typed it: what recent searches remember
  search::SearchKind kind = search::SearchKind::kMessages;
  bool by_date = false;
  uint32_t offset = 0;
  uint32_t limit = 0;
  std::optional<TimeMs> not_before;  // the date filters, resolved in the asker's time zone
  std::optional<TimeMs> before;
  std::shared_ptr<const SearchAsk> ask;
  SearchPart merged;
};

}  // namespace parley::shard
