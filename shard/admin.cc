// Workspace administration on the workspace's shard: settings, members, invites, roles,
// ownership, deactivation, and the audit trail (gathered from every shard by the caller's).
#include <algorithm>

#include "auth/encoding.h"
#include "auth/opaque_token.h"
#include "shard/command_of.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

constexpr uint32_t kDefaultAuditLimit = 100;
constexpr uint32_t kMaxAuditLimit = 1000;

wire::InviteInfoT InviteInfoOf(WorkspaceId ws, const InviteState& invite) {
  wire::InviteInfoT info;
  info.id = invite.id;
  info.workspace_id = ws;
  info.email = invite.email;
  info.role = static_cast<wire::Role>(invite.role);
  info.channel_ids = invite.channel_ids;
  info.created_by = invite.created_by;
  info.created_at_ms = invite.created_at;
  info.expires_at_ms = invite.expires_at;
  return info;
}

}  // namespace

bool Shard::HandleAdmin(const RequestMeta& meta, const wire::Frame* f) {
  const UserId actor = meta.actor();
  switch (f->body_type()) {
    case wire::Body::UpdateWorkspaceSettings: {
      const wire::UpdateWorkspaceSettings* req = f->body_as_UpdateWorkspaceSettings();
      const wire::WorkspaceSettings* s = req->settings();
      if (s == nullptr) {
        AnswerError(meta, MakeError(ErrorCode::kInvalidArgument, "settings are required",
                                    "settings"));
        return true;
      }
      if (Status receipts = UpdateReceiptsSetting(meta, req); !receipts.ok()) {
        AnswerError(meta, receipts.error());
        return true;
      }
      if (Status retention = UpdateRetentionSetting(meta, req); !retention.ok()) {
        AnswerError(meta, retention.error());
        return true;
      }
      auto outcome = Execute(UpdateWorkspaceSettings{actor, req->workspace_id(), s->join_open(),
                                                     s->members_create_private(),
                                                     s->members_post_announcements()});
      AnswerWorkspace(meta, req->workspace_id(), outcome, false);
      return true;
    }
    case wire::Body::ListMembers: {
      auto ws = FindMemberWorkspace(state_, actor, f->body_as_ListMembers()->workspace_id());
      if (!ws.ok()) {
        AnswerError(meta, ws.error());
        return true;
      }
      wire::MemberListT list;
      for (const auto& [user, member] : (*ws)->members) {
        auto info = std::make_unique<wire::MemberInfoT>();
        info->user_id = user;
        info->role = static_cast<wire::Role>(member.role);
        info->active = member.active;
        list.members.push_back(std::move(info));
      }
      std::sort(list.members.begin(), list.members.end(),
                [](auto& a, auto& b) { return a->user_id < b->user_id; });
      Answer(meta, EncodeBody(meta.request_id, std::move(list)));
      return true;
    }
    case wire::Body::CreateInvite:
      OwnedCreateInvite(meta, f->body_as_CreateInvite());
      return true;
    case wire::Body::ListInvites: {
      WorkspaceId id = f->body_as_ListInvites()->workspace_id();
      if (Status s = CheckWorkspaceAdmin(state_, actor, id); !s.ok()) {
        AnswerError(meta, s.error());
        return true;
      }
      wire::InviteListT list;
      TimeMs now = Now();
      for (const auto& [invite_id, invite] : state_.FindWorkspace(id)->invites) {
        if (invite.expires_at <= now) continue;
        list.invites.push_back(std::make_unique<wire::InviteInfoT>(InviteInfoOf(id, invite)));
      }
      Answer(meta, EncodeBody(meta.request_id, std::move(list)));
      return true;
    }
    case wire::Body::RevokeInvite: {
      const wire::RevokeInvite* req = f->body_as_RevokeInvite();
      AnswerWorkspace(meta, req->workspace_id(),
                      Execute(CommandOf(actor, *req)), true);
      return true;
    }
    case wire::Body::AcceptInvite:
      OwnedAcceptInvite(meta, f->body_as_AcceptInvite());
      return true;
    case wire::Body::SetMemberRole: {
      const wire::SetMemberRole* req = f->body_as_SetMemberRole();
      AnswerWorkspace(meta, req->workspace_id(),
                      Execute(CommandOf(actor, *req)),
                      true);
      return true;
    }
    case wire::Body::TransferOwnership: {
      const wire::TransferOwnership* req = f->body_as_TransferOwnership();
      AnswerWorkspace(meta, req->workspace_id(),
                      Execute(CommandOf(actor, *req)),
                      true);
      return true;
    }
    case wire::Body::SetMemberActive:
      OwnedSetMemberActive(meta, f->body_as_SetMemberActive());
      return true;
    case wire::Body::ListAudit:
      OwnedListAudit(meta, f->body_as_ListAudit());
      return true;
    default:
      return false;
  }
}

