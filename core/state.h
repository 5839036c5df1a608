// ShardState: the authoritative domain state of the entities one shard owns. Pure data plus
// queries; it changes only through Apply(). Not thread-safe: owned and touched by one shard
// thread (or by a test).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory_resource>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/chunked_vector.h"
#include "core/events.h"
#include "core/ids.h"
#include "core/notify_state.h"

namespace parley {

// Values are stored in the log and sent on the wire (wire::Role): never renumber.
enum class WorkspaceRole : uint8_t { kOwner = 1, kMember = 2, kAdmin = 3, kGuest = 4 };

// What a signed-in connection may do (wire::Scope). Sessions started with a password, MFA or
// OpenID hold all of them; an API key holds those it was created with.
enum Scope : uint32_t { kScopeRead = 1, kScopeWrite = 2, kScopeAdmin = 4, kAllScopes = 7 };

struct SessionState {
  uint64_t id = 0;
  std::string device;
  std::string address;
  uint8_t method = 0;  // SignInMethod
  TimeMs created_at = 0;
  TimeMs refreshed_at = 0;
  TimeMs expires_at = 0;     // of the current refresh token
  std::string refresh_hash;  // SHA-256 of the current refresh token
  // Hashes of rotated refresh tokens (newest last, at most kMaxRotatedHashes): presenting one
  // again is theft or a replay, and ends the session.
  std::vector<std::string> rotated_hashes;

  bool operator==(const SessionState&) const = default;
};

struct ApiKeyState {
  uint64_t id = 0;
  std::string name;
  uint32_t scopes = 0;
  std::string key_hash;
  TimeMs created_at = 0;
  TimeMs expires_at = 0;  // 0 = never
  bool revoked = false;

  bool operator==(const ApiKeyState&) const = default;
};

struct MfaState {
  bool enabled = false;
  std::string secret;          // TOTP secret, raw bytes, once enabled
  std::string pending_secret;  // enrolment started, not yet confirmed
  std::vector<std::string> recovery_hashes;  // a used code's hash is cleared (index stays)
  uint64_t last_step = 0;                    // newest TOTP step accepted: never accepted twice

  bool operator==(const MfaState&) const = default;
};

// One of a user's recent searches (core/search_query.h).
struct RecentSearch {
  std::string query;  // trimmed
  TimeMs at = 0;      // when it was last run
  bool operator==(const RecentSearch&) const = default;
};

struct UserState {
  UserId id = 0;
  std::string email;
  std::string display_name;
  std::string password_salt;  // legacy PBKDF2 hashes only
  std::string password_hash;  // empty: no password (OpenID-only account)
  TimeMs created_at = 0;
  std::string title;
  std::string avatar_url;
  std::map<uint64_t, SessionState> sessions;  // live ones; revoked or expired ones are removed
  std::map<uint64_t, ApiKeyState> api_keys;
  MfaState mfa;
  std::vector<TimeMs> recent_failures;  // failed sign-ins inside the lockout window
  TimeMs locked_until = 0;
  std::vector<std::pair<std::string, std::string>> oidc_links;  // (issuer, subject)
  // Presence (core/presence.h): the logged part; live presence is the shard's, never logged.
  bool manual_away = false;
  std::string status_text;
  std::string status_emoji;
  TimeMs status_expires_at = 0;  // 0 = never
  TimeMs last_seen = 0;          // when the last session ended; 0 = never recorded
  bool send_read_receipts = true;
  // Search: at most kMaxRecentSearches distinct queries, newest first.
  std::vector<RecentSearch> recent_searches;

  bool operator==(const UserState&) const = default;
};

// A message's text and client id. Their memory comes from the state's text memory (see
// ShardState), so that a shard's millions of texts share a few big blocks instead of taking one
// heap allocation each.
using MessageText = std::pmr::string;

struct StoredMessage {
  MessageId id = 0;
  Seq seq = 0;
  UserId author_id = 0;
  MessageText client_msg_id;
  MessageText text;  // empty once deleted
  TimeMs at = 0;
  TimeMs edited_at = 0;
  bool deleted = false;
  bool also_to_channel = false;  // a thread reply shown in the channel's timeline too
  Seq thread_seq = 0;            // a thread reply: its thread's top-level message; 0 otherwise

