// The owner's side of a request: decide, apply and log; compute the answer at once; send it, and
// fan the event out, once everything it observed is durable.
#include <algorithm>
#include <cassert>

#include "persist/codec.h"
#include "shard/credentials.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

wire::SharedBytes Share(wire::Bytes bytes) {
  return std::make_shared<const wire::Bytes>(std::move(bytes));
}

}  // namespace

void Shard::HandleOwned(const RequestMeta& meta, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::Register:
      return OwnedRegister(meta, f->body_as_Register());
    case wire::Body::Login:
      return OwnedLogin(meta, f->body_as_Login());
    case wire::Body::CreateWorkspace:
      return OwnedCreateWorkspace(meta, f->body_as_CreateWorkspace());
    case wire::Body::JoinWorkspace:
      return OwnedJoinWorkspace(meta, f->body_as_JoinWorkspace());
    case wire::Body::CreateChannel:
      return OwnedCreateChannel(meta, f->body_as_CreateChannel());
    case wire::Body::ListChannels:
      return OwnedListChannels(meta, f->body_as_ListChannels());
    case wire::Body::JoinChannel:
      return OwnedJoinChannel(meta, f->body_as_JoinChannel());
    case wire::Body::LeaveChannel:
      return OwnedLeaveChannel(meta, f->body_as_LeaveChannel());
    case wire::Body::PostMessage:
      return OwnedPost(meta, f->body_as_PostMessage());
    case wire::Body::Subscribe:
      return OwnedSubscribe(meta, f->body_as_Subscribe());
    case wire::Body::History: {
      const wire::History* h = f->body_as_History();
      HistoryQuery q{h->channel_id(), h->before_seq(), h->after_seq(), h->after_seq() > 0,
                     h->limit()};
      return OwnedHistory(meta, h->channel_id(), q, false);
    }
    case wire::Body::Sync: {
      const wire::Sync* sync = f->body_as_Sync();
      HistoryQuery q{sync->channel_id(), 0, sync->after_seq(), true, sync->limit()};
      return OwnedHistory(meta, sync->channel_id(), q, true);
    }
    default:
      return AnswerError(meta, MakeError(ErrorCode::kBadRequest, "not a request"));
  }
}

Result<std::optional<Event>> Shard::Execute(const Command& command) {
  assert(InShardThread());
  Context ctx{Now(), &ids_};
  Result<std::optional<Event>> decided = Decide(state_, command, ctx);
  if (decided.ok() && *decided) {
    state_.Apply(**decided);
    committer_->Append(persist::EncodeEvent(**decided));
    counters_.events_committed++;
  }
  return decided;
}

bool Shard::Settled() const {
  return durable_waiters_.empty() && committer_->durable_lsn() >= committer_->last_appended();
}

// Runs fn once every event appended so far is durable, in order with the other waiters.
void Shard::AfterDurable(std::function<void()> fn) {
  if (Settled()) return fn();
  durable_waiters_.emplace_back(committer_->last_appended(), std::move(fn));
}

// An answer computed now reflects every event applied so far, durable or not (a registration,
// a join, a message); it leaves once they all are, so no client acts on what a crash undoes.
// Computed on arrival, it stays in order with the requests around it, and every delivery it
// does not cover is sent after it.
void Shard::Answer(const RequestMeta& meta, wire::Bytes frame, ReplyEffect effect) {
  AfterDurable([this, meta, frame = std::move(frame), effect = std::move(effect)]() mutable {
    Respond(meta, std::move(frame), std::move(effect));
  });
}

void Shard::AnswerError(const RequestMeta& meta, const Error& error) {
  counters_.errors_sent++;
  Answer(meta, wire::EncodeError(meta.request_id, error));
}

void Shard::OwnedRegister(const RequestMeta& meta, const wire::Register* req) {
  RegisterUser cmd{
      Str(req->email()), Str(req->display_name()), Str(req->password()), RandomSalt(), {}};
  cmd.password_hash = HashPassword(cmd.password, cmd.password_salt);
  auto outcome = Execute(cmd);
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  wire::RegisterOkT ok;
  ok.user_id = std::get<UserRegistered>(**outcome).user_id;
  Answer(meta, EncodeBody(meta.request_id, std::move(ok)));
}

