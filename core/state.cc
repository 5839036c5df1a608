#include "core/state.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "core/decide.h"

namespace parley {

namespace {

template <class Map>
const typename Map::mapped_type* FindIn(const Map& map, const typename Map::key_type& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

template <class Id>
std::vector<Id> SortedIds(const std::unordered_map<UserId, std::unordered_set<Id>>& index,
                          UserId user) {
  auto it = index.find(user);
  if (it == index.end()) return {};
  std::vector<Id> ids(it->second.begin(), it->second.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The creator is the first member of every channel.
ChannelState NewChannel(ChannelId id, WorkspaceId workspace, std::string_view name, bool is_private,
                        UserId creator, TimeMs at, std::pmr::memory_resource* message_memory) {
  ChannelState channel;
  channel.messages = ChunkedVector<StoredMessage>(message_memory);
  channel.id = id;
  channel.workspace_id = workspace;
  channel.name = std::string(name);
  channel.is_private = is_private;
  channel.creator_id = creator;
  channel.created_at = at;
  channel.members.insert(creator);
  return channel;
}

}  // namespace

std::string ClientIdKey(UserId author, std::string_view client_msg_id) {
  // Fixed-width little-endian prefix: no separator can collide with client id bytes, and the
  // key does not depend on the host's byte order.
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>((author >> (8 * i)) & 0xff);
  key.append(client_msg_id);
  return key;
}

const UserState* ShardState::FindUser(UserId id) const { return FindIn(users_, id); }

const UserState* ShardState::FindUserByEmail(std::string_view normalised_email) const {
  const UserId* id = FindIn(user_by_email_, std::string(normalised_email));
  return id == nullptr ? nullptr : FindUser(*id);
}

const WorkspaceState* ShardState::FindWorkspace(WorkspaceId id) const {
  return FindIn(workspaces_, id);
}

const ChannelState* ShardState::FindChannel(ChannelId id) const { return FindIn(channels_, id); }

const UserState* ShardState::FindUserByOidc(std::string_view issuer,
                                            std::string_view subject) const {
  // Links are rare and looked up only at OpenID sign-in, after the email picked the user.
  for (const auto& [id, user] : users_) {
    for (const auto& [iss, sub] : user.oidc_links) {
      if (iss == issuer && sub == subject) return &user;
    }
  }
  return nullptr;
}

UserState* ShardState::MutableUser(UserId id) {
  auto it = users_.find(id);
  assert(it != users_.end());
  return it == users_.end() ? nullptr : &it->second;
}

WorkspaceState* ShardState::MutableWorkspace(WorkspaceId id) {
  auto it = workspaces_.find(id);
  assert(it != workspaces_.end());
  return it == workspaces_.end() ? nullptr : &it->second;
}

ChannelState* ShardState::MutableChannel(ChannelId id) {
  auto it = channels_.find(id);
  assert(it != channels_.end());
  return it == channels_.end() ? nullptr : &it->second;
}

std::string_view AuditKindName(AuditKind kind) {
  switch (kind) {
    case AuditKind::kSignIn: return "sign_in";
    case AuditKind::kSignInFailed: return "sign_in_failed";
    case AuditKind::kAccountLocked: return "account_locked";
    case AuditKind::kRefreshTokenReuse: return "refresh_token_reuse";
    case AuditKind::kSessionRevoked: return "session_revoked";
    case AuditKind::kPasswordChanged: return "password_changed";
    case AuditKind::kMfaEnabled: return "mfa_enabled";
    case AuditKind::kMfaDisabled: return "mfa_disabled";
    case AuditKind::kRoleChanged: return "role_changed";
    case AuditKind::kOwnershipTransferred: return "ownership_transferred";
    case AuditKind::kMemberDeactivated: return "member_deactivated";
    case AuditKind::kMemberReactivated: return "member_reactivated";
    case AuditKind::kApiKeyCreated: return "api_key_created";
    case AuditKind::kApiKeyRevoked: return "api_key_revoked";
    case AuditKind::kInviteAccepted: return "invite_accepted";
  }
  return "unknown";
}

// A deactivated member keeps their index entries (their record and history stay, and they may be
// reactivated) but has no access, so the queries leave out the workspaces that deactivated them.
std::vector<WorkspaceId> ShardState::WorkspacesOf(UserId user) const {
  std::vector<WorkspaceId> ids = SortedIds(workspaces_by_user_, user);
  std::erase_if(ids, [&](WorkspaceId id) {
    const WorkspaceState* ws = FindWorkspace(id);
    return ws == nullptr || !ws->IsMember(user);
  });
  return ids;
}

std::vector<ChannelId> ShardState::ChannelsOf(UserId user) const {
  std::vector<ChannelId> ids = SortedIds(channels_by_user_, user);
  std::erase_if(ids, [&](ChannelId id) {
    const ChannelState* channel = FindChannel(id);
    const WorkspaceState* ws = channel ? FindWorkspace(channel->workspace_id) : nullptr;
    return ws == nullptr || !ws->IsMember(user);
  });
  return ids;
}

void ShardState::Apply(const Event& event) {
  ++version_;
  Touched touched = TouchedBy(event);
  std::visit([this](const auto& e) { ApplyEvent(e); }, event);
  Stamp(touched);
}

void ShardState::Apply(Event&& event) {
  ++version_;
  Touched touched = TouchedBy(event);
  std::visit([this](auto&& e) { ApplyEvent(std::move(e)); }, std::move(event));
  Stamp(touched);
}

// Ids owned by other shards (authors, members) never reach here with our residue, and ids of
// ours are only ever minted upwards, so the running max is where a restarted IdMinter resumes.
void ShardState::NoteMinted(uint64_t id) {
  if (id == kNoId || OwnerShard(id, shard_count_) != shard_) return;
  max_minted_ = std::max(max_minted_, id / shard_count_);
}

// REQUIRES: channel.id is new and its workspace is held by this shard.
void ShardState::AddChannel(ChannelState channel) {
  auto ws = workspaces_.find(channel.workspace_id);
  assert(ws != workspaces_.end());
  assert(channels_.count(channel.id) == 0);
  if (ws != workspaces_.end()) {
    ws->second.channels.push_back(channel.id);
    // Conversations have no name (clients name them from their members).
    if (channel.kind == ChannelKind::kChannel) {
      ws->second.channel_by_name.emplace(channel.name, channel.id);
    }
  }
  NoteMinted(channel.id);
  channel.version = version_;
  for (UserId member : channel.members) channels_by_user_[member].insert(channel.id);
  ChannelId id = channel.id;
  channels_.emplace(id, std::move(channel));
}

// What was posted before someone joined is not unread for them: their read marker starts at the
// channel's newest message (and a rejoin never moves it backwards).
void ShardState::AddChannelMember(ChannelState& channel, UserId user) {
  channel.members.insert(user);
  channels_by_user_[user].insert(channel.id);
  channel.version = version_;
  if (auto gone = departed_.find(user); gone != departed_.end()) {
    gone->second.erase(channel.id);
    if (gone->second.empty()) departed_.erase(gone);
  }
  if (channel.last_seq() > 0) {
    Seq& marker = channel.last_read[user];
    marker = std::max(marker, channel.last_seq());
  }
}

void ShardState::RemoveChannelMember(ChannelState& channel, UserId user) {
  channel.members.erase(user);
  channel.version = version_;
  departed_[user][channel.id] = version_;
  auto it = channels_by_user_.find(user);
  if (it == channels_by_user_.end()) return;
  it->second.erase(channel.id);
  // Drop empty sets so that the index, and hence operator==, depends only on memberships.
  if (it->second.empty()) channels_by_user_.erase(it);
}

void ShardState::ApplyEvent(UserRegistered&& e) {
  user_by_email_.emplace(e.email, e.user_id);
  UserState user;
  user.id = e.user_id;
  user.email = std::move(e.email);
  user.display_name = std::move(e.display_name);
  user.password_salt = std::move(e.password_salt);
  user.password_hash = std::move(e.password_hash);
  user.created_at = e.at;
  users_.emplace(user.id, std::move(user));
  NoteMinted(e.user_id);
}

void ShardState::ApplyEvent(const WorkspaceCreated& e) {
  WorkspaceState ws;
  ws.id = e.workspace_id;
  ws.name = e.name;
  ws.owner_id = e.owner_id;
  ws.created_at = e.at;
  ws.general_id = e.general_id;
  ws.random_id = e.random_id;
  ws.members.emplace(e.owner_id, MemberState{WorkspaceRole::kOwner, true});
  workspaces_.emplace(e.workspace_id, std::move(ws));
  workspaces_by_user_[e.owner_id].insert(e.workspace_id);
  NoteMinted(e.workspace_id);
  // #general first: WorkspaceState::channels lists channels in creation order.
  AddChannel(NewChannel(e.general_id, e.workspace_id, kGeneralChannel, false, e.owner_id, e.at,
                        message_memory_.resource));
  AddChannel(NewChannel(e.random_id, e.workspace_id, kRandomChannel, false, e.owner_id, e.at,
                        message_memory_.resource));
}

void ShardState::ApplyEvent(const WorkspaceJoined& e) {
  auto ws = workspaces_.find(e.workspace_id);
  assert(ws != workspaces_.end());
  if (ws == workspaces_.end()) return;
  AddWorkspaceMember(ws->second, e.user_id, WorkspaceRole::kMember);
  auto general = channels_.find(ws->second.general_id);
  assert(general != channels_.end());
  if (general != channels_.end()) AddChannelMember(general->second, e.user_id);
}

void ShardState::AddWorkspaceMember(WorkspaceState& ws, UserId user, WorkspaceRole role) {
  // emplace, not assignment: a join never demotes the owner.
  ws.members.emplace(user, MemberState{role, true});
  workspaces_by_user_[user].insert(ws.id);
}

void ShardState::Audit(AuditEntry entry) {
  audit_.push_back(std::move(entry));
  if (audit_.size() > kMaxAuditEntries) audit_.pop_front();
}

void ShardState::ApplyEvent(const ChannelCreated& e) {
  AddChannel(NewChannel(e.channel_id, e.workspace_id, e.name, e.is_private, e.creator_id, e.at,
                        message_memory_.resource));
}

void ShardState::ApplyEvent(const ChannelJoined& e) {
  auto it = channels_.find(e.channel_id);
  assert(it != channels_.end());
  if (it != channels_.end()) AddChannelMember(it->second, e.user_id);
}

void ShardState::ApplyEvent(const ChannelLeft& e) {
  auto it = channels_.find(e.channel_id);
  assert(it != channels_.end());
  if (it != channels_.end()) RemoveChannelMember(it->second, e.user_id);
}

void ShardState::ApplyEvent(MessagePosted&& e) {
  auto it = channels_.find(e.channel_id);
  assert(it != channels_.end());
  if (it == channels_.end()) return;
  ChannelState& channel = it->second;
  // Seqs are dense so that history reads index messages[seq - 1] directly.
  assert(e.seq == channel.last_seq() + 1);
  const StoredMessage& m =
      channel.messages.emplace_back(StoredMessage{.id = e.message_id,
                                                  .seq = e.seq,
                                                  .author_id = e.author_id,
                                                  .client_msg_id = Text(e.client_msg_id),
                                                  .text = Text(e.text),
                                                  .at = e.at});
  NoteMessage(channel, m);
  NoteMinted(e.message_id);
}

}  // namespace parley