  bool operator==(const StoredMessage&) const = default;
};

// Values are stored and sent on the wire (wire::ChannelKind): never renumber.
enum class ChannelKind : uint8_t { kChannel = 0, kDirect = 1, kGroup = 2 };

// What rarely exists per message lives beside the messages, keyed by seq, so that a message
// costs no more for features it does not use.
struct ThreadState {
  std::vector<Seq> replies;         // ascending
  std::vector<UserId> participants; // who replied, in order of their first reply
  TimeMs last_reply_at = 0;
  std::unordered_set<UserId> followers;
  std::unordered_map<UserId, Seq> read_up_to;  // the newest reply each follower has read

  Seq last_reply_seq() const { return replies.empty() ? 0 : replies.back(); }
  bool operator==(const ThreadState&) const = default;
};

struct ReactionState {
  std::string emoji;
  std::vector<UserId> users;  // in the order they reacted
  bool operator==(const ReactionState&) const = default;
};

struct EditRecord {
  std::string text;  // the text before this edit
  TimeMs at = 0;     // when it was replaced
  bool operator==(const EditRecord&) const = default;
};

struct PinState {
  Seq seq = 0;
  UserId by = 0;
  TimeMs at = 0;
  bool operator==(const PinState&) const = default;
};

struct BookmarkState {
  uint64_t id = 0;
  std::string title;
  std::string url;
  UserId by = 0;
  TimeMs at = 0;
  bool operator==(const BookmarkState&) const = default;
};

// How far a member's receipts have come (core/presence.h).
struct ReceiptState {
  Seq delivered_up_to = 0;
  Seq read_up_to = 0;
  bool operator==(const ReceiptState&) const = default;
};

struct ChannelState {
  ChannelId id = 0;
  WorkspaceId workspace_id = 0;
  std::string name;
  bool is_private = false;
  UserId creator_id = 0;
  TimeMs created_at = 0;
  bool archived = false;
  bool announcement = false;
  ChannelKind kind = ChannelKind::kChannel;  // direct and group conversations are private
  std::string topic;
  std::string purpose;
  std::unordered_set<UserId> members;
  ChunkedVector<StoredMessage> messages;  // messages[i].seq == i + 1; never moved once stored
  // The channel's timeline: top-level messages and replies also sent to the channel, ascending.
  // Only kept once the channel has a thread reply (until then it is every seq).
  std::vector<Seq> timeline;
  bool has_replies = false;
  // (author, client_msg_id) -> seq, for deduplicating retried posts; rebuilt by replay.
  std::unordered_map<std::string, Seq> seq_by_client_id;
  std::map<Seq, ThreadState> threads;                 // by the top-level message's seq
  std::map<Seq, std::vector<ReactionState>> reactions;  // in order of each emoji's first use
  std::map<Seq, std::vector<EditRecord>> edits;       // oldest first
  std::vector<PinState> pins;                         // in pin order
  std::map<uint64_t, BookmarkState> bookmarks;
  std::unordered_map<UserId, Seq> last_read;          // members who marked anything read
  // Seqs of messages mentioning each user, ascending; channel-wide mentions in their own list.
  std::unordered_map<UserId, std::vector<Seq>> mention_seqs;
  std::vector<Seq> channel_mention_seqs;
  std::unordered_map<UserId, ReceiptState> receipts;  // members with any receipt
  // Members' notification preferences (core/notify.h); absent: the default.
  std::unordered_map<UserId, ChannelNotifyPref> notify_prefs;
  // Messages 1..expired_up_to expired under the workspace's retention (MessagesExpired): their
  // slots stay, emptied like deleted ones, so that messages[i].seq == i + 1 still holds.
  Seq expired_up_to = 0;
  // The shard's state version at the channel's last change a boot shows (state_boot.cc).
  uint64_t version = 0;