void Shard::AnswerWorkspace(const RequestMeta& meta, WorkspaceId id,
                            const Result<std::optional<Event>>& outcome, bool ok_only) {
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  if (ok_only) return Answer(meta, EncodeOk(meta.request_id));
  Answer(meta, EncodeBody(meta.request_id, WorkspaceInfoOf(*state_.FindWorkspace(id),
                                                           meta.actor())));
}

void Shard::OwnedCreateInvite(const RequestMeta& meta, const wire::CreateInvite* req) {
  std::string secret = auth::Base64UrlEncode(auth::RandomBytes(32));
  std::vector<uint64_t> channels;
  if (req->channel_ids()) channels.assign(req->channel_ids()->begin(), req->channel_ids()->end());
  WorkspaceId ws = req->workspace_id();
  auto outcome = Execute(CreateInvite{meta.actor(), ws, Str(req->email()),
                                      static_cast<uint8_t>(req->role()), std::move(channels),
                                      auth::HashSecret(secret), req->expires_in_ms()});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  uint64_t invite_id = std::get<InviteCreated>(**outcome).invite_id;
  wire::InviteCreatedT reply;
  reply.token = "inv_" + std::to_string(ws) + "_" + std::to_string(invite_id) + "_" + secret;
  reply.invite = std::make_unique<wire::InviteInfoT>(
      InviteInfoOf(ws, state_.FindWorkspace(ws)->invites.at(invite_id)));
  Answer(meta, EncodeBody(meta.request_id, std::move(reply)));
}

// The invitee's session subscribes to the channels they join, like a JoinWorkspace.
void Shard::OwnedAcceptInvite(const RequestMeta& meta, const wire::AcceptInvite* req) {
  auto token = auth::ParseOpaqueToken("inv", Str(req->token()));
  if (!token) {
    return AnswerError(meta, MakeError(ErrorCode::kNotFound,
                                       "invalid, expired or already used invite", "token"));
  }
  std::vector<ChannelId> channels;
  bool guest = true;
  if (const WorkspaceState* ws = state_.FindWorkspace(token->a)) {
    if (auto it = ws->invites.find(token->b); it != ws->invites.end()) {
      channels = it->second.channel_ids;
      guest = it->second.role == WorkspaceRole::kGuest;
      if (!guest) channels.push_back(ws->general_id);
    }
  }
  auto outcome = Execute(AcceptInvite{meta.actor(), meta.caller.email, token->a, token->b,
                                      auth::HashSecret(token->secret)});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  wire::Bytes reply =
      EncodeBody(meta.request_id, WorkspaceInfoOf(*state_.FindWorkspace(token->a), meta.actor()));
  AfterDurable([this, meta, ws = token->a, guest, channels, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor(), channels);
    // Members follow the workspace's topic (channels created and changed); guests do not.
    if (!guest) BroadcastMembership(MembershipChanged{ws, meta.actor(), true});
    Respond(meta, std::move(reply), SubscribeEffect{channels});
  });
}

// Deactivation ends every session of the user at once, through the user's shard.
void Shard::OwnedSetMemberActive(const RequestMeta& meta, const wire::SetMemberActive* req) {
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  Answer(meta, EncodeOk(meta.request_id));
  if (!*outcome || req->active()) return;
  AfterDurable([this, ws = req->workspace_id(),
                request = EndUserSessions{req->user_id(), meta.actor()}] {
    BroadcastMembership(MembershipChanged{ws, request.user_id, false});  // the workspace's topic
    ShardId owner = OwnerShard(request.user_id, config_.shard_count);
    if (owner == id_) return OnEndUserSessions(request);
    Send(owner, request);
  });
}

void Shard::OwnedListAudit(const RequestMeta& meta, const wire::ListAudit* req) {
  WorkspaceId id = req->workspace_id();
  if (Status s = CheckWorkspaceAdmin(state_, meta.actor(), id); !s.ok()) {
    return AnswerError(meta, s.error());
  }
  auto members = std::make_shared<std::unordered_set<UserId>>();
  for (const auto& [user, member] : state_.FindWorkspace(id)->members) members->insert(user);
  uint32_t limit = req->limit() == 0 ? kDefaultAuditLimit : std::min<uint32_t>(req->limit(),
                                                                                 kMaxAuditLimit);
  Answer(meta, {}, AuditEffect{id, std::move(members), limit});
}

}  // namespace parley::shard
