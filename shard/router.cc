// The session's side of a request: handshake, authentication, routing to the owner, replies and
// their effects, scatter-gather over shards, and delivery to local subscribers.
#include <algorithm>

#include "shard/credentials.h"
#include "shard/encode.h"
#include "shard/log.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

// The id a request names, which decides its owner shard; nullopt for session-level requests.
std::optional<uint64_t> RoutingId(const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::JoinWorkspace:
      return f->body_as_JoinWorkspace()->workspace_id();
    case wire::Body::CreateChannel:
      return f->body_as_CreateChannel()->workspace_id();
    case wire::Body::ListChannels:
      return f->body_as_ListChannels()->workspace_id();
    case wire::Body::JoinChannel:
      return f->body_as_JoinChannel()->channel_id();
    case wire::Body::LeaveChannel:
      return f->body_as_LeaveChannel()->channel_id();
    case wire::Body::PostMessage:
      return f->body_as_PostMessage()->channel_id();
    case wire::Body::History:
      return f->body_as_History()->channel_id();
    case wire::Body::Sync:
      return f->body_as_Sync()->channel_id();
    case wire::Body::Subscribe:
      return f->body_as_Subscribe()->channel_id();
    default:
      return std::nullopt;
  }
}

// Bodies a client may send; the rest (responses, events) are the server's to send.
bool IsRequest(wire::Body type) {
  switch (type) {
    case wire::Body::Hello:
    case wire::Body::Ping:
    case wire::Body::Register:
    case wire::Body::Login:
    case wire::Body::CreateWorkspace:
    case wire::Body::JoinWorkspace:
    case wire::Body::ListWorkspaces:
    case wire::Body::CreateChannel:
    case wire::Body::ListChannels:
    case wire::Body::JoinChannel:
    case wire::Body::LeaveChannel:
    case wire::Body::PostMessage:
    case wire::Body::History:
    case wire::Body::Sync:
    case wire::Body::Subscribe:
    case wire::Body::Unsubscribe:
      return true;
    default:
      return false;
  }
}

std::string_view Str(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

ShardId EmailOwner(const flatbuffers::String* email, ShardId fallback, uint32_t shards) {
  Result<std::string> normalised = NormaliseEmail(Str(email));
  return normalised.ok() ? ShardOfEmail(*normalised, shards) : fallback;
}

}  // namespace

void Shard::HandleFrame(Session& s, uint32_t slot, std::span<const uint8_t> payload) {
  Result<const wire::Frame*> verified = wire::VerifyFrame(payload);
  if (!verified.ok()) {
    counters_.errors_sent++;
    Enqueue(s, slot, wire::EncodeError(0, verified.error()));
    return;
  }
  const wire::Frame* f = *verified;
  RequestMeta meta{RefOf(slot), f->request_id(), s.user};
  if (stopping_) {
    return RespondError(meta, MakeError(ErrorCode::kUnavailable, "server is shutting down"));
  }
  if (f->body_type() == wire::Body::Hello) {
    return HandleHello(s, slot, meta.request_id, f->body_as_Hello());
  }
  if (!s.hello_done) {
    return RespondError(meta,
                        MakeError(ErrorCode::kHelloRequired, "the first frame must be Hello"));
  }
  HandleSessionRequest(s, slot, meta, f, payload);
}

void Shard::HandleHello(Session& s, uint32_t slot, uint64_t request_id, const wire::Hello* hello) {
  if (s.hello_done) {
    counters_.errors_sent++;
    return Enqueue(
        s, slot,
        wire::EncodeError(request_id, MakeError(ErrorCode::kBadRequest, "Hello was already sent")));
  }
  uint16_t lo = std::max(hello->min_version(), wire::kMinProtocolVersion);
  uint16_t hi = std::min(hello->max_version(), wire::kMaxProtocolVersion);
  if (lo > hi) {
    return FailSession(s, slot,
                       MakeError(ErrorCode::kUnsupportedVersion, "no protocol version in common",
                                 "server supports " + std::to_string(wire::kMinProtocolVersion) +
                                     ".." + std::to_string(wire::kMaxProtocolVersion) +
                                     ", client " + std::to_string(hello->min_version()) + ".." +
                                     std::to_string(hello->max_version())));
  }
  s.hello_done = true;
  wire::WelcomeT welcome;
  welcome.version = hi;
  welcome.server = config_.server_name;
  welcome.shard = static_cast<uint16_t>(id_);
  welcome.max_frame_bytes = config_.max_frame_bytes;
  Enqueue(s, slot, EncodeBody(request_id, std::move(welcome)));
}