  Seq last_seq() const { return messages.size(); }
  bool IsMember(UserId user) const { return members.count(user) != 0; }
  bool operator==(const ChannelState&) const = default;
};

struct MemberState {
  WorkspaceRole role = WorkspaceRole::kMember;
  bool active = true;  // deactivated members keep their record but have no access

  bool operator==(const MemberState&) const = default;
};

struct WorkspaceSettings {
  bool join_open = false;  // anyone signed in may JoinWorkspace; otherwise by invite only
  bool members_create_private = true;
  bool members_post_announcements = false;
  uint32_t receipts_max_members = 50;  // kDefaultReceiptsMaxMembers (core/presence.h)
  uint32_t retention_days = 0;         // 0: messages are kept forever

  bool operator==(const WorkspaceSettings&) const = default;
};

struct InviteState {
  uint64_t id = 0;
  std::string email;
  WorkspaceRole role = WorkspaceRole::kMember;
  std::vector<uint64_t> channel_ids;
  std::string token_hash;
  UserId created_by = 0;
  TimeMs created_at = 0;
  TimeMs expires_at = 0;

  bool operator==(const InviteState&) const = default;
};

struct WorkspaceState {
  WorkspaceId id = 0;
  std::string name;
  UserId owner_id = 0;
  TimeMs created_at = 0;
  ChannelId general_id = 0;
  ChannelId random_id = 0;
  std::unordered_map<UserId, MemberState> members;  // active and deactivated
  std::vector<ChannelId> channels;  // in creation order
  std::unordered_map<std::string, ChannelId> channel_by_name;
  WorkspaceSettings settings;
  std::map<uint64_t, InviteState> invites;  // open ones; accepted or revoked are removed
  // Direct and group conversations by their members (ascending ids), for reopening.
  std::map<std::vector<UserId>, ChannelId> conversations;
  // The shard's state version at the workspace's last change a boot shows (state_boot.cc).
  uint64_t version = 0;

  // The role of an active member; nullopt for non-members and deactivated members.
  std::optional<WorkspaceRole> RoleOf(UserId user) const {
    auto it = members.find(user);
    if (it == members.end() || !it->second.active) return std::nullopt;
    return it->second.role;
  }
  bool IsMember(UserId user) const { return RoleOf(user).has_value(); }
  bool IsAdmin(UserId user) const {
    auto role = RoleOf(user);
    return role == WorkspaceRole::kOwner || role == WorkspaceRole::kAdmin;
  }
  bool operator==(const WorkspaceState&) const = default;
};

// One security event, for admins (ListAudit) and operators. Derived from the logged events, so
// replay rebuilds it; the newest kMaxAuditEntries per shard are kept in memory (the log keeps
// them all).
enum class AuditKind : uint8_t {
  kSignIn = 1, kSignInFailed, kAccountLocked, kRefreshTokenReuse, kSessionRevoked,
  kPasswordChanged, kMfaEnabled, kMfaDisabled, kRoleChanged, kOwnershipTransferred,
  kMemberDeactivated, kMemberReactivated, kApiKeyCreated, kApiKeyRevoked, kInviteAccepted,
};
std::string_view AuditKindName(AuditKind kind);  // "sign_in_failed"

struct AuditEntry {
  TimeMs at = 0;
  AuditKind kind = AuditKind::kSignIn;
  UserId user_id = 0;   // whom it concerns
  UserId actor_id = 0;  // who did it (the user themselves for sign-ins)
  WorkspaceId workspace_id = 0;  // 0 for account-level events
  std::string address;
  std::string detail;

  bool operator==(const AuditEntry&) const = default;
};
inline constexpr size_t kMaxAuditEntries = 100'000;

class ShardState {
 public:
  // `message_memory` supplies the chunks channels keep their messages in (see ChunkedVector),
  // `text_memory` their texts and client ids; both must outlive the state. By default both come
  // from new/delete.
  ShardState(ShardId shard, uint32_t shard_count,
             std::pmr::memory_resource* message_memory = std::pmr::get_default_resource(),
             std::pmr::memory_resource* text_memory = std::pmr::get_default_resource())
      : shard_(shard), shard_count_(shard_count), message_memory_{message_memory, text_memory} {}