void Shard::OwnedLogin(const RequestMeta& meta, const wire::Login* req) {
  const UserState* user = nullptr;
  if (meta.actor != 0) {  // a token the session's shard verified
    user = state_.FindUser(meta.actor);
  } else {
    Result<std::string> email = NormaliseEmail(Str(req->email()));
    const UserState* found = email.ok() ? state_.FindUserByEmail(*email) : nullptr;
    // Hash even for an unknown email, so timing does not reveal which emails exist.
    std::string salt = found ? found->password_salt : std::string(kSaltBytes, '\0');
    std::string hash = found ? found->password_hash : std::string(32, '\0');
    if (PasswordMatches(Str(req->password()), salt, hash) && found) user = found;
  }
  if (!user) {
    return AnswerError(
        meta, MakeError(ErrorCode::kInvalidCredentials,
                        meta.actor ? "invalid or expired token" : "invalid email or password"));
  }
  Answer(meta, {}, LoginEffect{user->id, user->display_name});
}

void Shard::OwnedCreateWorkspace(const RequestMeta& meta, const wire::CreateWorkspace* req) {
  auto outcome = Execute(CreateWorkspace{meta.actor, Str(req->name())});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const auto& created = std::get<WorkspaceCreated>(**outcome);
  std::vector<ChannelId> channels = {created.general_id, created.random_id};
  wire::Bytes reply =
      EncodeBody(meta.request_id, WorkspaceInfoOf(*state_.FindWorkspace(created.workspace_id)));
  AfterDurable([this, meta, channels, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor, channels);
    Respond(meta, std::move(reply), SubscribeEffect{channels});
  });
}

void Shard::OwnedJoinWorkspace(const RequestMeta& meta, const wire::JoinWorkspace* req) {
  auto outcome = Execute(JoinWorkspace{meta.actor, req->workspace_id()});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const WorkspaceState* ws = state_.FindWorkspace(req->workspace_id());
  wire::Bytes reply = EncodeBody(meta.request_id, WorkspaceInfoOf(*ws));
  if (!*outcome) return Answer(meta, std::move(reply));  // already a member
  ChannelId general = ws->general_id;
  AfterDurable([this, meta, general, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor, {general});
    Respond(meta, std::move(reply), SubscribeEffect{{general}});
  });
}

void Shard::OwnedCreateChannel(const RequestMeta& meta, const wire::CreateChannel* req) {
  auto outcome = Execute(
      CreateChannel{meta.actor, req->workspace_id(), Str(req->name()), req->is_private()});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  ChannelId id = std::get<ChannelCreated>(**outcome).channel_id;
  wire::Bytes reply =
      EncodeBody(meta.request_id, ChannelInfoOf(*state_.FindChannel(id), meta.actor));
  AfterDurable([this, meta, id, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor, {id});
    Respond(meta, std::move(reply), SubscribeEffect{{id}});
  });
}

void Shard::OwnedListChannels(const RequestMeta& meta, const wire::ListChannels* req) {
  const WorkspaceState* ws = state_.FindWorkspace(req->workspace_id());
  if (!ws) {
    return AnswerError(meta,
                       MakeError(ErrorCode::kNotFound, "workspace not found", "workspace_id"));
  }
  if (!ws->IsMember(meta.actor)) {
    return AnswerError(
        meta, MakeError(ErrorCode::kForbidden, "not a member of the workspace", "workspace_id"));
  }
  wire::ChannelListT list;
  for (ChannelId id : ws->channels) {
    const ChannelState* channel = state_.FindChannel(id);
    if (channel->is_private && !channel->IsMember(meta.actor)) continue;
    list.channels.push_back(
        std::make_unique<wire::ChannelInfoT>(ChannelInfoOf(*channel, meta.actor)));
  }
  Answer(meta, EncodeBody(meta.request_id, std::move(list)));
}

void Shard::OwnedJoinChannel(const RequestMeta& meta, const wire::JoinChannel* req) {
  ChannelId id = req->channel_id();
  auto outcome = Execute(JoinChannel{meta.actor, id});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  wire::Bytes reply =
      EncodeBody(meta.request_id, ChannelInfoOf(*state_.FindChannel(id), meta.actor));
  if (!*outcome) return Answer(meta, std::move(reply));  // already a member
  AfterDurable([this, meta, id, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor, {id});
    Respond(meta, std::move(reply), SubscribeEffect{{id}});
  });
}