void Shard::HandleSessionRequest(Session& s, uint32_t slot, RequestMeta meta, const wire::Frame* f,
                                 std::span<const uint8_t> payload) {
  const uint32_t n = config_.shard_count;
  if (!IsRequest(f->body_type())) {
    return RespondError(meta, MakeError(ErrorCode::kBadRequest, "not a request",
                                        wire::EnumNameBody(f->body_type())));
  }
  switch (f->body_type()) {
    case wire::Body::Ping: {
      wire::PongT pong;
      pong.nonce = f->body_as_Ping()->nonce();
      return Enqueue(s, slot, EncodeBody(meta.request_id, std::move(pong)));
    }
    case wire::Body::Register:
      return Route(meta, f, payload, EmailOwner(f->body_as_Register()->email(), id_, n));
    case wire::Body::Login: {
      if (s.user != 0) {
        return RespondError(meta, MakeError(ErrorCode::kBadRequest, "already signed in"));
      }
      const wire::Login* login = f->body_as_Login();
      if (Str(login->token()).empty()) {
        return Route(meta, f, payload, EmailOwner(login->email(), id_, n));
      }
      std::optional<UserId> user = VerifyToken(config_.secret_key, Str(login->token()), Now());
      if (!user) {
        return RespondError(meta,
                            MakeError(ErrorCode::kInvalidCredentials, "invalid or expired token"));
      }
      meta.actor = *user;  // the owner checks the account still exists
      return Route(meta, f, payload, OwnerShard(*user, n));
    }
    default:
      break;
  }
  if (s.user == 0) {
    return RespondError(meta, MakeError(ErrorCode::kUnauthenticated, "sign in first"));
  }
  switch (f->body_type()) {
    case wire::Body::CreateWorkspace:
      return Route(meta, f, payload, id_);  // minted here: no hop
    case wire::Body::ListWorkspaces:
      return StartUserQuery(meta.from, meta.request_id, s.user, UserQueryKind::kWorkspaces);
    case wire::Body::Unsubscribe: {
      ChannelId channel = f->body_as_Unsubscribe()->channel_id();
      if (s.subscriptions.count(channel)) {
        UnsubscribeLocal(s, slot, channel);
        AddInterest(channel, id_, -1);
      }
      return Enqueue(s, slot, EncodeOk(meta.request_id));
    }
    default:
      break;
  }
  std::optional<uint64_t> routing_id = RoutingId(f);
  if (!routing_id) {  // IsRequest() and RoutingId() disagree: a request kind left unrouted
    return RespondError(meta, MakeError(ErrorCode::kInternal, "request kind not routed",
                                        wire::EnumNameBody(f->body_type())));
  }
  if (f->body_type() == wire::Body::Sync || f->body_type() == wire::Body::Subscribe) {
    meta.already_subscribed = s.subscriptions.count(*routing_id) != 0;
  }
  Route(meta, f, payload, OwnerShard(*routing_id, n));
}

void Shard::Route(const RequestMeta& meta, const wire::Frame* f, std::span<const uint8_t> payload,
                  ShardId owner) {
  if (owner == id_) return HandleOwned(meta, f);
  ForwardedRequest req;
  req.from = meta.from;
  req.request_id = meta.request_id;
  req.actor = meta.actor;
  req.already_subscribed = meta.already_subscribed;
  req.payload.assign(payload.begin(), payload.end());
  Send(owner, std::move(req));
}

void Shard::Respond(const RequestMeta& meta, wire::Bytes frame, ReplyEffect effect) {
  Reply reply{meta.from, meta.request_id, std::move(frame), std::move(effect)};
  if (meta.from.shard == id_) return OnReply(std::move(reply));
  Send(meta.from.shard, std::move(reply));
}

void Shard::RespondError(const RequestMeta& meta, const Error& error) {
  counters_.errors_sent++;
  Respond(meta, wire::EncodeError(meta.request_id, error));
}

