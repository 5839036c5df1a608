// Internal to core's decide*.cc files: the helpers and per-command decisions they share.
// Not part of core's interface; include core/decide.h instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/decide.h"

namespace parley::rules {

using Decision = Result<std::optional<Event>>;

inline Decision Emit(Event event) { return std::optional<Event>(std::move(event)); }
inline Decision NoOp() { return std::optional<Event>(); }
uint64_t NextId(Context& ctx);

std::string_view TrimAscii(std::string_view s);
bool HasControlCharacters(std::string_view s);  // REQUIRES: IsValidUtf8(s)
Error Invalid(std::string message, std::string field);
std::string TooLong(std::string_view what, size_t max);
// Display names and workspace names: trimmed, 1..max bytes, valid UTF-8, no control characters.
// Returns the trimmed text.
Result<std::string> ValidateName(std::string_view raw, size_t max, std::string_view what,
                                 std::string field);
// A page size: `requested`, or `fallback` when 0; kInvalidArgument above `max`.
Result<uint32_t> PageLimit(uint32_t requested, uint32_t fallback, uint32_t max);
// Message text: 1..kMaxMessageBytes of valid UTF-8, not only whitespace.
Status ValidateText(std::string_view text);

// Channel names: 1..kMaxNameBytes of a-z, 0-9, '-', '_', starting with a letter or digit.
// REQUIRES: `name` is already trimmed.
Status ValidateChannelName(std::string_view name);

Status RequireActor(UserId actor);
Error ChannelNotFound();
// Joining, leaving, adding or removing members of a direct or group conversation.
Error ConversationMembersFixed();
Error WorkspaceNotFound();

// A channel as `actor` may see it: null `channel` when they may not know it exists (see
// CheckCanRead); otherwise its workspace and the actor's role there.
struct ChannelAccess {
  const ChannelState* channel = nullptr;
  const WorkspaceState* workspace = nullptr;
  WorkspaceRole role = WorkspaceRole::kGuest;
  bool is_admin() const { return role == WorkspaceRole::kOwner || role == WorkspaceRole::kAdmin; }
};
ChannelAccess FindVisibleChannel(const ShardState& state, UserId actor, ChannelId id);
// Who may post (and reply) in a visible channel: its members, not while archived, and in an
// announcement channel admins only unless the workspace lets members post.
// REQUIRES: access.channel != nullptr.
Status CheckCanPost(const ChannelAccess& access, UserId actor);
// The text (ValidateText) and client_msg_id (at most kMaxClientMsgIdBytes) of a post or reply.
Status ValidatePost(std::string_view text, std::string_view client_msg_id);

// Identity (decide_identity.cc).
Decision DecideOn(const ShardState& state, const UpdateProfile& c, Context& ctx);
Decision DecideOn(const ShardState& state, const ChangePassword& c, Context& ctx);
Decision DecideOn(const ShardState& state, const StartSession& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RefreshSession& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RevokeSession& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RecordSignInFailure& c, Context& ctx);
Decision DecideOn(const ShardState& state, const StartMfaEnrollment& c, Context& ctx);
Decision DecideOn(const ShardState& state, const ConfirmMfa& c, Context& ctx);
Decision DecideOn(const ShardState& state, const UseSecondFactor& c, Context& ctx);
Decision DecideOn(const ShardState& state, const DisableMfa& c, Context& ctx);
Decision DecideOn(const ShardState& state, const CreateApiKey& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RevokeApiKey& c, Context& ctx);
Decision DecideOn(const ShardState& state, const LinkOidc& c, Context& ctx);

// Workspace administration and channel moderation (decide_admin.cc).
Decision DecideOn(const ShardState& state, const UpdateWorkspaceSettings& c, Context& ctx);
Decision DecideOn(const ShardState& state, const CreateInvite& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RevokeInvite& c, Context& ctx);
Decision DecideOn(const ShardState& state, const AcceptInvite& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetMemberRole& c, Context& ctx);
Decision DecideOn(const ShardState& state, const TransferOwnership& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetMemberActive& c, Context& ctx);
Decision DecideOn(const ShardState& state, const AddChannelMember& c, Context& ctx);
Decision DecideOn(const ShardState& state, const UpdateChannel& c, Context& ctx);
Decision DecideOn(const ShardState& state, const EditMessage& c, Context& ctx);
Decision DecideOn(const ShardState& state, const DeleteMessage& c, Context& ctx);

// The chat product: threads, reactions, pins, bookmarks, channel details, conversations and
// read markers (decide_messages.cc, decide_conversations.cc).
Decision DecideOn(const ShardState& state, const PostReply& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetThreadFollow& c, Context& ctx);
Decision DecideOn(const ShardState& state, const MarkThreadRead& c, Context& ctx);
Decision DecideOn(const ShardState& state, const AddReaction& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RemoveReaction& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetPinned& c, Context& ctx);
Decision DecideOn(const ShardState& state, const AddBookmark& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RemoveBookmark& c, Context& ctx);
Decision DecideOn(const ShardState& state, const UpdateChannelDetails& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RemoveChannelMember& c, Context& ctx);
Decision DecideOn(const ShardState& state, const OpenConversation& c, Context& ctx);
Decision DecideOn(const ShardState& state, const MarkRead& c, Context& ctx);

// Presence and receipts (decide_presence.cc).
Decision DecideOn(const ShardState& state, const SetPresenceChoice& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetUserStatus& c, Context& ctx);
Decision DecideOn(const ShardState& state, const RecordLastSeen& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetReadReceipts& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetReceiptsMaxMembers& c, Context& ctx);
Decision DecideOn(const ShardState& state, const AdvanceReceipts& c, Context& ctx);
// A reaction's or status's emoji as stored (decide_messages.cc): ":name:" or "name" in any case
// becomes "name"; one emoji character stays as it is.
Result<std::string> NormaliseEmoji(std::string_view raw);
// Notifications and the user feed (decide_notify.cc).
Decision DecideOn(const ShardState& state, const SetChannelNotifyPref& c, Context& ctx);
Decision DecideOn(const ShardState& state, const NoteUserFeed& c, Context& ctx);
Decision DecideOn(const ShardState& state, const CreateNotification& c, Context& ctx);
Decision DecideOn(const ShardState& state, const MarkNotificationsRead& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetKeywords& c, Context& ctx);
Decision DecideOn(const ShardState& state, const SetDnd& c, Context& ctx);
// Recent searches (decide_search.cc).
Decision DecideOn(const ShardState& state, const RecordSearch& c, Context& ctx);
Decision DecideOn(const ShardState& state, const ClearRecentSearches& c, Context& ctx);
// Message retention (decide_retention.cc).
Decision DecideOn(const ShardState& state, const SetRetention& c, Context& ctx);
Decision DecideOn(const ShardState& state, const ExpireMessages& c, Context& ctx);

}  // namespace parley::rules
