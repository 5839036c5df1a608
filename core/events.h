// Domain events: what happened, as appended to a shard's log. apply(state, event) is the only
// way state changes, live and on replay. Each event kind has a stable tag (persist/ writes it
// with a schema version); a field is never reinterpreted, only added under a new version.
#pragma once

#include <string>
#include <variant>

#include "core/ids.h"

namespace parley {

struct UserRegistered {
  UserId user_id = 0;
  std::string email;  // normalised
  std::string display_name;
  std::string password_salt;  // raw bytes
  std::string password_hash;  // raw bytes, see shard/credentials.h
  TimeMs at = 0;
};

// Also creates the workspace's #general and #random channels (minted on the same shard) with the
// creator as owner and member of both.
struct WorkspaceCreated {
  WorkspaceId workspace_id = 0;
  std::string name;
  UserId owner_id = 0;
  ChannelId general_id = 0;
  ChannelId random_id = 0;
  TimeMs at = 0;
};

// A user joined a workspace as a member; they join its #general with it.
struct WorkspaceJoined {
  WorkspaceId workspace_id = 0;
  UserId user_id = 0;
  TimeMs at = 0;
};

struct ChannelCreated {
  WorkspaceId workspace_id = 0;
  ChannelId channel_id = 0;
  std::string name;
  bool is_private = false;
  UserId creator_id = 0;  // becomes the first member
  TimeMs at = 0;
};

struct ChannelJoined {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  TimeMs at = 0;
};

struct ChannelLeft {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  TimeMs at = 0;
};

struct MessagePosted {
  ChannelId channel_id = 0;
  Seq seq = 0;
  MessageId message_id = 0;
  UserId author_id = 0;
  std::string client_msg_id;  // may be empty: no deduplication
  std::string text;
  TimeMs at = 0;
};

using Event = std::variant<UserRegistered, WorkspaceCreated, WorkspaceJoined, ChannelCreated,
                           ChannelJoined, ChannelLeft, MessagePosted>;

// Stable type tags, written to the log. Never reuse a retired number.
enum class EventTag : uint16_t {
  kUserRegistered = 1,
  kWorkspaceCreated = 2,
  kWorkspaceJoined = 3,
  kChannelCreated = 4,
  kChannelJoined = 5,
  kChannelLeft = 6,
  kMessagePosted = 7,
};

EventTag TagOf(const Event& event);
std::string_view EventName(EventTag tag);  // "MessagePosted"

}  // namespace parley
