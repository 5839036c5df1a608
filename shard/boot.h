// What travels between shards for a Boot (shard/boot.cc): the question each shard is asked and
// the part it answers. Both own their data.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/boot.h"
#include "wire/frame.h"

namespace parley::shard {

// UserQueryKind::kBoot: what every shard is asked (one copy per shard; a few words per shard).
struct BootAsk {
  bool full = true;
  std::vector<uint64_t> since;  // resume: the client's version of each shard
  // The newest version of each shard the client has seen (empty: none); a shard below it
  // reports itself `ahead`.
  std::vector<uint64_t> known;
  ChannelId after_channel = 0;  // a later page
};

// One shard's part. The user's own shard also answers `user` (and is where per-user data the
// first screen needs comes from).
struct BootPart {
  ShardId shard = 0;
  uint64_t version = 0;
  bool ahead = false;  // the client holds a version this shard never reached
  bool has_user = false;
  wire::BootUserT user;
  std::vector<wire::BootWorkspaceT> workspaces;
  std::vector<wire::BootChannelT> channels;
  std::vector<wire::UnreadThreadT> threads;
  std::vector<uint64_t> removed_workspaces;
  std::vector<uint64_t> removed_channels;
};

// The gathering shard's view of a Boot in flight.
struct BootPending {
  BootToken token;  // what the client sent (kind kResume with no versions: a full boot)
  bool full = true;
  bool restarted = false;  // already re-asked as a full boot once (a shard was behind the token)
  uint32_t max_bytes = 0;  // the answer's frame limit, length prefix excluded
  std::vector<uint64_t> seen;  // each shard's version, as its part reported it
  BootPart merged;
  // presence_of: the users whose presence the answer carries, gathered (and subscribed to)
  // once the parts are in; presences: what that gathering answered.
  std::vector<UserId> presence_of;
  bool presence_gathered = false;
  std::vector<std::unique_ptr<wire::PresenceInfoT>> presences;
};

}  // namespace parley::shard
