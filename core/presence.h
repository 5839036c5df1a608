// Presence and receipts: the product's rules, pure (no clock: `now` comes in).
//
// Presence is owned by the user's shard. Its logged part (a manual away, the custom status, the
// last time the user was seen, whether they send read receipts) lives in UserState; its live
// part (how many sessions the user has signed in, when one was last active) is volatile and kept
// by the shard, which passes it here as LivePresence.
//
// Receipts are owned by the channel's shard: ChannelState::receipts holds, per member, how far
// messages have been delivered to (reached one of their sessions) and read by them.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/decide.h"
#include "core/state.h"

namespace parley {

// Values are sent on the wire (wire::Presence): never renumber. kUnavailable: unknown user, or
// one who shares no workspace with the viewer.
enum class Presence : uint8_t { kUnavailable = 0, kOffline = 1, kOnline = 2, kAway = 3 };
std::string_view PresenceName(Presence p);  // "online"

inline constexpr TimeMs kDefaultAwayAfterMs = 30 * kMinuteMs;  // auto-away (parleyd flag)
inline constexpr size_t kMaxStatusChars = 100;                 // code points of status text
inline constexpr size_t kMaxPresenceSubscriptions = 500;       // users per SubscribePresence
inline constexpr uint32_t kDefaultReceiptsMaxMembers = 50;
inline constexpr uint32_t kMaxReceiptsMaxMembers = 10'000;

struct LivePresence {
  uint32_t sessions = 0;   // signed-in sessions on every shard
  TimeMs last_active = 0;  // newest activity any of them reported
};

// offline without sessions; away by choice or after `away_after_ms` without activity; online
// otherwise.
Presence PresenceOf(const UserState& user, const LivePresence& live, TimeMs now,
                    TimeMs away_after_ms);

// The custom status as shown at `now`: empty once it expired.
struct ShownStatus {
  std::string_view text;
  std::string_view emoji;
  TimeMs expires_at = 0;
};
ShownStatus StatusAt(const UserState& user, TimeMs now);

// Of `users`, those who share an active membership of a workspace held by this shard with
// `viewer` (the viewer included if a member of any). Ascending, without duplicates.
std::vector<UserId> UsersSharingWorkspace(const ShardState& state, UserId viewer,
                                          const std::vector<UserId>& users);

// Direct and group conversations always track receipts; channels while they have at most the
// workspace's receipts_max_members members (0: never).
bool ReceiptsTracked(const ShardState& state, const ChannelState& channel);

// Who among the channel's members (the author left out) a message reached and who read it.
struct MessageReceipts {
  bool tracked = false;
  UserId author_id = 0;
  std::vector<UserId> delivered_to;  // ascending; readers included
  std::vector<UserId> read_by;       // ascending
};
// Members of the channel only (CheckCanRead); kNotFound for a seq that does not exist.
Result<MessageReceipts> ListMessageReceipts(const ShardState& state, UserId actor,
                                            ChannelId channel, Seq seq);

// A presence subscription's topic for `user`: owned by the user's shard and never a real id
// (ids stay far below 2^62).
inline uint64_t PresenceTopic(UserId user, uint32_t shard_count) {
  return user + ((uint64_t{1} << 62) / shard_count) * shard_count;
}
inline bool IsPresenceTopic(uint64_t id, uint32_t shard_count) {
  return id >= ((uint64_t{1} << 62) / shard_count) * shard_count;
}

}  // namespace parley
