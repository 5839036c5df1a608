// Workspace administration and channel moderation, on the workspace's shard (which also holds its
// channels): settings, invites, roles, ownership, deactivation, adding members, archiving, and
// editing or deleting messages.
#include <algorithm>

#include "core/decide_rules.h"

namespace parley {

namespace {

using rules::Decision;

Error Forbidden(std::string message, std::string field) {
  return MakeError(ErrorCode::kForbidden, std::move(message), std::move(field));
}

// The workspace, if `actor` is an owner or admin of it (see CheckWorkspaceAdmin).
Result<const WorkspaceState*> AdminWorkspace(const ShardState& state, UserId actor,
                                             WorkspaceId id) {
  if (Status s = rules::RequireActor(actor); !s) return s.error();
  if (Status s = CheckWorkspaceAdmin(state, actor, id); !s) return s.error();
  return state.FindWorkspace(id);
}

// A member record of the workspace (active or not) other than the actor's own.
Result<const MemberState*> OtherMember(const WorkspaceState& ws, UserId actor, UserId user) {
  auto it = ws.members.find(user);
  if (it == ws.members.end()) {
    return MakeError(ErrorCode::kNotFound, "not a member of this workspace", "user_id");
  }
  if (user == actor) return Forbidden("not on yourself", "user_id");
  return &it->second;
}

// A message of a channel the actor can see and write to (not archived).
Result<const StoredMessage*> WritableMessage(const rules::ChannelAccess& access, Seq seq) {
  if (access.channel == nullptr) return rules::ChannelNotFound();
  if (access.channel->archived) {
    return Forbidden("the channel is archived: it is read-only", "channel_id");
  }
  if (seq == 0 || seq > access.channel->last_seq()) {
    return MakeError(ErrorCode::kNotFound, "no such message", "seq");
  }
  if (seq <= access.channel->expired_up_to) {
    return MakeError(ErrorCode::kNotFound, "the message expired under the workspace's retention",
                     "seq");
  }
  const StoredMessage& m = access.channel->messages[seq - 1];
  if (m.deleted) return MakeError(ErrorCode::kNotFound, "the message was deleted", "seq");
  return &m;
}

// "5 minutes", "90 seconds", "1 minute", "1500 ms".
std::string DurationText(TimeMs ms) {
  auto plural = [](TimeMs n, std::string_view unit) {
    return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
  };
  if (ms > 0 && ms % kMinuteMs == 0) return plural(ms / kMinuteMs, "minute");
  if (ms > 0 && ms % 1000 == 0) return plural(ms / 1000, "second");
  return std::to_string(ms) + " ms";
}

}  // namespace

namespace rules {

Decision DecideOn(const ShardState& state, const UpdateWorkspaceSettings& c, Context& ctx) {
  Result<const WorkspaceState*> ws = AdminWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  WorkspaceSettings next = (*ws)->settings;  // receipts_max_members: SetReceiptsMaxMembers
  next.join_open = c.join_open;
  next.members_create_private = c.members_create_private;
  next.members_post_announcements = c.members_post_announcements;
  if (next == (*ws)->settings) return NoOp();
  return Emit(WorkspaceSettingsChanged{c.workspace_id, c.join_open, c.members_create_private,
                                       c.members_post_announcements, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const CreateInvite& c, Context& ctx) {
  Result<const WorkspaceState*> ws = AdminWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  Result<std::string> email = NormaliseEmail(c.email);
  if (!email) return email.error();
  auto role = static_cast<WorkspaceRole>(c.role);
  if (role != WorkspaceRole::kMember && role != WorkspaceRole::kGuest) {
    return Invalid("an invite's role is member or guest", "role");
  }
  if (c.channel_ids.size() > kMaxInviteChannels) {
    return Invalid("at most " + std::to_string(kMaxInviteChannels) + " channels", "channel_ids");
  }
  if (role == WorkspaceRole::kGuest && c.channel_ids.empty()) {
    return Invalid("a guest invite names the channels the guest may use", "channel_ids");
  }
  // Only channels the inviter can see: an admin outside a private channel may not invite
  // someone (possibly themselves under another address) into it, nor learn that it exists.
  for (ChannelId id : c.channel_ids) {
    const ChannelState* channel = FindVisibleChannel(state, c.actor, id).channel;
    // A conversation's members are fixed: no invite leads into one.
    if (channel == nullptr || channel->workspace_id != c.workspace_id ||
        channel->kind != ChannelKind::kChannel) {
      return MakeError(ErrorCode::kNotFound, "channel not found", "channel_ids");
    }
    if (channel->archived) return Forbidden("the channel is archived", "channel_ids");
  }
  if (c.lifetime_ms < 0 || c.lifetime_ms > kMaxInviteLifetimeMs) {
    return Invalid("an invite lasts at most 30 days", "expires_in_ms");
  }
  if (c.token_hash.empty()) return Invalid("token hash is empty", "token_hash");
  if ((*ws)->invites.size() >= kMaxOpenInvites) {
    return Invalid("too many open invites: revoke some", "workspace_id");
  }
  std::vector<uint64_t> channels = c.channel_ids;
  std::sort(channels.begin(), channels.end());
  channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
  TimeMs lifetime = c.lifetime_ms == 0 ? kDefaultInviteLifetimeMs : c.lifetime_ms;
  return Emit(InviteCreated{c.workspace_id, NextId(ctx), std::move(*email), c.role,
                            std::move(channels), c.token_hash, c.actor, ctx.now,
                            ctx.now + lifetime});
}

Decision DecideOn(const ShardState& state, const RevokeInvite& c, Context& ctx) {
  Result<const WorkspaceState*> ws = AdminWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  if ((*ws)->invites.count(c.invite_id) == 0) {
    return MakeError(ErrorCode::kNotFound, "no such open invite", "invite_id");
  }
  return Emit(InviteRevoked{c.workspace_id, c.invite_id, c.actor, ctx.now});
}

// Unknown, revoked, used, expired, wrong-token and someone else's invites all look the same.
Decision DecideOn(const ShardState& state, const AcceptInvite& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const Error invalid =
      MakeError(ErrorCode::kNotFound, "invalid, expired or already used invite", "token");
  const WorkspaceState* ws = state.FindWorkspace(c.workspace_id);
  if (ws == nullptr) return invalid;
  auto it = ws->invites.find(c.invite_id);
  if (it == ws->invites.end()) return invalid;
  const InviteState& invite = it->second;
  if (!ConstantTimeEquals(invite.token_hash, c.token_hash) || invite.expires_at <= ctx.now) {
    return invalid;
  }
  if (invite.email != c.actor_email) {
    return Forbidden("this invite is for another email address", "token");
  }
  if (ws->members.count(c.actor) != 0) {
    return MakeError(ErrorCode::kAlreadyExists, "already a member of this workspace",
                     "workspace_id");
  }
  return Emit(InviteAccepted{c.workspace_id, c.invite_id, c.actor, ctx.now});
}

// The owner grants and removes admin.
Decision DecideOn(const ShardState& state, const SetMemberRole& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  if ((*ws)->owner_id != c.actor) return Forbidden("only the owner changes roles", "role");
  auto role = static_cast<WorkspaceRole>(c.role);
  if (role != WorkspaceRole::kAdmin && role != WorkspaceRole::kMember) {
    return Invalid("role must be admin or member (use TransferOwnership for owner)", "role");
  }
  Result<const MemberState*> member = OtherMember(**ws, c.actor, c.user_id);
  if (!member) return member.error();
  if ((*member)->role == WorkspaceRole::kGuest) {
    return Forbidden("guests cannot become admins; invite them as members", "user_id");
  }
  if ((*member)->role == role) return NoOp();
  return Emit(RoleChanged{c.workspace_id, c.user_id, c.role, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const TransferOwnership& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  if ((*ws)->owner_id != c.actor) return Forbidden("only the owner transfers ownership", "user_id");
  Result<const MemberState*> member = OtherMember(**ws, c.actor, c.user_id);
  if (!member) return member.error();
  if (!(*member)->active || (*member)->role == WorkspaceRole::kGuest) {
    return Forbidden("ownership goes to an active full member", "user_id");
  }
  return Emit(OwnershipTransferred{c.workspace_id, c.actor, c.user_id, ctx.now});
}

// Admins deactivate members and guests; only the owner deactivates admins; nobody the owner.
Decision DecideOn(const ShardState& state, const SetMemberActive& c, Context& ctx) {
  Result<const WorkspaceState*> ws = AdminWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  Result<const MemberState*> member = OtherMember(**ws, c.actor, c.user_id);
  if (!member) return member.error();
  if ((*member)->role == WorkspaceRole::kOwner) {
    return Forbidden("the owner cannot be deactivated", "user_id");
  }
  if ((*member)->role == WorkspaceRole::kAdmin && (*ws)->owner_id != c.actor) {
    return Forbidden("only the owner deactivates admins", "user_id");
  }
  if ((*member)->active == c.active) return NoOp();
  return Emit(MemberActiveChanged{c.workspace_id, c.user_id, c.active, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const AddChannelMember& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  if (access.channel == nullptr) return ChannelNotFound();
  if (access.channel->kind != ChannelKind::kChannel) return ConversationMembersFixed();
  if (!access.channel->IsMember(c.actor) && !access.is_admin()) {
    return Forbidden("join the channel to add others", "channel_id");
  }
  if (access.role == WorkspaceRole::kGuest) return Forbidden("guests cannot add members", "user_id");
  if (access.channel->archived) return Forbidden("the channel is archived", "channel_id");
  if (!access.workspace->IsMember(c.user_id)) {
    return MakeError(ErrorCode::kNotFound, "not an active member of this workspace", "user_id");
  }
  if (access.channel->IsMember(c.user_id)) return NoOp();
  return Emit(ChannelMemberAdded{c.channel_id, c.user_id, c.actor, ctx.now});
}

// Owner, admins, or the channel's creator; #general is never archived.
Decision DecideOn(const ShardState& state, const UpdateChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  const ChannelState* channel = access.channel;
  if (channel == nullptr) return ChannelNotFound();
  if (channel->kind != ChannelKind::kChannel) {
    return Forbidden("conversations are not archived or made announcement channels",
                     "channel_id");
  }
  if (!access.is_admin() && channel->creator_id != c.actor) {
    return Forbidden("only admins or the channel's creator change it", "channel_id");
  }
  if (access.role == WorkspaceRole::kGuest) return Forbidden("guests cannot change channels", "");
  bool archived = c.archived.value_or(channel->archived);
  bool announcement = c.announcement.value_or(channel->announcement);
  if (archived && channel->id == access.workspace->general_id) {
    return Forbidden("#general cannot be archived", "archived");
  }
  if (archived == channel->archived && announcement == channel->announcement) return NoOp();
  return Emit(ChannelUpdated{channel->id, archived, announcement, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const EditMessage& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  Result<const StoredMessage*> m = WritableMessage(access, c.seq);
  if (!m) return m.error();
  if ((*m)->author_id != c.actor) return Forbidden("only the author edits a message", "seq");
  if (ctx.now - (*m)->at > ctx.edit_window_ms) {
    return Forbidden("messages can be edited for " + DurationText(ctx.edit_window_ms) +
                         " after posting",
                     "seq");
  }
  if (Status s = ValidateText(c.text); !s) return s.error();
  if (std::string_view((*m)->text) == c.text) return NoOp();
  return Emit(MessageEdited{c.channel_id, c.seq, c.text, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const DeleteMessage& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  Result<const StoredMessage*> m = WritableMessage(access, c.seq);
  if (!m) return m.error();
  if ((*m)->author_id != c.actor && !access.is_admin()) {
    return Forbidden("only the author or an admin deletes a message", "seq");
  }
  return Emit(MessageDeleted{c.channel_id, c.seq, c.actor, ctx.now});
}

}  // namespace rules

// ---- Queries ----------------------------------------------------------------------------------

Status CheckWorkspaceAdmin(const ShardState& state, UserId actor, WorkspaceId workspace) {
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, actor, workspace);
  if (!ws) return ws.error();
  if (!(*ws)->IsAdmin(actor)) return Forbidden("only the owner and admins may", "workspace_id");
  return OkStatus();
}

Result<const WorkspaceState*> FindMemberWorkspace(const ShardState& state, UserId actor,
                                                  WorkspaceId workspace) {
  if (Status s = rules::RequireActor(actor); !s) return s.error();
  const WorkspaceState* ws = state.FindWorkspace(workspace);
  if (ws == nullptr || !ws->IsMember(actor)) return rules::WorkspaceNotFound();
  return ws;
}

Result<std::vector<const ChannelState*>> VisibleChannels(const ShardState& state, UserId actor,
                                                         WorkspaceId workspace) {
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, actor, workspace);
  if (!ws) return ws.error();
  std::vector<const ChannelState*> out;
  for (ChannelId id : (*ws)->channels) {
    // The directory: conversations are listed by ListConversations instead.
    const ChannelState* channel = rules::FindVisibleChannel(state, actor, id).channel;
    if (channel != nullptr && channel->kind == ChannelKind::kChannel) {
      out.push_back(channel);
    }
  }
  return out;
}

}  // namespace parley
