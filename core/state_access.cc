// ShardState::Apply for identity and workspace administration: sessions, second factors, API
// keys, roles, invites, channel settings, edits and deletions, and the audit entries they leave.
#include <algorithm>
#include <cassert>
#include <utility>

#include "core/decide.h"
#include "core/state.h"

namespace parley {

namespace {

AuditEntry Entry(TimeMs at, AuditKind kind, UserId user, UserId actor, WorkspaceId ws = 0) {
  AuditEntry entry;
  entry.at = at;
  entry.kind = kind;
  entry.user_id = user;
  entry.actor_id = actor;
  entry.workspace_id = ws;
  return entry;
}

std::string_view RevokeReasonName(uint8_t reason) {
  switch (static_cast<RevokeReason>(reason)) {
    case RevokeReason::kLogout: return "logout";
    case RevokeReason::kRevokedByUser: return "revoked";
    case RevokeReason::kRefreshReuse: return "refresh_token_reuse";
    case RevokeReason::kSessionLimit: return "session_limit";
    case RevokeReason::kPasswordChanged: return "password_changed";
    case RevokeReason::kDeactivated: return "deactivated";
  }
  return "unknown";
}

std::string_view MethodName(uint8_t method) {
  switch (static_cast<SignInMethod>(method)) {
    case SignInMethod::kPassword: return "password";
    case SignInMethod::kPasswordAndMfa: return "password+mfa";
    case SignInMethod::kOidc: return "oidc";
  }
  return "unknown";
}

std::string_view RoleName(uint8_t role) {
  switch (static_cast<WorkspaceRole>(role)) {
    case WorkspaceRole::kOwner: return "owner";
    case WorkspaceRole::kAdmin: return "admin";
    case WorkspaceRole::kMember: return "member";
    case WorkspaceRole::kGuest: return "guest";
  }
  return "unknown";
}

}  // namespace

void ShardState::ApplyEvent(const ProfileUpdated& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  user->display_name = e.display_name;
  user->title = e.title;
  user->avatar_url = e.avatar_url;
}

void ShardState::ApplyEvent(const PasswordChanged& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  user->password_hash = e.password_hash;
  user->password_salt.clear();
  if (!e.rehash) Audit(Entry(e.at, AuditKind::kPasswordChanged, e.user_id, e.user_id));
}

void ShardState::ApplyEvent(const SessionStarted& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  // Expired sessions go when a new one starts, so a user's map stays as small as their devices.
  std::erase_if(user->sessions, [&](const auto& kv) { return kv.second.expires_at <= e.at; });
  SessionState session;
  session.id = e.session_id;
  session.device = e.device;
  session.address = e.address;
  session.method = e.method;
  session.created_at = e.at;
  session.refreshed_at = e.at;
  session.expires_at = e.expires_at;
  session.refresh_hash = e.refresh_hash;
  user->sessions.emplace(e.session_id, std::move(session));
  user->recent_failures.clear();
  NoteMinted(e.session_id);
  AuditEntry entry = Entry(e.at, AuditKind::kSignIn, e.user_id, e.user_id);
  entry.address = e.address;
  entry.detail = std::string(MethodName(e.method));
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const SessionRefreshed& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  auto it = user->sessions.find(e.session_id);
  assert(it != user->sessions.end());
  if (it == user->sessions.end()) return;
  SessionState& session = it->second;
  session.rotated_hashes.push_back(std::move(session.refresh_hash));
  if (session.rotated_hashes.size() > kMaxRotatedHashes) {
    session.rotated_hashes.erase(session.rotated_hashes.begin());
  }
  session.refresh_hash = e.refresh_hash;
  session.refreshed_at = e.at;
  session.expires_at = e.expires_at;
}

void ShardState::ApplyEvent(const SessionRevoked& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  user->sessions.erase(e.session_id);
  bool reuse = e.reason == static_cast<uint8_t>(RevokeReason::kRefreshReuse);
  AuditEntry entry = Entry(e.at, reuse ? AuditKind::kRefreshTokenReuse : AuditKind::kSessionRevoked,
                           e.user_id, e.by);
  entry.detail = "session " + std::to_string(e.session_id) + " " +
                 std::string(RevokeReasonName(e.reason));
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const SignInFailed& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  std::erase_if(user->recent_failures, [&](TimeMs t) { return t <= e.at - kLockoutWindowMs; });
  user->recent_failures.push_back(e.at);
  AuditEntry entry = Entry(e.at, AuditKind::kSignInFailed, e.user_id, e.user_id);
  entry.address = e.address;
  entry.detail = e.second_factor ? "second factor" : "password";
  Audit(entry);
  if (e.locked_until > 0) {
    user->locked_until = e.locked_until;
    user->recent_failures.clear();
    entry.kind = AuditKind::kAccountLocked;
    entry.detail = "until " + std::to_string(e.locked_until);
    Audit(std::move(entry));
  }
}

void ShardState::ApplyEvent(const MfaEnrollStarted& e) {
  if (UserState* user = MutableUser(e.user_id)) user->mfa.pending_secret = e.secret;
}

void ShardState::ApplyEvent(const MfaEnabled& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  user->mfa.enabled = true;
  user->mfa.secret = std::move(user->mfa.pending_secret);
  user->mfa.pending_secret.clear();
  user->mfa.recovery_hashes = e.recovery_hashes;
  user->mfa.last_step = std::max(user->mfa.last_step, e.totp_step);
  Audit(Entry(e.at, AuditKind::kMfaEnabled, e.user_id, e.user_id));
}

void ShardState::ApplyEvent(const MfaDisabled& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  uint64_t last_step = user->mfa.last_step;  // a code used to disable stays used
  user->mfa = MfaState{};
  user->mfa.last_step = last_step;
  Audit(Entry(e.at, AuditKind::kMfaDisabled, e.user_id, e.user_id));
}

void ShardState::ApplyEvent(const MfaCodeUsed& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  user->mfa.last_step = std::max(user->mfa.last_step, e.totp_step);
  size_t index = e.recovery_index;
  if (index > 0 && index <= user->mfa.recovery_hashes.size()) {
    user->mfa.recovery_hashes[index - 1].clear();
  }
}

void ShardState::ApplyEvent(const ApiKeyCreated& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  user->api_keys.emplace(
      e.key_id, ApiKeyState{e.key_id, e.name, e.scopes, e.key_hash, e.at, e.expires_at, false});
  NoteMinted(e.key_id);
  AuditEntry entry = Entry(e.at, AuditKind::kApiKeyCreated, e.user_id, e.user_id);
  entry.detail = "key " + std::to_string(e.key_id) + " " + e.name;
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const ApiKeyRevoked& e) {
  UserState* user = MutableUser(e.user_id);
  if (!user) return;
  auto it = user->api_keys.find(e.key_id);
  if (it != user->api_keys.end()) it->second.revoked = true;
  AuditEntry entry = Entry(e.at, AuditKind::kApiKeyRevoked, e.user_id, e.user_id);
  entry.detail = "key " + std::to_string(e.key_id);
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const OidcLinked& e) {
  if (UserState* user = MutableUser(e.user_id)) user->oidc_links.emplace_back(e.issuer, e.subject);
}

void ShardState::ApplyEvent(const WorkspaceSettingsChanged& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  ws->settings.join_open = e.join_open;  // receipts_max_members has its own event
  ws->settings.members_create_private = e.members_create_private;
  ws->settings.members_post_announcements = e.members_post_announcements;
}

void ShardState::ApplyEvent(const InviteCreated& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  InviteState invite{e.invite_id,     e.email, static_cast<WorkspaceRole>(e.role), e.channel_ids,
                     e.token_hash,    e.by,    e.at,                                e.expires_at};
  // Expired invites go when a new one is made, so the map holds only what can still be used.
  std::erase_if(ws->invites, [&](const auto& kv) { return kv.second.expires_at <= e.at; });
  ws->invites.emplace(e.invite_id, std::move(invite));
  NoteMinted(e.invite_id);
}

void ShardState::ApplyEvent(const InviteRevoked& e) {
  if (WorkspaceState* ws = MutableWorkspace(e.workspace_id)) ws->invites.erase(e.invite_id);
}

void ShardState::ApplyEvent(const InviteAccepted& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  auto it = ws->invites.find(e.invite_id);
  assert(it != ws->invites.end());
  if (it == ws->invites.end()) return;
  InviteState invite = std::move(it->second);
  ws->invites.erase(it);
  AddWorkspaceMember(*ws, e.user_id, invite.role);
  std::vector<ChannelId> channels = invite.channel_ids;
  if (invite.role != WorkspaceRole::kGuest) channels.push_back(ws->general_id);
  for (ChannelId id : channels) {
    auto channel = channels_.find(id);
    // A channel of the invite is always this workspace's (checked when it was made).
    if (channel != channels_.end()) AddChannelMember(channel->second, e.user_id);
  }
  AuditEntry entry = Entry(e.at, AuditKind::kInviteAccepted, e.user_id, invite.created_by, ws->id);
  entry.detail = "invite " + std::to_string(e.invite_id) + " as " +
                 std::string(RoleName(static_cast<uint8_t>(invite.role)));
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const RoleChanged& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  auto it = ws->members.find(e.user_id);
  assert(it != ws->members.end());
  if (it != ws->members.end()) it->second.role = static_cast<WorkspaceRole>(e.role);
  AuditEntry entry = Entry(e.at, AuditKind::kRoleChanged, e.user_id, e.by, ws->id);
  entry.detail = std::string(RoleName(e.role));
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const OwnershipTransferred& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  ws->owner_id = e.to_user;
  ws->members[e.from_user].role = WorkspaceRole::kAdmin;
  ws->members[e.to_user].role = WorkspaceRole::kOwner;
  AuditEntry entry = Entry(e.at, AuditKind::kOwnershipTransferred, e.to_user, e.from_user, ws->id);
  Audit(std::move(entry));
}

void ShardState::ApplyEvent(const MemberActiveChanged& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  auto it = ws->members.find(e.user_id);
  assert(it != ws->members.end());
  if (it != ws->members.end()) it->second.active = e.active;
  Audit(Entry(e.at, e.active ? AuditKind::kMemberReactivated : AuditKind::kMemberDeactivated,
              e.user_id, e.by, ws->id));
}

void ShardState::ApplyEvent(const ChannelUpdated& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (!channel) return;
  channel->archived = e.archived;
  channel->announcement = e.announcement;
}

void ShardState::ApplyEvent(const ChannelMemberAdded& e) {
  if (ChannelState* channel = MutableChannel(e.channel_id)) AddChannelMember(*channel, e.user_id);
}

// MessageEdited and MessageDeleted are applied in state_messages.cc, beside the indexes they
// maintain (edit history, mentions, reactions, pins).

}  // namespace parley
