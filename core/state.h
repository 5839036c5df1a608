// ShardState: the authoritative domain state of the entities one shard owns. Pure data plus
// queries; it changes only through Apply(). Not thread-safe: owned and touched by one shard
// thread (or by a test).
#pragma once

#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/chunked_vector.h"
#include "core/events.h"
#include "core/ids.h"

namespace parley {

enum class WorkspaceRole : uint8_t { kOwner = 1, kMember = 2 };

struct UserState {
  UserId id = 0;
  std::string email;
  std::string display_name;
  std::string password_salt;
  std::string password_hash;
  TimeMs created_at = 0;

  bool operator==(const UserState&) const = default;
};

struct StoredMessage {
  MessageId id = 0;
  Seq seq = 0;
  UserId author_id = 0;
  std::string client_msg_id;
  std::string text;
  TimeMs at = 0;

  bool operator==(const StoredMessage&) const = default;
};

struct ChannelState {
  ChannelId id = 0;
  WorkspaceId workspace_id = 0;
  std::string name;
  bool is_private = false;
  UserId creator_id = 0;
  TimeMs created_at = 0;
  std::unordered_set<UserId> members;
  ChunkedVector<StoredMessage> messages;  // messages[i].seq == i + 1; never moved once stored
  // (author, client_msg_id) -> seq, for deduplicating retried posts; rebuilt by replay.
  std::unordered_map<std::string, Seq> seq_by_client_id;

  Seq last_seq() const { return messages.size(); }
  bool IsMember(UserId user) const { return members.count(user) != 0; }
  bool operator==(const ChannelState&) const = default;
};

struct WorkspaceState {
  WorkspaceId id = 0;
  std::string name;
  UserId owner_id = 0;
  TimeMs created_at = 0;
  ChannelId general_id = 0;
  ChannelId random_id = 0;
  std::unordered_map<UserId, WorkspaceRole> members;
  std::vector<ChannelId> channels;  // in creation order
  std::unordered_map<std::string, ChannelId> channel_by_name;

  bool IsMember(UserId user) const { return members.count(user) != 0; }
  bool operator==(const WorkspaceState&) const = default;
};

class ShardState {
 public:
  // `message_memory` supplies the chunks channels keep their messages in (see ChunkedVector) and
  // must outlive the state; by default they come from new/delete.
  ShardState(ShardId shard, uint32_t shard_count,
             std::pmr::memory_resource* message_memory = std::pmr::get_default_resource())
      : shard_(shard), shard_count_(shard_count), message_memory_{message_memory} {}

  ShardId shard() const { return shard_; }
  uint32_t shard_count() const { return shard_count_; }

  const UserState* FindUser(UserId id) const;
  const UserState* FindUserByEmail(std::string_view normalised_email) const;
  const WorkspaceState* FindWorkspace(WorkspaceId id) const;
  const ChannelState* FindChannel(ChannelId id) const;

  // Workspaces / channels owned by this shard that `user` is a member of, ascending by id.
  std::vector<WorkspaceId> WorkspacesOf(UserId user) const;
  std::vector<ChannelId> ChannelsOf(UserId user) const;

  // The highest n among ids MintId(n, shard(), shard_count()) seen in applied events: a fresh
  // IdMinter for this shard starts after it.
  uint64_t max_minted() const { return max_minted_; }

  size_t user_count() const { return users_.size(); }
  size_t workspace_count() const { return workspaces_.size(); }
  size_t channel_count() const { return channels_.size(); }

  // Mutation: the only entry point. REQUIRES: the event was produced by Decide() on this state
  // (or read back from this shard's log), so its invariants hold.
  void Apply(const Event& event);
  // The same, moving the event's strings into the state instead of copying them (replay).
  void Apply(Event&& event);

  // Equal when every entity, membership, index and max_minted() match: replaying a shard's log
  // into a fresh state must yield a state equal to the live one.
  bool operator==(const ShardState&) const = default;

 private:
  void NoteMinted(uint64_t id);
  void AddChannel(ChannelState channel);
  void AddChannelMember(ChannelState& channel, UserId user);
  void RemoveChannelMember(ChannelState& channel, UserId user);
  // Events whose strings end up in the state take them by rvalue: Apply(Event&&) moves them in,
  // Apply(const Event&) copies the event first.
  void ApplyEvent(UserRegistered&& e);
  void ApplyEvent(const UserRegistered& e) { ApplyEvent(UserRegistered(e)); }
  void ApplyEvent(const WorkspaceCreated& e);
  void ApplyEvent(const WorkspaceJoined& e);
  void ApplyEvent(const ChannelCreated& e);
  void ApplyEvent(const ChannelJoined& e);
  void ApplyEvent(const ChannelLeft& e);
  void ApplyEvent(MessagePosted&& e);
  void ApplyEvent(const MessagePosted& e) { ApplyEvent(MessagePosted(e)); }

  // Where the memory comes from is not part of the state's value: any two compare equal.
  struct MessageMemory {
    std::pmr::memory_resource* resource;
    bool operator==(const MessageMemory&) const { return true; }
  };

  ShardId shard_;
  uint32_t shard_count_;
  MessageMemory message_memory_;
  uint64_t max_minted_ = 0;
  std::unordered_map<UserId, UserState> users_;
  std::unordered_map<std::string, UserId> user_by_email_;
  std::unordered_map<WorkspaceId, WorkspaceState> workspaces_;
  std::unordered_map<ChannelId, ChannelState> channels_;
  std::unordered_map<UserId, std::unordered_set<WorkspaceId>> workspaces_by_user_;
  std::unordered_map<UserId, std::unordered_set<ChannelId>> channels_by_user_;
};

// Key of ChannelState::seq_by_client_id.
std::string ClientIdKey(UserId author, std::string_view client_msg_id);

}  // namespace parley