void Shard::OnReply(Reply reply) {
  Session* s = Find(reply.to);
  uint32_t slot = reply.to.slot;
  if (auto* sub = std::get_if<SubscribeEffect>(&reply.effect)) {
    for (ChannelId channel : sub->channel_ids) {
      if (s && !s->subscriptions.count(channel)) {
        SubscribeLocal(*s, slot, channel);
      } else {
        AddInterest(channel, id_, -1);  // gone or already subscribed: undo the owner's count
      }
    }
  }
  if (auto* login = std::get_if<LoginEffect>(&reply.effect)) {
    if (!s) return;
    if (s->user != 0) {
      counters_.errors_sent++;
      return Enqueue(*s, slot,
                     wire::EncodeError(reply.request_id,
                                       MakeError(ErrorCode::kBadRequest, "already signed in")));
    }
    s->user = login->user_id;
    s->display_name = login->display_name;
    s->login_pending = true;
    user_sessions_[s->user].push_back(slot);
    return StartUserQuery(reply.to, reply.request_id, s->user, UserQueryKind::kSubscribeChannels);
  }
  if (s && !reply.frame.empty()) Enqueue(*s, slot, std::move(reply.frame));
}

void Shard::StartUserQuery(const SessionRef& ref, uint64_t request_id, UserId user,
                           UserQueryKind kind) {
  uint64_t qid = next_query_id_++;
  PendingQuery& q = queries_[qid];
  q.session = ref;
  q.request_id = request_id;
  q.kind = kind;
  q.parts_left = config_.shard_count;
  q.merged.query_id = qid;
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    UserQuery query{qid, id_, user, kind};
    if (to == id_) {
      OnUserQuery(query);
    } else {
      Send(to, query);
    }
  }
}

// Computed on arrival, sent once what it observed is durable (see Shard::Answer).
void Shard::OnUserQuery(const UserQuery& query) {
  UserQueryPart part;
  part.query_id = query.query_id;
  if (query.kind == UserQueryKind::kSubscribeChannels) {
    for (ChannelId id : state_.ChannelsOf(query.user_id)) {
      const ChannelState* channel = state_.FindChannel(id);
      OnInterest(Interest{id, query.from, +1});
      part.channels.push_back({id, channel->workspace_id, channel->last_seq()});
    }
  } else {
    for (WorkspaceId id : state_.WorkspacesOf(query.user_id)) {
      part.workspaces.push_back(WorkspaceInfoOf(*state_.FindWorkspace(id)));
    }
  }
  AfterDurable([this, from = query.from, part = std::move(part)]() mutable {
    if (from == id_) return OnUserQueryPart(std::move(part));
    Send(from, std::move(part));
  });
}

void Shard::OnUserQueryPart(UserQueryPart part) {
  auto it = queries_.find(part.query_id);
  if (it == queries_.end()) return;
  PendingQuery& q = it->second;
  Session* s = Find(q.session);
  // Take each owner's subscriptions as its part arrives: its later deliveries and membership
  // changes travel the same mailbox behind the part, so none is missed or misapplied.
  for (const ChannelCursor& c : part.channels) {
    if (s && !s->subscriptions.count(c.channel_id)) {
      SubscribeLocal(*s, q.session.slot, c.channel_id);
    } else {
      AddInterest(c.channel_id, id_, -1);  // gone, or already following: give the count back
    }
    q.merged.channels.push_back(c);
  }
  for (auto& w : part.workspaces) q.merged.workspaces.push_back(std::move(w));
  if (--q.parts_left > 0) return;
  PendingQuery done = std::move(q);
  queries_.erase(it);
  if (!s) return;
  uint32_t slot = done.session.slot;
  if (done.kind == UserQueryKind::kWorkspaces) return Enqueue(*s, slot, EncodeWorkspaceList(done));
  Enqueue(*s, slot, EncodeLoginOk(*s, done));
  s->login_pending = false;
  for (auto& frame : s->held) Enqueue(*s, slot, std::move(frame));
  s->held.clear();
  s->held_bytes = 0;
}
wire::Bytes Shard::EncodeWorkspaceList(PendingQuery& done) {
  auto& list = done.merged.workspaces;
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.id < b.id; });
  wire::WorkspaceListT reply;
  for (auto& w : list) reply.workspaces.push_back(std::make_unique<wire::WorkspaceInfoT>(w));
  return EncodeBody(done.request_id, std::move(reply));
}

