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
inline constexpr size_t kMinPasswordBytes = 10;
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr size_t kMaxClientMsgIdBytes = 64;
inline constexpr uint32_t kDefaultHistoryLimit = 50;
inline constexpr uint32_t kMaxHistoryLimit = 200;
inline constexpr std::string_view kGeneralChannel = "general";
inline constexpr std::string_view kRandomChannel = "random";

// Identity and access (seed 001/004 and the identity issue).
inline constexpr TimeMs kMinuteMs = 60'000;
inline constexpr TimeMs kDayMs = 24 * 60 * kMinuteMs;
inline constexpr TimeMs kEditWindowMs = 5 * kMinuteMs;
inline constexpr size_t kLockoutFailures = 5;  // failed sign-ins within the window lock...
inline constexpr TimeMs kLockoutWindowMs = 15 * kMinuteMs;
inline constexpr TimeMs kLockoutMs = 15 * kMinuteMs;  // ...for this long
inline constexpr TimeMs kDefaultInviteLifetimeMs = 7 * kDayMs;
inline constexpr TimeMs kMaxInviteLifetimeMs = 30 * kDayMs;
inline constexpr size_t kMaxInviteChannels = 32;
inline constexpr size_t kMaxOpenInvites = 1000;  // per workspace
inline constexpr size_t kRecoveryCodeCount = 10;
inline constexpr size_t kMaxApiKeysPerUser = 50;  // live (not revoked) ones
inline constexpr size_t kMaxRotatedHashes = 64;
inline constexpr size_t kMaxTitleBytes = 120;
inline constexpr size_t kMaxAvatarUrlBytes = 1024;
inline constexpr size_t kMaxDeviceBytes = 128;

// The chat product (seed 001 and the chat issue).
inline constexpr size_t kMaxDistinctReactions = 50;  // per message
inline constexpr size_t kMaxEmojiBytes = 64;
inline constexpr size_t kMaxPins = 100;              // per channel
inline constexpr size_t kMaxBookmarks = 100;         // per channel
inline constexpr size_t kMaxBookmarkTitleBytes = 120;
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxTopicBytes = 250;
inline constexpr size_t kMaxPurposeBytes = 250;
inline constexpr size_t kMinConversationMembers = 2;  // the opener included
inline constexpr size_t kMaxConversationMembers = 8;
inline constexpr size_t kMaxEditHistory = 50;  // older edits are forgotten
inline constexpr uint32_t kDefaultMemberPage = 100;
inline constexpr uint32_t kMaxMemberPage = 500;
inline constexpr uint64_t kMaxUnreadCount = 1000;  // unread and mention counts stop here
inline constexpr TimeMs kTypingExpiryMs = 3000;

// Message retention (core/retention.h).
inline constexpr uint32_t kMaxRetentionDays = 3650;
inline constexpr Seq kMaxExpiredPerSweep = 1000;  // per channel and sweep: bounded work per tick

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
  TimeMs edit_window_ms = kEditWindowMs;  // how long an author may edit a message
  // The length of one "day" of a workspace's retention: kDayMs, shorter only in tests and
  // staging (parleyd --retention_unit_s), so that a sweep can be seen within seconds.
  TimeMs retention_unit_ms = kDayMs;
};

// A RefreshSession decided with a rotated token yields SessionRevoked (reason kRefreshReuse):
// the caller appends it and then refuses the request.

// Returns the event to append, std::nullopt when the command is an idempotent no-op (joining a
// channel one is already in), or the rule it breaks.
Result<std::optional<Event>> Decide(const ShardState& state, const Command& command, Context& ctx);

// Lowercases and trims an email and checks its shape; error kInvalidArgument otherwise.
Result<std::string> NormaliseEmail(std::string_view email);

bool IsValidUtf8(std::string_view text);

// Equal strings, in a time that depends only on their lengths (hashes of secrets).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Password policy: kMinPasswordBytes..kMaxPasswordBytes, not the email (or its local part), not a
// well-known common password; compared case-insensitively. `email` is normalised.
Status CheckPasswordPolicy(std::string_view password, std::string_view email);

// ---- Access queries (no event) ----------------------------------------------------------------

// kAccountLocked with retry_after_ms while the user is locked out at `now`.
Status CheckNotLocked(const UserState& user, TimeMs now);
// The live session, or nullptr if it never existed, was revoked, or its refresh token expired.
const SessionState* FindLiveSession(const UserState& user, uint64_t session_id, TimeMs now);
// With max_sessions live sessions already, the one a new sign-in replaces: the least recently
// refreshed. nullopt while there is room.
std::optional<uint64_t> SessionToEvict(const UserState& user, size_t max_sessions, TimeMs now);
// The scopes of a live API key whose hash matches; kInvalidCredentials otherwise (unknown,
// revoked, expired and wrong keys all look the same).
Result<uint32_t> CheckApiKey(const UserState& user, uint64_t key_id, std::string_view key_hash,
                             TimeMs now);
