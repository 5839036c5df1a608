// Messages between shards for presence and receipts (shard/presence.cc, shard/receipts.cc).
// Like every ShardMessage, each owns its data.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include "core/ids.h"
#include "wire/frame.h"

namespace parley::shard {

// Session shard -> the user's owner: the user now has `sessions` signed-in sessions on `shard`,
// and one of them was last active at active_at. Sent when the count changes, and for activity
// at most once per report interval per user per shard.
struct PresenceReport {
  UserId user_id = 0;
  ShardId shard = 0;
  uint32_t sessions = 0;
  TimeMs active_at = 0;
};

// A SubscribePresence, gathered in two rounds. kVisibility goes to every shard: which of
// `users` share a workspace (held there) with the viewer. kWatch goes to the owners of the
// visible ones: count the asking shard as a subscriber of each one's presence topic, then
// answer their presence.
enum class PresenceQueryKind : uint8_t { kVisibility, kWatch };
struct PresenceQuery {
  uint64_t query_id = 0;
  ShardId from = 0;
  PresenceQueryKind kind = PresenceQueryKind::kVisibility;
  UserId viewer = 0;
  std::shared_ptr<const std::vector<UserId>> users;  // immutable, shared by the round
};
struct PresenceQueryPart {
  uint64_t query_id = 0;
  std::vector<UserId> visible;             // kVisibility
  std::vector<wire::PresenceInfoT> infos;  // kWatch: users that exist
};

// Session shard -> channel owner: a tracked message (receipt_seq of a Deliver) was written to
// sessions of these users.
struct ReceiptReport {
  ChannelId channel_id = 0;
  Seq seq = 0;
  std::vector<UserId> users;
};

// The user's owner -> every shard: the user's sessions now (do not) send read receipts.
struct ReadReceiptsSetting {
  UserId user_id = 0;
  bool send = true;
};

using PresenceMessage = std::variant<PresenceReport, PresenceQuery, PresenceQueryPart,
                                     ReceiptReport, ReadReceiptsSetting>;

}  // namespace parley::shard
