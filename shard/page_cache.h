// Encoded History and Sync answers shared by identical reads while their channel is unchanged.
// After a reconnect storm thousands of clients Sync the same channel from the same seq (the last
// one they all saw): the shard reads and encodes that page once, and each answer is a copy that
// carries its own request id (wire::WithRequestId). Who may read is still checked per request.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/decide.h"
#include "core/events.h"
#include "wire/frame.h"

namespace parley::shard {

// What an event changes of the pages: nothing (sessions, receipts, notifications...), the
// pages of its channel, or possibly any page (the cache forgets them all: rare events).
enum class PageScope { kNone, kChannel, kAll };
struct PageImpact {
  PageScope scope = PageScope::kAll;
  ChannelId channel = 0;  // kChannel
};
PageImpact PageImpactOf(const Event& event);

class PageCache {
 public:
  // Entries above this many bytes in all are dropped wholesale before the next one is kept.
  static constexpr size_t kMaxBytes = size_t{8} << 20;
  // The request id shared pages are encoded with: non-zero, so that the field is present and
  // WithRequestId can replace it.
  static constexpr uint64_t kSharedRequestId = ~uint64_t{0};

  struct Page {
    wire::Bytes frame;  // a MessagePage frame answering kSharedRequestId
    Seq newest = 0;     // its newest message's seq, 0 when empty
  };

  // The page encoded for `query`, or nullptr.
  const Page* Find(const HistoryQuery& query) const;
  void Keep(const HistoryQuery& query, Page page);
  // Called for every event applied to the shard's state.
  void Note(const Event& event);
  void Clear();

  size_t bytes() const { return bytes_; }
  size_t pages() const { return pages_; }

 private:
  struct Entry {
    HistoryQuery query;
    Page page;
  };
  static bool Same(const HistoryQuery& a, const HistoryQuery& b);
  void Forget(ChannelId channel);

  std::unordered_map<ChannelId, std::vector<Entry>> by_channel_;
  size_t bytes_ = 0;
  size_t pages_ = 0;
};

}  // namespace parley::shard