// Owner or admin of the workspace; kNotFound for non-members (the workspace is not revealed),
// kForbidden for members.
Status CheckWorkspaceAdmin(const ShardState& state, UserId actor, WorkspaceId workspace);
// The workspace if the actor is an active member; kNotFound otherwise.
Result<const WorkspaceState*> FindMemberWorkspace(const ShardState& state, UserId actor,
                                                  WorkspaceId workspace);
// Channels of the workspace the actor can see, in creation order: public ones (not to guests)
// and those the actor is a member of.
Result<std::vector<const ChannelState*>> VisibleChannels(const ShardState& state, UserId actor,
                                                         WorkspaceId workspace);

// Reads require an active member of the channel's workspace who is a member of the channel;
// kNotFound when the actor may not know the channel exists (no such channel, not in its
// workspace, a private channel they are not in, a public one hidden from a guest), kForbidden
// for a workspace member not in a public channel.
Status CheckCanRead(const ShardState& state, UserId actor, ChannelId channel);

struct HistoryQuery {
  ChannelId channel_id = 0;
  Seq before = 0;        // exclusive upper bound, 0 = none
  Seq after = 0;         // exclusive lower bound
  bool forward = false;  // true: oldest first from `after`; false: newest page below `before`
  uint32_t limit = 0;    // 0 = kDefaultHistoryLimit; above kMaxHistoryLimit is an error
  // The channel's timeline only: thread replies are left out unless also sent to the channel.
  bool top_level_only = false;
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

// Users `text` mentions who are not members of the channel (they are not notified), ascending.
std::vector<UserId> UnknownMentions(const ChannelState& channel, std::string_view text);

// ---- The chat product's reads (decide_messages.cc, decide_conversations.cc). Each checks CheckCanRead first. -------------

struct ThreadQuery {
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  Seq after = 0;       // exclusive: replies with a greater seq
  uint32_t limit = 0;  // 0 = kDefaultHistoryLimit; above kMaxHistoryLimit is an error
};

struct ThreadPage {
  const StoredMessage* parent = nullptr;
  const ThreadState* thread = nullptr;      // null: no reply yet
  std::vector<const StoredMessage*> replies;  // ascending seq
  bool has_more = false;
};
Result<ThreadPage> ReadThread(const ShardState& state, UserId actor, const ThreadQuery& query);

// Members of a channel in ascending id order, after `after_user`, at most `limit` (0 = 100,
// above kMaxMemberPage is an error).
struct MemberPage {
  std::vector<UserId> members;
  bool has_more = false;
};
Result<MemberPage> ListChannelMembers(const ShardState& state, UserId actor, ChannelId channel,
                                      UserId after_user, uint32_t limit);

// What `user` has not read in a channel: messages by others after their read marker, and
// those among them that mention the user (by name or channel-wide). Each count stops at
// kMaxUnreadCount (clients show "999+"), so counting costs at most that many messages.
struct UnreadCounts {
  Seq last_read = 0;
  uint64_t unread = 0;
  uint64_t mentions = 0;
};
UnreadCounts UnreadOf(const ChannelState& channel, UserId user);

// Threads `user` follows in channels held here, with replies they have not read.
struct UnreadThread {
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  uint64_t unread_replies = 0;
  TimeMs last_reply_at = 0;
};
std::vector<UnreadThread> UnreadThreadsOf(const ShardState& state, UserId user);
// The same for one channel, appended to `out` in no particular order.
void AppendUnreadThreads(const ChannelState& channel, UserId user,
                         std::vector<UnreadThread>& out);

// The actor's direct and group conversations in a workspace, newest activity first.
struct ConversationSummary {
  const ChannelState* channel = nullptr;
  const StoredMessage* last = nullptr;  // null: no message yet
  UnreadCounts unread;
};
Result<std::vector<ConversationSummary>> ListConversations(const ShardState& state, UserId actor,
                                                           WorkspaceId workspace);

// The people of the conversation `actor` opens with `others`: ascending, without duplicates,
// the actor included.
std::vector<UserId> ConversationMembers(UserId actor, std::vector<UserId> others);
// The workspace's conversation between exactly `members` (ascending), or null.
const ChannelState* FindConversation(const ShardState& state, WorkspaceId workspace,
                                     const std::vector<UserId>& members);

// ---- Message retention (decide_retention.cc) --------------------------------------------------

// The channels the retention sweep visits: every channel (conversations included) of each
// workspace held here that has a retention, in the workspaces' id order, then creation order.
std::vector<ChannelId> ChannelsUnderRetention(const ShardState& state);

}  // namespace parley
