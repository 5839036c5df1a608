// Searcher: runs one search over every shard's index at once (a Xapian database combining
// them, so BM25 statistics and ranks are global, not per shard). The caller (the shard that took
// the request) has already worked out, from the owners' state at query time, what the asker may
// see: the searcher never decides access, it only applies the lists it is given.
//
// Thread-safe: each search borrows a database handle from a small pool; run it off the shard
// loops (a WorkerPool).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <xapian.h>

#include "core/error.h"
#include "core/ids.h"

namespace parley::search {

enum class SearchKind : uint8_t { kMessages = 0, kChannels = 1, kPeople = 2 };

struct SearchSpec {
  SearchKind kind = SearchKind::kMessages;
  // Words, "phrases", prefix*, -exclusions (core/search_query.h), for Xapian's query parser.
  // Empty: every document the filters let through.
  std::string text;
  bool by_date = false;  // newest first; otherwise by relevance (ties: newest first)
  uint32_t offset = 0;
  uint32_t limit = 20;
  // kMessages: the channels whose messages may be returned (readable by the asker, narrowed by
  // in: filters). kChannels: the channels the asker may see. Empty: nothing matches.
  std::vector<ChannelId> channels;
  // kPeople: the users the asker may see. Empty: nothing matches.
  std::vector<UserId> people;
  // kMessages filters.
  std::vector<UserId> authors;  // from:, any of them; empty = anyone
  std::optional<TimeMs> not_before;  // at >= not_before
  std::optional<TimeMs> before;      // at < before
  bool has_link = false;
  bool has_reaction = false;
  bool has_pin = false;
  bool in_thread = false;
};

// A highlighted range of a snippet: byte offset and length.
using Highlight = std::pair<uint32_t, uint32_t>;

struct MessageHit {
  ChannelId channel_id = 0;
  Seq seq = 0;
  Seq thread_seq = 0;
  UserId author_id = 0;
  TimeMs at = 0;
  std::string snippet;  // plain text around the best match, at most ~200 bytes
  std::vector<Highlight> highlights;
};

struct ChannelHit {
  ChannelId channel_id = 0;
  WorkspaceId workspace_id = 0;
  std::string name;
  std::string topic;
  std::string purpose;
  bool is_private = false;
};

struct PersonHit {
  UserId user_id = 0;
  std::string display_name;
  std::string title;
};

struct SearchPage {
  uint64_t estimated_total = 0;  // Xapian's estimate of all matches
  bool has_more = false;
  std::vector<MessageHit> messages;
  std::vector<ChannelHit> channels;
  std::vector<PersonHit> people;
};

inline constexpr uint32_t kMaxSearchLimit = 100;
// Deeper pages cost memory in proportion (Xapian keeps offset + limit candidates): refine the
// query instead.
inline constexpr uint32_t kMaxSearchOffset = 10'000;

class Searcher {
 public:
  // Opens nothing yet: the first search opens the shard_count indexes under data_dir.
  Searcher(std::string data_dir, uint32_t shard_count);
  ~Searcher();

  // kInvalidArgument for text Xapian cannot parse; kUnavailable if an index cannot be opened.
  Result<SearchPage> Run(const SearchSpec& spec) const;

 private:
  struct Handle;
  Result<std::unique_ptr<Handle>> Borrow() const;
  void Return(std::unique_ptr<Handle> handle) const;
  static SearchPage RunOn(const Xapian::Database& db, const SearchSpec& spec);

  std::string data_dir_;
  uint32_t shard_count_;
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<Handle>> idle_;
};

// Splits a Xapian snippet (HTML-escaped, with the two marker bytes around matches) into plain
// text and highlight ranges. Exposed for tests.
void SplitSnippet(std::string_view marked, std::string* text, std::vector<Highlight>* highlights);

}  // namespace parley::search
