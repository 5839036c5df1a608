// Commands: what a client asks for, already authenticated (actor) and decoded from the wire.
// decide() turns one into an event or an error; it never mutates state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.h"

namespace parley {

// The password has been hashed by the caller (off the core, which does no cryptography); the
// plain password is passed only so decide() can apply the password policy. An OpenID Connect
// account has no password: `oidc` set, password and hash empty.
struct RegisterUser {
  std::string email;  // as typed; decide() normalises it
  std::string display_name;
  std::string password;
  std::string password_salt;  // legacy format only; empty for scrypt hashes
  std::string password_hash;
  bool oidc = false;
};

struct CreateWorkspace {
  UserId actor = 0;
  std::string name;
};

struct JoinWorkspace {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
};

struct CreateChannel {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  std::string name;
  bool is_private = false;
};

struct JoinChannel {
  UserId actor = 0;
  ChannelId channel_id = 0;
};

struct LeaveChannel {
  UserId actor = 0;
  ChannelId channel_id = 0;
};

struct PostMessage {
  UserId actor = 0;
  ChannelId channel_id = 0;
  std::string client_msg_id;
  std::string text;
};

// ---- Identity: the user's shard. Cryptography (hashing, token checks, TOTP) is done by the
// caller; a command carries its outcome (a hash, a matched step).

struct UpdateProfile {
  UserId actor = 0;
  std::optional<std::string> display_name, title, avatar_url;  // nullopt: unchanged
};

// The caller verified the current password (or is re-hashing after a sign-in: `rehash`).
struct ChangePassword {
  UserId actor = 0;
  std::string new_password;  // for the policy; empty when rehashing
  std::string new_hash;
  bool rehash = false;
};

struct StartSession {
  UserId user_id = 0;
  std::string refresh_hash;
  std::string device;
  std::string address;
  uint8_t method = 0;       // SignInMethod
  TimeMs lifetime_ms = 0;   // of the refresh token
};

// presented_hash: SHA-256 of the refresh token presented; new_hash: of its replacement.
struct RefreshSession {
  UserId user_id = 0;
  uint64_t session_id = 0;
  std::string presented_hash;
  std::string new_hash;
  TimeMs lifetime_ms = 0;
};

struct RevokeSession {
  UserId user_id = 0;  // whose session
  uint64_t session_id = 0;
  uint8_t reason = 0;  // RevokeReason
  UserId by = 0;
};

struct RecordSignInFailure {
  UserId user_id = 0;
  std::string address;
  bool second_factor = false;
};

struct StartMfaEnrollment {
  UserId actor = 0;
  std::string secret;  // fresh random bytes
};

// totp_step: the step the code matched against the pending secret, 0 if it matched none.
struct ConfirmMfa {
  UserId actor = 0;
  uint64_t totp_step = 0;
  std::vector<std::string> recovery_hashes;
};

// A second factor presented at sign-in or to disable MFA: the TOTP step it matched (0 = none)
// or the SHA-256 of a recovery code (empty = none).
struct UseSecondFactor {
  UserId user_id = 0;
  uint64_t totp_step = 0;
  std::string recovery_hash;
};

struct DisableMfa {
  UserId actor = 0;
};

struct CreateApiKey {
  UserId actor = 0;
  std::string name;
  uint32_t scopes = 0;
  std::string key_hash;
  TimeMs expires_at = 0;  // 0 = never
};

struct RevokeApiKey {
  UserId actor = 0;
  uint64_t key_id = 0;
};

struct LinkOidc {
  UserId user_id = 0;
  std::string issuer;
  std::string subject;
};

// ---- Workspace administration: the workspace's shard ------------------------------------------

struct UpdateWorkspaceSettings {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  bool join_open = false;
  bool members_create_private = true;
  bool members_post_announcements = false;
};

struct CreateInvite {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  std::string email;  // as typed
  uint8_t role = 0;   // WorkspaceRole: member or guest
  std::vector<uint64_t> channel_ids;
  std::string token_hash;
  TimeMs lifetime_ms = 0;  // 0 = kDefaultInviteLifetimeMs
};

struct RevokeInvite {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  uint64_t invite_id = 0;
};

struct AcceptInvite {
  UserId actor = 0;
  std::string actor_email;  // normalised, from the signed-in session
  WorkspaceId workspace_id = 0;
  uint64_t invite_id = 0;
  std::string token_hash;
};

struct SetMemberRole {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  UserId user_id = 0;
  uint8_t role = 0;
};

struct TransferOwnership {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  UserId user_id = 0;
};

struct SetMemberActive {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  UserId user_id = 0;
  bool active = false;
};

struct AddChannelMember {
  UserId actor = 0;
  ChannelId channel_id = 0;
  UserId user_id = 0;
};

struct UpdateChannel {
  UserId actor = 0;
  ChannelId channel_id = 0;
  std::optional<bool> archived, announcement;
};

struct EditMessage {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  std::string text;
};

struct DeleteMessage {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
};

// ---- The chat product: the channel's shard ----------------------------------------------------

struct PostReply {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq thread_seq = 0;  // the top-level message the thread hangs under
  std::string client_msg_id;
  std::string text;
  bool also_to_channel = false;
};

struct SetThreadFollow {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  bool follow = false;
};

// Marks the thread read up to its newest reply.
struct MarkThreadRead {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
};

struct AddReaction {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  std::string emoji;
};

struct RemoveReaction {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  std::string emoji;
};

struct SetPinned {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  bool pinned = false;
};

struct AddBookmark {
  UserId actor = 0;
  ChannelId channel_id = 0;
  std::string title;
  std::string url;
};

struct RemoveBookmark {
  UserId actor = 0;
  ChannelId channel_id = 0;
  uint64_t bookmark_id = 0;
};

// nullopt: unchanged.
struct UpdateChannelDetails {
  UserId actor = 0;
  ChannelId channel_id = 0;
  std::optional<std::string> name, topic, purpose;
};

struct RemoveChannelMember {
  UserId actor = 0;
  ChannelId channel_id = 0;
  UserId user_id = 0;
};

// The others to talk with (the actor is added): 1 for a direct conversation, up to
// kMaxConversationMembers - 1 for a group. Decided on the workspace's shard.
struct OpenConversation {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  std::vector<UserId> others;
};

// seq 0: up to the channel's newest message.
struct MarkRead {
  UserId actor = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
};

// ---- Presence (the user's shard) and receipts (the channel's shard) ---------------------------

// away: appear away until set back to automatic (away = false).
struct SetPresenceChoice {
  UserId actor = 0;
  bool away = false;
};

// text and emoji both empty clear the status. expires_at: 0 = never, else in the future.
struct SetUserStatus {
  UserId actor = 0;
  std::string text;
  std::string emoji;
  TimeMs expires_at = 0;
};

// The user's last live session ended (the server decides this, not a client).
struct RecordLastSeen {
  UserId user_id = 0;
};

struct SetReadReceipts {
  UserId actor = 0;
  bool send_read_receipts = true;
};

// Owner and admins of the workspace.
struct SetReceiptsMaxMembers {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  uint32_t max_members = 0;
};

// What the server observed: a message reached a session of a member (delivered) or a member's
// read marker moved while they send read receipts (read). Entries that advance nothing, of
// non-members or in an untracked channel are dropped; nothing left is a no-op.
struct ReceiptProgress {
  UserId user_id = 0;
  Seq delivered = 0;
  Seq read = 0;
};
struct AdvanceReceipts {
  ChannelId channel_id = 0;
  std::vector<ReceiptProgress> progress;
};

// ---- Notifications (core/notify.h) --------------------------------------------------------------

// On the channel's owner. level: NotifyLevel.
struct SetChannelNotifyPref {
  UserId actor = 0;
  ChannelId channel_id = 0;
  uint8_t level = 0;
  bool muted = false;
};

// On the user's owner: a feed entry a channel's owner relayed (FeedKind and its fields).
struct NoteUserFeed {
  UserId user_id = 0;
  uint8_t kind = 0;
  ChannelId channel_id = 0;
  Seq thread_seq = 0;
  uint64_t value = 0;
  bool flag = false;
};

// On the user's owner: a candidate the channel's owner decided (NotifyCandidate). The shard
// passes the user's local minute of the day (DND schedule), or -1 without a schedule. A message
// the user already has a notification of is a no-op (decided again after a restart).
struct CreateNotification {
  UserId user_id = 0;
  uint8_t reason = 0;
  WorkspaceId workspace_id = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  Seq thread_seq = 0;
  UserId actor_id = 0;
  std::string snippet;
  int32_t local_minute = -1;
};

// notification_id 0: all of them up to the newest.
struct MarkNotificationsRead {
  UserId actor = 0;
  uint64_t notification_id = 0;
};

struct SetKeywords {
  UserId actor = 0;
  std::vector<std::string> keywords;
};

enum class DndOp : uint8_t { kSnooze = 0, kSchedule = 1, kClearSchedule = 2, kOff = 3 };
// kSnooze: for snooze_minutes from now (0 ends a snooze); kSchedule: the daily quiet period in
// time_zone (the shard has checked the zone name); kOff: neither.
struct SetDnd {
  UserId actor = 0;
  DndOp op = DndOp::kSnooze;
  uint32_t snooze_minutes = 0;
  uint32_t start_minute = 0;
  uint32_t end_minute = 0;
  std::string time_zone;
};

// ---- Search (core/search_query.h): the user's recent searches, on the user's shard ------------

// A search the actor ran; it becomes the newest of their recent searches.
struct RecordSearch {
  UserId actor = 0;
  std::string query;  // as typed; decide() trims it
};

struct ClearRecentSearches {
  UserId actor = 0;
};

// ---- Message retention (the workspace's shard, which owns its channels) ----------------------

// Owner and admins. days: 0 = keep forever, else 1..kMaxRetentionDays.
struct SetRetention {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  uint32_t days = 0;
};

// The retention sweep of one channel (the server decides this, not a client): its oldest
// messages past the workspace's retention at ctx.now, at most kMaxExpiredPerSweep of them; a
// no-op when none is due.
struct ExpireMessages {
  ChannelId channel_id = 0;
};

using Command =
    std::variant<RegisterUser, CreateWorkspace, JoinWorkspace, CreateChannel, JoinChannel,
                 LeaveChannel, PostMessage, UpdateProfile, ChangePassword, StartSession,
                 RefreshSession, RevokeSession, RecordSignInFailure, StartMfaEnrollment, ConfirmMfa,
                 UseSecondFactor, DisableMfa, CreateApiKey, RevokeApiKey, LinkOidc,
                 UpdateWorkspaceSettings, CreateInvite, RevokeInvite, AcceptInvite, SetMemberRole,
                 TransferOwnership, SetMemberActive, AddChannelMember, UpdateChannel, EditMessage,
                 DeleteMessage, PostReply, SetThreadFollow, MarkThreadRead, AddReaction,
                 RemoveReaction, SetPinned, AddBookmark, RemoveBookmark, UpdateChannelDetails,
                 RemoveChannelMember, OpenConversation, MarkRead,
                 SetPresenceChoice, SetUserStatus, RecordLastSeen, SetReadReceipts,
                 SetReceiptsMaxMembers, AdvanceReceipts, SetChannelNotifyPref,
                 NoteUserFeed, CreateNotification, MarkNotificationsRead, SetKeywords, SetDnd,
                 RecordSearch, ClearRecentSearches, SetRetention, ExpireMessages>;

}  // namespace parley