void Shard::OwnedLeaveChannel(const RequestMeta& meta, const wire::LeaveChannel* req) {
  ChannelId id = req->channel_id();
  auto outcome = Execute(LeaveChannel{meta.actor, id});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  if (!*outcome) return Answer(meta, EncodeOk(meta.request_id));  // not a member
  AfterDurable([this, meta, id] {
    // The leaver's sessions see the MemberLeft, then stop receiving: both travel in order.
    FanOut(id, Share(EncodeMembership(id, meta.actor, false)));
    BroadcastMembership(MembershipChanged{id, meta.actor, false});
    Respond(meta, EncodeOk(meta.request_id));
  });
}

void Shard::AnnounceJoins(const RequestMeta& meta, UserId user,
                          const std::vector<ChannelId>& channels) {
  for (ChannelId id : channels) {
    OnInterest(Interest{id, meta.from.shard, +1});  // the reply's SubscribeEffect takes it
    FanOut(id, Share(EncodeMembership(id, user, true)));
    BroadcastMembership(MembershipChanged{id, user, true});
  }
}

void Shard::BroadcastMembership(const MembershipChanged& change) {
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    if (to == id_) {
      OnMembershipChanged(change);
    } else {
      Send(to, change);
    }
  }
}

void Shard::OwnedPost(const RequestMeta& meta, const wire::PostMessage* req) {
  ChannelId id = req->channel_id();
  std::string client_id = Str(req->client_msg_id());
  const ChannelState* channel = state_.FindChannel(id);
  if (channel && !client_id.empty() && channel->IsMember(meta.actor)) {
    if (std::optional<Seq> seq = FindPosted(*channel, meta.actor, client_id)) {
      // A retry: the original's ack, once it is durable; nothing new is logged.
      return Answer(meta, EncodePostAck(meta.request_id, id, channel->messages[*seq - 1], true));
    }
  }
  auto outcome = Execute(PostMessage{meta.actor, id, std::move(client_id), Str(req->text())});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const StoredMessage& m = state_.FindChannel(id)->messages.back();
  wire::Bytes ack = EncodePostAck(meta.request_id, id, m, false);
  AfterDurable([this, meta, id, ack = std::move(ack), event = Share(EncodeMessagePosted(id, m))]()
                   mutable {
    Respond(meta, std::move(ack));
    FanOut(id, std::move(event));
  });
}

void Shard::OwnedHistory(const RequestMeta& meta, ChannelId id, const HistoryQuery& query,
                         bool subscribe) {
  Result<HistoryPage> page = ReadHistory(state_, meta.actor, query);
  if (!page.ok()) return AnswerError(meta, page.error());
  ReplyEffect effect;
  if (subscribe && !meta.already_subscribed) {
    OnInterest(Interest{id, meta.from.shard, +1});
    effect = SubscribeEffect{{id}};
  }
  Answer(meta,
         EncodeMessagePage(meta.request_id, id, page->messages, page->has_more, page->last_seq),
         std::move(effect));
}

void Shard::OwnedSubscribe(const RequestMeta& meta, const wire::Subscribe* req) {
  ChannelId id = req->channel_id();
  Status can = CheckCanRead(state_, meta.actor, id);
  if (!can.ok()) return AnswerError(meta, can.error());
  ReplyEffect effect;
  if (!meta.already_subscribed) {
    OnInterest(Interest{id, meta.from.shard, +1});
    effect = SubscribeEffect{{id}};
  }
  wire::SubscribedT reply;
  reply.channel_id = id;
  reply.last_seq = state_.FindChannel(id)->last_seq();
  Answer(meta, EncodeBody(meta.request_id, std::move(reply)), std::move(effect));
}

// Encoded once; one mailbox message per shard with subscribers, however many they have.
void Shard::FanOut(ChannelId channel, wire::SharedBytes frame) {
  auto it = interest_.find(channel);
  if (it == interest_.end()) return;
  for (ShardId to = 0; to < it->second.size(); ++to) {
    if (it->second[to] == 0) continue;
    if (to == id_) {
      OnDeliver(Deliver{channel, frame});
    } else {
      Send(to, Deliver{channel, frame});
    }
  }
}

}  // namespace parley::shard
