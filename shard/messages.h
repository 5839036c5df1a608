// Messages between shards. Each owns its data: no pointer into another shard's memory crosses a
// mailbox, except the immutable, ref-counted encoded frames of a fan-out (wire::SharedBytes).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.h"
#include "wire/frame.h"

namespace parley::shard {

// A session, named across shards. gen changes whenever a slot is reused, so a late reply to a
// closed session is recognised and dropped.
struct SessionRef {
  ShardId shard = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
};

// A verified request frame forwarded from the session's shard to the owner of what it names.
struct ForwardedRequest {
  SessionRef from;
  uint64_t request_id = 0;
  UserId actor = 0;                 // 0 before login
  std::vector<uint8_t> payload;     // the verified Frame, without its length prefix
  bool already_subscribed = false;  // Sync/Subscribe: the session holds the subscription
};

struct ChannelCursor {
  ChannelId channel_id = 0;
  WorkspaceId workspace_id = 0;
  Seq last_seq = 0;
};

// What the session's shard must do when a reply arrives, besides writing `frame`.
struct SubscribeEffect {  // the owner counted one subscription per channel for this shard
  std::vector<ChannelId> channel_ids;
};
struct LoginEffect {  // credentials accepted: the session shard signs the user in
  UserId user_id = 0;
  std::string display_name;
};
using ReplyEffect = std::variant<std::monostate, SubscribeEffect, LoginEffect>;

struct Reply {
  SessionRef to;
  uint64_t request_id = 0;
  wire::Bytes frame;  // empty when the effect produces the frame (login)
  ReplyEffect effect;
};

// Scatter-gather over every shard about one user.
enum class UserQueryKind : uint8_t {
  kSubscribeChannels,  // count a subscription from `from.shard` for each of the user's channels
  kWorkspaces,
};
struct UserQuery {
  uint64_t query_id = 0;
  ShardId from = 0;
  UserId user_id = 0;
  UserQueryKind kind = UserQueryKind::kWorkspaces;
};
struct UserQueryPart {
  uint64_t query_id = 0;
  std::vector<ChannelCursor> channels;
  std::vector<wire::WorkspaceInfoT> workspaces;
};

// Subscriber shard -> owner: `delta` sessions of shard `shard` (un)subscribed to the channel.
struct Interest {
  ChannelId channel_id = 0;
  ShardId shard = 0;
  int32_t delta = 0;
};

// Owner -> each shard with subscribers: one encoded event for all local subscribers.
struct Deliver {
  ChannelId channel_id = 0;
  wire::SharedBytes frame;
};

// Owner -> every shard: a user's channel membership changed; sessions of that user follow.
struct MembershipChanged {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  bool joined = false;
};

using ShardMessage = std::variant<ForwardedRequest, Reply, UserQuery, UserQueryPart, Interest,
                                  Deliver, MembershipChanged>;

}  // namespace parley::shard