  ShardId shard() const { return shard_; }
  uint32_t shard_count() const { return shard_count_; }

  const UserState* FindUser(UserId id) const;
  const UserState* FindUserByEmail(std::string_view normalised_email) const;
  const WorkspaceState* FindWorkspace(WorkspaceId id) const;
  const ChannelState* FindChannel(ChannelId id) const;
  // The user (held here) with this OpenID Connect identity, if linked.
  const UserState* FindUserByOidc(std::string_view issuer, std::string_view subject) const;
  const std::deque<AuditEntry>& audit() const { return audit_; }
  const std::unordered_map<UserId, UserState>& users() const { return users_; }  // held here
  const std::unordered_map<ChannelId, ChannelState>& channels() const { return channels_; }
  // Notifications, feed, keywords and DND of the users held here (core/notify.h).
  const std::unordered_map<UserId, UserNotifyState>& notify_states() const { return notify_; }

  // Workspaces / channels owned by this shard that `user` is a member of, ascending by id. Those
  // of a workspace that deactivated the user are left out: a deactivated member has no access.
  std::vector<WorkspaceId> WorkspacesOf(UserId user) const;
  std::vector<ChannelId> ChannelsOf(UserId user) const;
  // The user's recent searches, newest first; empty for a user not held here.
  std::vector<RecentSearch> RecentSearchesOf(UserId user) const;
  // Custom statuses with an expiry, by (expires_at, user): the shard announces each as it
  // expires. An entry leaves when its status is replaced.
  const std::set<std::pair<TimeMs, UserId>>& status_expiries() const { return status_expiries_; }
  // Workspaces held here with a message retention (retention_days > 0), ascending: the ones
  // whose channels the retention sweep visits.
  const std::set<WorkspaceId>& retained_workspaces() const { return retained_workspaces_; }

  // The highest n among ids MintId(n, shard(), shard_count()) seen in applied events: a fresh
  // IdMinter for this shard starts after it.
  uint64_t max_minted() const { return max_minted_; }

  // Boot and resume (state_boot.cc). version() counts the events applied: replaying the log
  // rebuilds the same numbers, so a version names the same state across restarts.
  uint64_t version() const { return version_; }
  // Every workspace / channel `user` belongs to, deactivated memberships included, ascending.
  std::vector<WorkspaceId> AllWorkspacesOf(UserId user) const;
  std::vector<ChannelId> AllChannelsOf(UserId user) const;
  // Channels `user` left or was removed from after `version` and is not in again, ascending.
  std::vector<ChannelId> DepartedSince(UserId user, uint64_t version) const;

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
  friend struct ShardStateSnapshot;  // lists the members a snapshot holds (snapshot_fields.h)