wire::Bytes Shard::EncodeLoginOk(const Session& s, PendingQuery& done) {
  auto& cursors = done.merged.channels;
  std::sort(cursors.begin(), cursors.end(),
            [](auto& a, auto& b) { return a.channel_id < b.channel_id; });
  wire::LoginOkT ok;
  ok.user_id = s.user;
  ok.display_name = s.display_name;
  ok.token = SignToken(config_.secret_key, s.user, Now());
  for (const ChannelCursor& c : cursors) {
    auto cursor = std::make_unique<wire::ChannelCursorT>();
    cursor->channel_id = c.channel_id;
    cursor->workspace_id = c.workspace_id;
    cursor->last_seq = c.last_seq;
    ok.channels.push_back(std::move(cursor));
  }
  return EncodeBody(done.request_id, std::move(ok));
}

void Shard::SubscribeLocal(Session& s, uint32_t slot, ChannelId channel) {
  s.subscriptions.insert(channel);
  local_subs_[channel].push_back(slot);
}

void Shard::UnsubscribeLocal(Session& s, uint32_t slot, ChannelId channel) {
  s.subscriptions.erase(channel);
  auto it = local_subs_.find(channel);
  if (it == local_subs_.end()) return;
  auto& subs = it->second;
  subs.erase(std::remove(subs.begin(), subs.end(), slot), subs.end());
  if (subs.empty()) local_subs_.erase(it);
}

void Shard::AddInterest(ChannelId channel, ShardId shard, int32_t delta) {
  if (delta == 0) return;
  ShardId owner = OwnerShard(channel, config_.shard_count);
  if (owner == id_) return OnInterest(Interest{channel, shard, delta});
  Send(owner, Interest{channel, shard, delta});
}

void Shard::OnInterest(const Interest& interest) {
  auto& counts = interest_[interest.channel_id];
  if (counts.empty()) counts.assign(config_.shard_count, 0);
  int64_t next = int64_t{counts[interest.shard]} + interest.delta;
  if (next < 0) {  // an accounting bug, never input: say so rather than hide it
    LogJson("error", "subscription count below zero",
            {{"channel", std::to_string(interest.channel_id)},
             {"shard", std::to_string(interest.shard)}});
    next = 0;
  }
  counts[interest.shard] = static_cast<uint32_t>(next);
  if (std::all_of(counts.begin(), counts.end(), [](uint32_t c) { return c == 0; })) {
    interest_.erase(interest.channel_id);
  }
}

void Shard::OnDeliver(const Deliver& deliver) {
  auto it = local_subs_.find(deliver.channel_id);
  if (it == local_subs_.end()) return;
  // Neither path closes a session (a lagging one closes after its flush): the list is stable.
  for (uint32_t slot : it->second) {
    Session& s = sessions_[slot];
    if (s.login_pending) {
      Hold(s, slot, deliver.frame);
    } else {
      Enqueue(s, slot, deliver.frame);
    }
  }
  counters_.deliveries += it->second.size();
}

void Shard::Hold(Session& s, uint32_t slot, const wire::SharedBytes& frame) {
  if (s.held_bytes + frame->size() > config_.max_outbound_bytes) {
    counters_.sessions_lagged++;
    s.held.clear();
    s.held_bytes = 0;
    s.login_pending = false;
    return FailSession(s, slot, MakeError(ErrorCode::kLagged, "too many events during login"));
  }
  s.held_bytes += frame->size();
  s.held.push_back(frame);
}

void Shard::OnMembershipChanged(const MembershipChanged& change) {
  auto it = user_sessions_.find(change.user_id);
  if (it == user_sessions_.end()) return;
  int32_t delta = 0;
  for (uint32_t slot : it->second) {
    Session& s = sessions_[slot];
    bool subscribed = s.subscriptions.count(change.channel_id) != 0;
    if (change.joined && !subscribed) {
      SubscribeLocal(s, slot, change.channel_id);
      ++delta;
    } else if (!change.joined && subscribed) {
      UnsubscribeLocal(s, slot, change.channel_id);
      --delta;
    }
  }
  AddInterest(change.channel_id, id_, delta);
}

}  // namespace parley::shard
