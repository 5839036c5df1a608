// Identifiers and ownership. An entity's owner shard is OwnerShard(id, shard_count): ids are
// minted by their owner so that id % shard_count names it. A workspace's channels are minted on
// the workspace's shard, so every rule about a workspace (name uniqueness, membership checks,
// #general) is decided on one shard without a cross-shard transaction; users are minted on
// ShardOfEmail(email), so email uniqueness is also a one-shard decision.
#pragma once

#include <cstdint>
#include <string_view>

namespace parley {

using UserId = uint64_t;
using WorkspaceId = uint64_t;
using ChannelId = uint64_t;
using MessageId = uint64_t;
using Seq = uint64_t;    // per-channel message sequence, 1-based, no gaps
using Lsn = uint64_t;    // per-shard log sequence number, 1-based, no gaps
using TimeMs = int64_t;  // milliseconds since the Unix epoch
using ShardId = uint32_t;

inline constexpr uint64_t kNoId = 0;

inline ShardId OwnerShard(uint64_t id, uint32_t shard_count) {
  return static_cast<ShardId>(id % shard_count);
}

// The n-th id (n >= 1) minted by `shard`. OwnerShard(MintId(n, s, N), N) == s.
inline uint64_t MintId(uint64_t n, ShardId shard, uint32_t shard_count) {
  return n * shard_count + shard;
}

// FNV-1a 64 of the normalised email. Persisted data depends on it: never change it.
inline uint64_t EmailHash(std::string_view normalised_email) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : normalised_email) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline ShardId ShardOfEmail(std::string_view normalised_email, uint32_t shard_count) {
  return static_cast<ShardId>(EmailHash(normalised_email) % shard_count);
}

}  // namespace parley
