// Which typing indicators are worth showing. Typing is never logged: this is volatile state of
// the channel's shard. Pure: the caller passes the time (tests advance it by hand). Not
// thread-safe: one owner (a shard).
#pragma once

#include <cstddef>
#include <map>
#include <utility>

#include "core/decide.h"
#include "core/ids.h"

namespace parley {

// A repeated start from the same user in the same channel within this is not shown again.
inline constexpr TimeMs kTypingRepeatMs = 1000;

class TypingLimiter {
 public:
  // True when this start should be shown: none of this user's starts in the channel was shown
  // in the last kTypingRepeatMs.
  bool Start(ChannelId channel, UserId user, TimeMs now) {
    Prune(now);
    auto [it, fresh] = shown_.try_emplace({channel, user}, now);
    if (!fresh && now - it->second < kTypingRepeatMs && now >= it->second) return false;
    it->second = now;
    return true;
  }

  // True when this stop should be shown: a start was shown in the last kTypingExpiryMs (after
  // that, clients have expired the indicator by themselves).
  bool Stop(ChannelId channel, UserId user, TimeMs now) {
    Prune(now);
    auto it = shown_.find({channel, user});
    if (it == shown_.end()) return false;
    bool live = now - it->second < kTypingExpiryMs;
    shown_.erase(it);
    return live;
  }

  size_t size() const { return shown_.size(); }

  // Entries older than the expiry decide nothing any more: drop them, at most once per expiry
  // period, so the map holds only the users typing in the last few seconds. Start and Stop call
  // it; the shard's housekeeping calls it too, so that a burst of typing is forgotten even when
  // nobody types afterwards.
  void Prune(TimeMs now) {
    if (now - pruned_at_ < kTypingExpiryMs) return;
    pruned_at_ = now;
    std::erase_if(shown_, [&](const auto& kv) { return now - kv.second >= kTypingExpiryMs; });
  }

 private:

  std::map<std::pair<ChannelId, UserId>, TimeMs> shown_;  // when each user's last start was shown
  TimeMs pruned_at_ = 0;
};

}  // namespace parley
