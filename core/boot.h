// Boot and resume: what one shard contributes to a user's first screen (all of it, or what
// changed since a state version), and the resume token that names the versions a client holds.
// Pure: the shard layer gathers the views of every shard, pages them and encodes the answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/decide.h"
#include "core/state.h"

namespace parley {

// What a shard is asked.
struct BootSince {
  bool full = true;      // everything; otherwise what changed after `version`
  uint64_t version = 0;  // the shard's version the client holds (resume)
  // A later page: only channels with a greater id; workspaces and removals came with the first.
  ChannelId after_channel = 0;
};

struct BootChannelView {
  const ChannelState* channel = nullptr;
  UnreadCounts unread;
};

struct BootWorkspaceView {
  const WorkspaceState* workspace = nullptr;
  WorkspaceRole role = WorkspaceRole::kMember;
};

// Pointers are valid until the next Apply.
struct BootView {
  uint64_t version = 0;  // the shard's version this view reflects
  // The client holds a version this shard never reached (its log lost a tail, or a restored
  // backup): nothing else is filled in; the caller answers a full boot instead.
  bool ahead = false;
  std::vector<BootWorkspaceView> workspaces;   // ascending id; first page only
  std::vector<BootChannelView> channels;       // ascending id
  std::vector<UnreadThread> threads;           // in the channels listed, unordered
  std::vector<WorkspaceId> removed_workspaces;  // resume, first page only: ascending
  std::vector<ChannelId> removed_channels;      // resume, first page only: ascending
};

// The user's workspaces and channels held by this shard that a boot shows: all of them (full),
// or those changed after since.version plus those the user no longer has (left, removed, or
// deactivated in their workspace). "Changed" is per channel: anyone's post or read marker in it
// changes it, so a resume may repeat a channel whose user-visible fields did not move. A removed
// id may be one the client never held (it is dropped if held).
BootView BootViewOf(const ShardState& state, UserId user, const BootSince& since);

// ---- Resume tokens: opaque bytes to clients ---------------------------------------------------

enum class BootTokenKind : uint8_t {
  kResume = 0,            // versions: what the client holds
  kFullContinued = 1,     // the next page of a full boot; next: the versions its first page saw
  kResumeContinued = 2,   // the next page of a resume from versions; next as above
};

struct BootToken {
  BootTokenKind kind = BootTokenKind::kResume;
  UserId user_id = 0;
  uint32_t shard_count = 0;
  std::vector<uint64_t> versions;  // kResume, kResumeContinued: one per shard
  std::vector<uint64_t> next;      // continuations: one per shard, the token after the last page
  ChannelId after_channel = 0;     // continuations: the last channel id already sent
  bool operator==(const BootToken&) const = default;
};

// Format byte 1, kind byte, then LEB128 varints: user, shard count, the version lists the kind
// has (shard-count entries each), after_channel for continuations. Decode accepts exactly what
// Encode writes (nothing trailing, 1 to kMaxBootShards shards, lists of the right length);
// anything else is not a token (nullopt).
inline constexpr uint32_t kMaxBootShards = 1024;
std::string EncodeBootToken(const BootToken& token);
std::optional<BootToken> DecodeBootToken(std::string_view bytes);

}  // namespace parley
