// decide: validate a command against current state and produce the event it causes. Pure: no
// clock, no randomness, no I/O; the clock reading and fresh ids come in through Context.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/commands.h"
#include "core/error.h"
#include "core/events.h"
#include "core/state.h"

namespace parley {

// Product limits (seed 001 and the foundation issue).
inline constexpr size_t kMaxMessageBytes = 4000;
inline constexpr size_t kMaxNameBytes = 80;  // workspace and channel names
inline constexpr size_t kMaxDisplayNameBytes = 80;
inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr size_t kMaxClientMsgIdBytes = 64;
inline constexpr uint32_t kDefaultHistoryLimit = 50;
inline constexpr uint32_t kMaxHistoryLimit = 200;
inline constexpr std::string_view kGeneralChannel = "general";
inline constexpr std::string_view kRandomChannel = "random";

// Mints ids owned by one shard: n-th call returns MintId(start + n, shard, count).
class IdMinter {
 public:
  IdMinter(ShardId shard, uint32_t shard_count, uint64_t last_minted)
      : shard_(shard), shard_count_(shard_count), last_(last_minted) {}
  uint64_t Next() { return MintId(++last_, shard_, shard_count_); }

 private:
  ShardId shard_;
  uint32_t shard_count_;
  uint64_t last_;
};

struct Context {
  TimeMs now = 0;
  IdMinter* ids = nullptr;  // REQUIRES: mints for the shard that owns the state
};

// Returns the event to append, std::nullopt when the command is an idempotent no-op (joining a
// channel one is already in), or the rule it breaks.
Result<std::optional<Event>> Decide(const ShardState& state, const Command& command, Context& ctx);

// Lowercases and trims an email and checks its shape; error kInvalidArgument otherwise.
Result<std::string> NormaliseEmail(std::string_view email);

bool IsValidUtf8(std::string_view text);

// Reads. Both require the actor to be a member of the channel (private or public) and answer
// kNotFound for a channel this shard does not hold, kForbidden for a non-member.
Status CheckCanRead(const ShardState& state, UserId actor, ChannelId channel);

struct HistoryQuery {
  ChannelId channel_id = 0;
  Seq before = 0;        // exclusive upper bound, 0 = none
  Seq after = 0;         // exclusive lower bound
  bool forward = false;  // true: oldest first from `after`; false: newest page below `before`
  uint32_t limit = 0;    // 0 = kDefaultHistoryLimit; above kMaxHistoryLimit is an error
};

struct HistoryPage {
  std::vector<const StoredMessage*> messages;  // ascending seq; valid until the next Apply
  bool has_more = false;  // more messages exist beyond the page in the paging direction
  Seq last_seq = 0;       // the channel's newest seq
};

// Reads what is applied. The shard sends the page only once all of it is durable.
Result<HistoryPage> ReadHistory(const ShardState& state, UserId actor, const HistoryQuery& query);

// The seq of a message `author` already posted with `client_msg_id`, if any.
std::optional<Seq> FindPosted(const ChannelState& channel, UserId author,
                              std::string_view client_msg_id);

}  // namespace parley