  void NoteMinted(uint64_t id);
  // What an event changes that a boot shows, taken before it is applied (state_boot.cc).
  struct Touched {
    ChannelId channel = 0;
    WorkspaceId workspace = 0;
    UserId member = 0;  // with workspace: the member whose access changed (their channels too)
  };
  static Touched TouchedBy(const Event& event);
  void Stamp(const Touched& touched);
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
  void ApplyEvent(const ProfileUpdated& e);
  void ApplyEvent(const PasswordChanged& e);
  void ApplyEvent(const SessionStarted& e);
  void ApplyEvent(const SessionRefreshed& e);
  void ApplyEvent(const SessionRevoked& e);
  void ApplyEvent(const SignInFailed& e);
  void ApplyEvent(const MfaEnrollStarted& e);
  void ApplyEvent(const MfaEnabled& e);
  void ApplyEvent(const MfaDisabled& e);
  void ApplyEvent(const MfaCodeUsed& e);
  void ApplyEvent(const ApiKeyCreated& e);
  void ApplyEvent(const ApiKeyRevoked& e);
  void ApplyEvent(const OidcLinked& e);
  void ApplyEvent(const WorkspaceSettingsChanged& e);
  void ApplyEvent(const InviteCreated& e);
  void ApplyEvent(const InviteRevoked& e);
  void ApplyEvent(const InviteAccepted& e);
  void ApplyEvent(const RoleChanged& e);
  void ApplyEvent(const OwnershipTransferred& e);
  void ApplyEvent(const MemberActiveChanged& e);
  void ApplyEvent(const ChannelUpdated& e);
  void ApplyEvent(const ChannelMemberAdded& e);
  void ApplyEvent(const MessageEdited& e);
  void ApplyEvent(const MessageDeleted& e);
  // The chat product (state_messages.cc, state_conversations.cc).
  void ApplyEvent(ThreadReplyPosted&& e);
  void ApplyEvent(const ThreadReplyPosted& e) { ApplyEvent(ThreadReplyPosted(e)); }
  void ApplyEvent(const ThreadFollowChanged& e);
  void ApplyEvent(const ThreadMarkedRead& e);
  void ApplyEvent(const ReactionAdded& e);
  void ApplyEvent(const ReactionRemoved& e);
  void ApplyEvent(const PinChanged& e);
  void ApplyEvent(const BookmarkAdded& e);
  void ApplyEvent(const BookmarkRemoved& e);
  void ApplyEvent(const ChannelDetailsChanged& e);
  void ApplyEvent(const ChannelMemberRemoved& e);
  void ApplyEvent(const ConversationOpened& e);
  void ApplyEvent(const ReadMarkerSet& e);
  // Presence and receipts (state_presence.cc).
  void ApplyEvent(const PresenceChoiceSet& e);
  void ApplyEvent(const UserStatusSet& e);
  void ApplyEvent(const LastSeenRecorded& e);
  void ApplyEvent(const ReadReceiptsChanged& e);
  void ApplyEvent(const ReceiptsMaxMembersSet& e);
  void ApplyEvent(const ReceiptsAdvanced& e);
  // Notifications and the user feed (state_notify.cc).
  void ApplyEvent(const NotificationCreated& e);
  void ApplyEvent(const NotificationsRead& e);
  void ApplyEvent(const UserFeedNoted& e);
  void ApplyEvent(const ChannelNotifyPrefSet& e);
  void ApplyEvent(const KeywordsSet& e);
  void ApplyEvent(const DndSet& e);
  UserNotifyState& NoteFeed(UserId user, FeedEvent entry);
  // Recent searches (state_search.cc).
  void ApplyEvent(SearchRecorded&& e);
  void ApplyEvent(const SearchRecorded& e) { ApplyEvent(SearchRecorded(e)); }
  void ApplyEvent(const RecentSearchesCleared& e);
  // Message retention (state_messages.cc).
  void ApplyEvent(const WorkspaceRetentionSet& e);
  void ApplyEvent(const MessagesExpired& e);
  // Shared by top-level posts and replies: indexes mentions, the timeline and the client id.
  void NoteMessage(ChannelState& channel, const StoredMessage& m);
  UserState* MutableUser(UserId id);
  WorkspaceState* MutableWorkspace(WorkspaceId id);
  ChannelState* MutableChannel(ChannelId id);
  void AddWorkspaceMember(WorkspaceState& ws, UserId user, WorkspaceRole role);
  void Audit(AuditEntry entry);

  // Where the memory comes from is not part of the state's value: any two compare equal.
  struct MessageMemory {
    std::pmr::memory_resource* resource;  // chunks
    std::pmr::memory_resource* text;      // texts and client ids
    bool operator==(const MessageMemory&) const { return true; }
  };
  // A text for a stored message, in the state's text memory.
  MessageText Text(std::string_view s) const { return MessageText(s, message_memory_.text); }

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
  std::deque<AuditEntry> audit_;
  std::set<std::pair<TimeMs, UserId>> status_expiries_;
  std::set<WorkspaceId> retained_workspaces_;
  std::unordered_map<UserId, UserNotifyState> notify_;
  uint64_t version_ = 0;
  // Per user, the channels they left or were removed from (and are not in again), with the
  // version of their departure: what a resume reports as removed.
  std::unordered_map<UserId, std::unordered_map<ChannelId, uint64_t>> departed_;
};

// Key of ChannelState::seq_by_client_id.
std::string ClientIdKey(UserId author, std::string_view client_msg_id);

}  // namespace parley
