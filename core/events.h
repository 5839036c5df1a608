// Domain events: what happened, as appended to a shard's log. apply(state, event) is the only
// way state changes, live and on replay. Each event kind has a stable tag (persist/ writes it
// with a schema version); a field is never reinterpreted, only added under a new version.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.h"

namespace parley {

struct UserRegistered {
  UserId user_id = 0;
  std::string email;  // normalised
  std::string display_name;
  // password_hash names its algorithm and parameters (auth/password.h); empty for accounts that
  // sign in only through OpenID Connect. password_salt is set only by the first format
  // (PBKDF2, raw bytes), which is re-hashed at the next sign-in.
  std::string password_salt;
  std::string password_hash;
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

// ---- Identity (owned by the user's shard) -----------------------------------------------------

// How a session was signed in.
enum class SignInMethod : uint8_t { kPassword = 1, kPasswordAndMfa = 2, kOidc = 3 };

// Why a session ended. Values are stored: never renumber.
enum class RevokeReason : uint8_t {
  kLogout = 1,          // the session itself signed out
  kRevokedByUser = 2,   // revoked from another session of the user
  kRefreshReuse = 3,    // an already-rotated refresh token was presented: assume theft
  kSessionLimit = 4,    // the oldest session made room for a new one
  kPasswordChanged = 5, // every other session ends when the password changes
  kDeactivated = 6,     // a workspace admin deactivated the user
};

struct ProfileUpdated {
  UserId user_id = 0;
  std::string display_name;
  std::string title;
  std::string avatar_url;
  TimeMs at = 0;
};

// The password's hash changed: a new password, or the same one re-hashed with stronger
// parameters. The hash string names its own algorithm and parameters (see auth/password.h).
struct PasswordChanged {
  UserId user_id = 0;
  std::string password_hash;
  bool rehash = false;  // same password, new parameters: no other session ends
  TimeMs at = 0;
};

// A sign-in succeeded and a session began. The refresh token itself is never stored, only its
// SHA-256.
struct SessionStarted {
  UserId user_id = 0;
  uint64_t session_id = 0;  // minted on the user's shard
  std::string refresh_hash;
  std::string device;
  std::string address;
  uint8_t method = 0;  // SignInMethod
  TimeMs at = 0;
  TimeMs expires_at = 0;  // of the refresh token
};

// The refresh token was used and replaced; the old hash is remembered to detect its reuse.
struct SessionRefreshed {
  UserId user_id = 0;
  uint64_t session_id = 0;
  std::string refresh_hash;
  TimeMs at = 0;
  TimeMs expires_at = 0;
};

struct SessionRevoked {
  UserId user_id = 0;
  uint64_t session_id = 0;
  uint8_t reason = 0;  // RevokeReason
  UserId by = 0;       // who asked (the user, an admin); 0 = the server
  TimeMs at = 0;
};

// A failed sign-in against an existing account (wrong password or second factor).
// locked_until > 0 when this failure locked the account.
struct SignInFailed {
  UserId user_id = 0;
  std::string address;
  bool second_factor = false;
  TimeMs at = 0;
  TimeMs locked_until = 0;
};

// TOTP enrolment began; MFA is on only after MfaEnabled confirms a code from this secret.
struct MfaEnrollStarted {
  UserId user_id = 0;
  std::string secret;  // raw bytes
  TimeMs at = 0;
};

struct MfaEnabled {
  UserId user_id = 0;
  std::vector<std::string> recovery_hashes;  // SHA-256 of each single-use recovery code
  uint64_t totp_step = 0;                    // the confirming code's step: not usable again
  TimeMs at = 0;
};

struct MfaDisabled {
  UserId user_id = 0;
  TimeMs at = 0;
};

// A second factor was used: a TOTP step (never accepted twice) or a recovery code (burnt).
struct MfaCodeUsed {
  UserId user_id = 0;
  uint64_t totp_step = 0;       // 0 when a recovery code was used
  uint64_t recovery_index = 0;  // 1-based index of the burnt recovery code; 0 = none
  TimeMs at = 0;
};

struct ApiKeyCreated {
  UserId user_id = 0;
  uint64_t key_id = 0;
  std::string name;
  uint32_t scopes = 0;  // Scope bits
  std::string key_hash;
  TimeMs expires_at = 0;  // 0 = never
  TimeMs at = 0;
};

struct ApiKeyRevoked {
  UserId user_id = 0;
  uint64_t key_id = 0;
  TimeMs at = 0;
};

// An OpenID Connect identity (issuer + subject) now signs in as this user.
struct OidcLinked {
  UserId user_id = 0;
  std::string issuer;
  std::string subject;
  TimeMs at = 0;
};

// ---- Workspace administration (owned by the workspace's shard) ---------------------------------

struct WorkspaceSettingsChanged {
  WorkspaceId workspace_id = 0;
  bool join_open = false;                   // any signed-in user may join (no invite)
  bool members_create_private = true;       // false: only admins create private channels
  bool members_post_announcements = false;  // false: only admins post in announcement channels
  UserId by = 0;
  TimeMs at = 0;
};

struct InviteCreated {
  WorkspaceId workspace_id = 0;
  uint64_t invite_id = 0;
  std::string email;  // normalised; only this account may accept
  uint8_t role = 0;   // WorkspaceRole: member or guest
  std::vector<uint64_t> channel_ids;  // joined on acceptance (a guest's only channels)
  std::string token_hash;
  UserId by = 0;
  TimeMs at = 0;
  TimeMs expires_at = 0;
};

struct InviteRevoked {
  WorkspaceId workspace_id = 0;
  uint64_t invite_id = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// The invitee joined with the invite's role: a member joins #general and the invite's channels,
// a guest only the invite's channels.
struct InviteAccepted {
  WorkspaceId workspace_id = 0;
  uint64_t invite_id = 0;
  UserId user_id = 0;
  TimeMs at = 0;
};

// Admin granted or removed (role is WorkspaceRole admin or member).
struct RoleChanged {
  WorkspaceId workspace_id = 0;
  UserId user_id = 0;
  uint8_t role = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// The owner hands the workspace to another member and becomes an admin.
struct OwnershipTransferred {
  WorkspaceId workspace_id = 0;
  UserId from_user = 0;
  UserId to_user = 0;
  TimeMs at = 0;
};

// Deactivated members keep their history but lose all access to the workspace.
struct MemberActiveChanged {
  WorkspaceId workspace_id = 0;
  UserId user_id = 0;
  bool active = false;
  UserId by = 0;
  TimeMs at = 0;
};

struct ChannelUpdated {
  ChannelId channel_id = 0;
  bool archived = false;      // read-only
  bool announcement = false;  // who may post is the workspace's members_post_announcements
  UserId by = 0;
  TimeMs at = 0;
};

// A member added someone else to a channel (they join it).
struct ChannelMemberAdded {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  UserId by = 0;
  TimeMs at = 0;
};

struct MessageEdited {
  ChannelId channel_id = 0;
  Seq seq = 0;
  std::string text;
  UserId by = 0;
  TimeMs at = 0;
};

// The text is dropped; the seq stays (as a tombstone) so that seqs keep no gaps.
struct MessageDeleted {
  ChannelId channel_id = 0;
  Seq seq = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// ---- The chat product (owned by the channel's shard, which is its workspace's) -----------------

// A reply in the thread under the message at thread_seq (a top-level message). It takes the
// channel's next seq like any message, so the channel's stream stays gapless; also_to_channel
// shows it in the channel's timeline too.
struct ThreadReplyPosted {
  ChannelId channel_id = 0;
  Seq seq = 0;
  MessageId message_id = 0;
  UserId author_id = 0;
  std::string client_msg_id;
  std::string text;
  TimeMs at = 0;
  Seq thread_seq = 0;
  bool also_to_channel = false;
};

// Following by hand (replying in or being mentioned in a thread follows it without an event).
struct ThreadFollowChanged {
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  UserId user_id = 0;
  bool following = false;
  TimeMs at = 0;
};

// The user has read the thread up to its reply read_seq.
struct ThreadMarkedRead {
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  UserId user_id = 0;
  Seq read_seq = 0;
  TimeMs at = 0;
};

struct ReactionAdded {
  ChannelId channel_id = 0;
  Seq seq = 0;
  UserId user_id = 0;
  std::string emoji;  // a name ("thumbsup") or one emoji character
  TimeMs at = 0;
};

struct ReactionRemoved {
  ChannelId channel_id = 0;
  Seq seq = 0;
  UserId user_id = 0;
  std::string emoji;
  TimeMs at = 0;
};

struct PinChanged {
  ChannelId channel_id = 0;
  Seq seq = 0;
  bool pinned = false;
  UserId by = 0;
  TimeMs at = 0;
};

struct BookmarkAdded {
  ChannelId channel_id = 0;
  uint64_t bookmark_id = 0;  // minted on the channel's shard
  std::string title;
  std::string url;
  UserId by = 0;
  TimeMs at = 0;
};

struct BookmarkRemoved {
  ChannelId channel_id = 0;
  uint64_t bookmark_id = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// Name, topic and purpose after the change (all three, changed or not).
struct ChannelDetailsChanged {
  ChannelId channel_id = 0;
  std::string name;
  std::string topic;
  std::string purpose;
  UserId by = 0;
  TimeMs at = 0;
};

// A member removed someone else from a private channel.
struct ChannelMemberRemoved {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// A direct (2 people) or group (3 to kMaxConversationMembers) conversation began. Its members
// are fixed: opening the same set of people again finds it.
struct ConversationOpened {
  WorkspaceId workspace_id = 0;
  ChannelId channel_id = 0;
  std::vector<uint64_t> members;  // ascending
  UserId by = 0;
  TimeMs at = 0;
};

// The user has read the channel up to seq (never moves backwards).
struct ReadMarkerSet {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  Seq seq = 0;
  TimeMs at = 0;
};

// ---- Presence and receipts (presence: the user's shard; receipts: the channel's) --------------

// The user chose to appear away (away = true) or went back to automatic presence. Sticks across
// sessions and restarts.
struct PresenceChoiceSet {
  UserId user_id = 0;
  bool away = false;
  TimeMs at = 0;
};

// A custom status; text and emoji both empty clear it. expires_at 0 = never: after it the
// status is shown as cleared (nothing is logged when it expires).
struct UserStatusSet {
  UserId user_id = 0;
  std::string text;
  std::string emoji;  // normalised like a reaction's
  TimeMs expires_at = 0;
  TimeMs at = 0;
};

// The user's last session ended: they are offline, last seen at `at`.
struct LastSeenRecorded {
  UserId user_id = 0;
  TimeMs at = 0;
};

// Whether the user's reads are shown to others as read receipts.
struct ReadReceiptsChanged {
  UserId user_id = 0;
  bool send_read_receipts = true;
  TimeMs at = 0;
};

// Channels with at most max_members members track receipts (0: no channel does; direct and
// group conversations always do).
struct ReceiptsMaxMembersSet {
  WorkspaceId workspace_id = 0;
  uint32_t max_members = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// Receipts moved forward for some members of a channel: user_ids[i] has been delivered up to
// delivered[i] and has read up to read[i] (0: unchanged). Never moves backwards.
struct ReceiptsAdvanced {
  ChannelId channel_id = 0;
  std::vector<uint64_t> user_ids;
  std::vector<uint64_t> delivered;
  std::vector<uint64_t> read;
  TimeMs at = 0;
};

// ---- Notifications and the user feed (issue 5, points 8 and 9) -------------------------------
// Events with a user_seq are entries of the user's feed, logged on the user's owner: user_seq is
// 1-based and gapless per user (core/notify_state.h).

// Decided on the user's owner from a candidate the channel's owner sent once its message was
// durable. id = user_seq. push: false during do-not-disturb (stored and shown, never alerting).
struct NotificationCreated {
  UserId user_id = 0;
  uint64_t user_seq = 0;
  uint8_t reason = 0;  // NotifyReason
  WorkspaceId workspace_id = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  Seq thread_seq = 0;
  UserId actor_id = 0;
  std::string snippet;
  bool push = false;
  TimeMs at = 0;
  bool operator==(const NotificationCreated&) const = default;
};

// notification_id > 0: that one; 0: every notification with id <= up_to.
struct NotificationsRead {
  UserId user_id = 0;
  uint64_t user_seq = 0;
  uint64_t notification_id = 0;
  uint64_t up_to = 0;
  TimeMs at = 0;
  bool operator==(const NotificationsRead&) const = default;
};

// A feed entry relayed by a channel's owner (FeedKind: read marker, thread follow, thread read,
// channel notification preference), numbered on the user's owner.
struct UserFeedNoted {
  UserId user_id = 0;
  uint64_t user_seq = 0;
  uint8_t kind = 0;  // FeedKind
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  uint64_t value = 0;
  bool flag = false;
  TimeMs at = 0;
  bool operator==(const UserFeedNoted&) const = default;
};

// On the channel's owner: a member's notification preference (NotifyLevel) and mute.
struct ChannelNotifyPrefSet {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  uint8_t level = 0;
  bool muted = false;
  TimeMs at = 0;
};

// The user's keyword alerts, all of them after the change (lower-cased).
struct KeywordsSet {
  UserId user_id = 0;
  uint64_t user_seq = 0;
  std::vector<std::string> keywords;
  TimeMs at = 0;
  bool operator==(const KeywordsSet&) const = default;
};

// Do-not-disturb after the change (all of it).
struct DndSet {
  UserId user_id = 0;
  uint64_t user_seq = 0;
  TimeMs snooze_until = 0;
  bool schedule = false;
  uint32_t start_minute = 0;
  uint32_t end_minute = 0;
  std::string time_zone;
  TimeMs at = 0;
  bool operator==(const DndSet&) const = default;
};

// ---- Search (the user's shard) ----------------------------------------------------------------

// The user ran a search: it becomes the newest of their recent searches (moved to the front if
// it is already among them), and the oldest beyond kMaxRecentSearches is forgotten.
struct SearchRecorded {
  UserId user_id = 0;
  std::string query;  // trimmed
  TimeMs at = 0;
};

struct RecentSearchesCleared {
  UserId user_id = 0;
  TimeMs at = 0;
};

// ---- Message retention (the workspace's shard, which owns its channels) ----------------------

// Messages in the workspace's channels older than `days` are expired by the retention sweep
// (0 = kept forever).
struct WorkspaceRetentionSet {
  WorkspaceId workspace_id = 0;
  uint32_t days = 0;
  UserId by = 0;
  TimeMs at = 0;
};

// The retention sweep expired the channel's messages from_seq..up_to_seq (inclusive; from_seq is
// the first not expired before): they leave history, threads, search and the indexes; their seqs
// are never reused.
struct MessagesExpired {
  ChannelId channel_id = 0;
  Seq from_seq = 0;
  Seq up_to_seq = 0;
  TimeMs at = 0;
};

using Event =
    std::variant<UserRegistered, WorkspaceCreated, WorkspaceJoined, ChannelCreated, ChannelJoined,
                 ChannelLeft, MessagePosted, ProfileUpdated, PasswordChanged, SessionStarted,
                 SessionRefreshed, SessionRevoked, SignInFailed, MfaEnrollStarted, MfaEnabled,
                 MfaDisabled, MfaCodeUsed, ApiKeyCreated, ApiKeyRevoked, OidcLinked,
                 WorkspaceSettingsChanged, InviteCreated, InviteRevoked, InviteAccepted,
                 RoleChanged, OwnershipTransferred, MemberActiveChanged, ChannelUpdated,
                 ChannelMemberAdded, MessageEdited, MessageDeleted, ThreadReplyPosted,
                 ThreadFollowChanged, ThreadMarkedRead, ReactionAdded, ReactionRemoved, PinChanged,
                 BookmarkAdded, BookmarkRemoved, ChannelDetailsChanged, ChannelMemberRemoved,
                 ConversationOpened, ReadMarkerSet,
                 PresenceChoiceSet, UserStatusSet, LastSeenRecorded, ReadReceiptsChanged,
                 ReceiptsMaxMembersSet, ReceiptsAdvanced, NotificationCreated, NotificationsRead,
                 UserFeedNoted, ChannelNotifyPrefSet, KeywordsSet, DndSet, SearchRecorded,
                 RecentSearchesCleared, WorkspaceRetentionSet, MessagesExpired>;

// Stable type tags, written to the log. Never reuse a retired number.
enum class EventTag : uint16_t {
  kUserRegistered = 1,
  kWorkspaceCreated = 2,
  kWorkspaceJoined = 3,
  kChannelCreated = 4,
  kChannelJoined = 5,
  kChannelLeft = 6,
  kMessagePosted = 7,
  kProfileUpdated = 8,
  kPasswordChanged = 9,
  kSessionStarted = 10,
  kSessionRefreshed = 11,
  kSessionRevoked = 12,
  kSignInFailed = 13,
  kMfaEnrollStarted = 14,
  kMfaEnabled = 15,
  kMfaDisabled = 16,
  kMfaCodeUsed = 17,
  kApiKeyCreated = 18,
  kApiKeyRevoked = 19,
  kOidcLinked = 20,
  kWorkspaceSettingsChanged = 21,
  kInviteCreated = 22,
  kInviteRevoked = 23,
  kInviteAccepted = 24,
  kRoleChanged = 25,
  kOwnershipTransferred = 26,
  kMemberActiveChanged = 27,
  kChannelUpdated = 28,
  kChannelMemberAdded = 29,
  kMessageEdited = 30,
  kMessageDeleted = 31,
  kThreadReplyPosted = 32,
  kThreadFollowChanged = 33,
  kThreadMarkedRead = 34,
  kReactionAdded = 35,
  kReactionRemoved = 36,
  kPinChanged = 37,
  kBookmarkAdded = 38,
  kBookmarkRemoved = 39,
  kChannelDetailsChanged = 40,
  kChannelMemberRemoved = 41,
  kConversationOpened = 42,
  kReadMarkerSet = 43,
  kNotificationCreated = 44,
  kNotificationsRead = 45,
  kUserFeedNoted = 46,
  kChannelNotifyPrefSet = 47,
  kKeywordsSet = 48,
  kDndSet = 49,
  kPresenceChoiceSet = 52,
  kUserStatusSet = 53,
  kLastSeenRecorded = 54,
  kReadReceiptsChanged = 55,
  kReceiptsMaxMembersSet = 56,
  kReceiptsAdvanced = 57,
  kSearchRecorded = 58,
  kRecentSearchesCleared = 59,
  kWorkspaceRetentionSet = 60,
  kMessagesExpired = 61,
};

// Every event type, for code that must handle each one (tags, names, the codec). X(Type) names
// the struct; its tag is EventTag::k##Type.
#define PARLEY_EVENT_TYPES(X)                                                                    \
  X(UserRegistered) X(WorkspaceCreated) X(WorkspaceJoined) X(ChannelCreated) X(ChannelJoined)   \
  X(ChannelLeft) X(MessagePosted) X(ProfileUpdated) X(PasswordChanged) X(SessionStarted)        \
  X(SessionRefreshed) X(SessionRevoked) X(SignInFailed) X(MfaEnrollStarted) X(MfaEnabled)       \
  X(MfaDisabled) X(MfaCodeUsed) X(ApiKeyCreated) X(ApiKeyRevoked) X(OidcLinked)                 \
  X(WorkspaceSettingsChanged) X(InviteCreated) X(InviteRevoked) X(InviteAccepted)               \
  X(RoleChanged) X(OwnershipTransferred) X(MemberActiveChanged) X(ChannelUpdated)               \
  X(ChannelMemberAdded) X(MessageEdited) X(MessageDeleted) X(ThreadReplyPosted)                 \
  X(ThreadFollowChanged) X(ThreadMarkedRead) X(ReactionAdded) X(ReactionRemoved) X(PinChanged)   \
  X(BookmarkAdded) X(BookmarkRemoved) X(ChannelDetailsChanged) X(ChannelMemberRemoved)          \
  X(ConversationOpened) X(ReadMarkerSet)                                                        \
  X(NotificationCreated) X(NotificationsRead) X(UserFeedNoted) X(ChannelNotifyPrefSet)          \
  X(KeywordsSet) X(DndSet)                                                                      \
  X(PresenceChoiceSet) X(UserStatusSet) X(LastSeenRecorded) X(ReadReceiptsChanged)              \
  X(ReceiptsMaxMembersSet) X(ReceiptsAdvanced)                                                  \
  X(SearchRecorded) X(RecentSearchesCleared)                                                    \
  X(WorkspaceRetentionSet) X(MessagesExpired)

EventTag TagOf(const Event& event);
std::string_view EventName(EventTag tag);  // "MessagePosted"

}  // namespace parley
