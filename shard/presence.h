// Live presence kept by a shard (shard/presence.cc). Volatile: never logged, rebuilt as clients
// reconnect. Shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <unordered_map>
#include <vector>

#include "core/presence.h"
#include "shard/messages.h"

namespace parley::shard {

struct PresenceRuntime {
  // --- as the owner of users: their live presence from every shard's reports.
  struct LiveUser {
    std::vector<uint32_t> sessions;  // per shard
    TimeMs last_active = 0;
    Presence shown = Presence::kOffline;  // what was last announced
  };
  std::unordered_map<UserId, LiveUser> live;  // users with a session somewhere
  // When each live user turns away unless a newer activity moved it: checked by the tick, an
  // entry that no longer matches its user's last_active is dropped.
  std::multimap<TimeMs, UserId> away_at;
  TimeMs expiries_checked_at = 0;  // status expiries up to here are announced

  // --- as a session shard: the signed-in users here, and their activity reports.
  struct LocalUser {
    uint32_t sessions = 0;
    TimeMs last_active = 0;
    TimeMs reported_at = 0;  // last report sent to the owner
    bool dirty = false;      // activity since that report, to send once the interval passed
  };
  std::unordered_map<UserId, LocalUser> local;
  std::vector<UserId> dirty;

  // --- SubscribePresence requests of local sessions being gathered.
  struct PendingQuery {
    SessionRef session;
    uint64_t request_id = 0;
    UserId viewer = 0;
    std::vector<UserId> asked;  // in the order asked, without duplicates
    uint32_t parts_left = 0;
    bool watching = false;  // second round (kWatch) under way
    std::vector<UserId> visible;
    std::unordered_map<UserId, wire::PresenceInfoT> infos;
    // Set when the answer is part of another one (Boot): called with the presences instead of
    // answering PresenceList.
    std::function<void(std::vector<std::unique_ptr<wire::PresenceInfoT>>)> then;
  };
  std::unordered_map<uint64_t, PendingQuery> queries;
  std::unordered_map<uint32_t, uint64_t> latest_query;  // by session slot: the newest one wins
  uint64_t next_query_id = 1;

  // --- as a channel's owner: deliveries reported since the last flush (once per loop turn), by
  // channel and user, so that a busy channel logs one receipts record per turn, not per post.
  std::unordered_map<ChannelId, std::unordered_map<UserId, Seq>> delivered;
};

}  // namespace parley::shard
