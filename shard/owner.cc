// The owner's side of a request: decide, apply, log, and once durable acknowledge and fan out.
#include <algorithm>
#include <cassert>

#include "persist/codec.h"
#include "shard/credentials.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

}  // namespace

namespace {

// Requests that only read. They run once everything applied before them is durable, and read
// what is visible then: no reply shows what a crash could undo, and every delivery the reply
// does not cover follows it through the same mailbox.
bool IsRead(wire::Body type) {
  return type == wire::Body::Login || type == wire::Body::ListChannels ||
         type == wire::Body::History || type == wire::Body::Sync || type == wire::Body::Subscribe;
}

}  // namespace

void Shard::HandleOwned(const RequestMeta& meta, const wire::Frame* f,
                        std::span<const uint8_t> payload) {
  if (IsRead(f->body_type()) && !Settled()) {
    auto copy = std::make_shared<std::vector<uint8_t>>(payload.begin(), payload.end());
    return AfterDurable([this, meta, copy] {
      const wire::Frame* frame = flatbuffers::GetRoot<wire::Frame>(copy->data());
      HandleOwned(meta, frame, *copy);
    });
  }
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
      return RespondError(meta, MakeError(ErrorCode::kBadRequest, "not a request"));
  }
}

void Shard::Execute(const RequestMeta& meta, const Command& command,
                    std::function<void(const std::optional<Event>&)> on_durable) {
  assert(InShardThread());
  Context ctx{Now(), &ids_};
  Result<std::optional<Event>> decided = Decide(state_, command, ctx);
  if (!decided.ok()) return AnswerError(meta, decided.error());
  std::optional<Event>& event = *decided;
  if (!event) {
    // A no-op still answers only after what it observed is durable.
    return AfterDurable([on_durable = std::move(on_durable)] { on_durable(std::nullopt); });
  }
  if (auto* posted = std::get_if<MessagePosted>(&*event)) {
    visible_.try_emplace(posted->channel_id, posted->seq - 1);
  }
  state_.Apply(*event);
  Lsn lsn = committer_->Append(persist::EncodeEvent(*event));
  counters_.events_committed++;
  durable_waiters_.emplace_back(
      lsn, [event = std::move(*event), on_durable = std::move(on_durable)] { on_durable(event); });
}

bool Shard::Settled() const {
  return durable_waiters_.empty() && committer_->durable_lsn() >= committer_->last_appended();
}

// Runs fn once every event appended so far is durable, in order with the other waiters.
void Shard::AfterDurable(std::function<void()> fn) {
  if (Settled()) return fn();
  durable_waiters_.emplace_back(committer_->last_appended(), std::move(fn));
}

// A rejection reflects state that may include events not yet durable ("email already
// registered"); it leaves only once they are, so no client acts on what a crash undoes.
void Shard::AnswerError(const RequestMeta& meta, const Error& error) {
  counters_.errors_sent++;
  AfterDurable([this, meta, frame = wire::EncodeError(meta.request_id, error)]() mutable {
    Respond(meta, std::move(frame));
  });
}

void Shard::OwnedRegister(const RequestMeta& meta, const wire::Register* req) {
  RegisterUser cmd{
      Str(req->email()), Str(req->display_name()), Str(req->password()), RandomSalt(), {}};
  cmd.password_hash = HashPassword(cmd.password, cmd.password_salt);
  Execute(meta, cmd, [this, meta](const std::optional<Event>& e) {
    wire::RegisterOkT ok;
    ok.user_id = std::get<UserRegistered>(*e).user_id;
    Respond(meta, EncodeBody(meta.request_id, std::move(ok)));
  });
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
    return RespondError(
        meta, MakeError(ErrorCode::kInvalidCredentials,
                        meta.actor ? "invalid or expired token" : "invalid email or password"));
  }
  Respond(meta, {}, LoginEffect{user->id, user->display_name});
}

void Shard::OwnedCreateWorkspace(const RequestMeta& meta, const wire::CreateWorkspace* req) {
  Execute(meta, CreateWorkspace{meta.actor, Str(req->name())},
          [this, meta](const std::optional<Event>& e) {
            const auto& created = std::get<WorkspaceCreated>(*e);
            AnnounceJoins(meta, created.owner_id, {created.general_id, created.random_id});
            Respond(meta,
                    EncodeBody(meta.request_id,
                               WorkspaceInfoOf(*state_.FindWorkspace(created.workspace_id))),
                    SubscribeEffect{{created.general_id, created.random_id}});
          });
}

void Shard::OwnedJoinWorkspace(const RequestMeta& meta, const wire::JoinWorkspace* req) {
  WorkspaceId id = req->workspace_id();
  Execute(meta, JoinWorkspace{meta.actor, id}, [this, meta, id](const std::optional<Event>& e) {
    const WorkspaceState* ws = state_.FindWorkspace(id);
    ReplyEffect effect;
    if (e) {
      AnnounceJoins(meta, meta.actor, {ws->general_id});
      effect = SubscribeEffect{{ws->general_id}};
    }
    Respond(meta, EncodeBody(meta.request_id, WorkspaceInfoOf(*ws)), std::move(effect));
  });
}

void Shard::OwnedCreateChannel(const RequestMeta& meta, const wire::CreateChannel* req) {
  CreateChannel cmd{meta.actor, req->workspace_id(), Str(req->name()), req->is_private()};
  Execute(meta, cmd, [this, meta](const std::optional<Event>& e) {
    const auto& created = std::get<ChannelCreated>(*e);
    const ChannelState* channel = state_.FindChannel(created.channel_id);
    AnnounceJoins(meta, meta.actor, {created.channel_id});
    Respond(meta, EncodeBody(meta.request_id, ChannelInfoOf(*channel, 0, meta.actor)),
            SubscribeEffect{{created.channel_id}});
  });
}

void Shard::OwnedListChannels(const RequestMeta& meta, const wire::ListChannels* req) {
  const WorkspaceState* ws = state_.FindWorkspace(req->workspace_id());
  if (!ws) {
    return RespondError(meta,
                        MakeError(ErrorCode::kNotFound, "workspace not found", "workspace_id"));
  }
  if (!ws->IsMember(meta.actor)) {
    return RespondError(
        meta, MakeError(ErrorCode::kForbidden, "not a member of the workspace", "workspace_id"));
  }
  wire::ChannelListT list;
  for (ChannelId id : ws->channels) {
    const ChannelState* channel = state_.FindChannel(id);
    if (channel->is_private && !channel->IsMember(meta.actor)) continue;
    list.channels.push_back(std::make_unique<wire::ChannelInfoT>(
        ChannelInfoOf(*channel, VisibleSeq(*channel), meta.actor)));
  }
  Respond(meta, EncodeBody(meta.request_id, std::move(list)));
}

void Shard::OwnedJoinChannel(const RequestMeta& meta, const wire::JoinChannel* req) {
  ChannelId id = req->channel_id();
  Execute(meta, JoinChannel{meta.actor, id}, [this, meta, id](const std::optional<Event>& e) {
    const ChannelState* channel = state_.FindChannel(id);
    ReplyEffect effect;
    if (e) {
      AnnounceJoins(meta, meta.actor, {id});
      effect = SubscribeEffect{{id}};
    }
    Respond(meta,
            EncodeBody(meta.request_id, ChannelInfoOf(*channel, VisibleSeq(*channel), meta.actor)),
            std::move(effect));
  });
}

void Shard::OwnedLeaveChannel(const RequestMeta& meta, const wire::LeaveChannel* req) {
  ChannelId id = req->channel_id();
  Execute(meta, LeaveChannel{meta.actor, id}, [this, meta, id](const std::optional<Event>& e) {
    if (e) {
      // The leaver's sessions see the MemberLeft, then stop receiving: both travel in order.
      FanOut(id, std::make_shared<const wire::Bytes>(EncodeMembership(id, meta.actor, false)));
      BroadcastMembership(MembershipChanged{id, meta.actor, false});
    }
    Respond(meta, EncodeOk(meta.request_id));
  });
}

void Shard::AnnounceJoins(const RequestMeta& meta, UserId user,
                          const std::vector<ChannelId>& channels) {
  for (ChannelId id : channels) {
    OnInterest(Interest{id, meta.from.shard, +1});  // the reply's SubscribeEffect takes it
    FanOut(id, std::make_shared<const wire::Bytes>(EncodeMembership(id, user, true)));
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
      // A retry: answer with the original once it is durable; nothing new is logged.
      return AfterDurable([this, meta, id, seq = *seq] {
        const StoredMessage& m = state_.FindChannel(id)->messages[seq - 1];
        Respond(meta, EncodePostAck(meta.request_id, id, m, true));
      });
    }
  }
  Execute(meta, PostMessage{meta.actor, id, std::move(client_id), Str(req->text())},
          [this, meta, id](const std::optional<Event>& e) {
            Seq seq = std::get<MessagePosted>(*e).seq;
            const ChannelState* ch = state_.FindChannel(id);
            const StoredMessage& m = ch->messages[seq - 1];
            if (seq >= ch->last_seq()) {
              visible_.erase(id);
            } else {
              visible_[id] = seq;
            }
            Respond(meta, EncodePostAck(meta.request_id, id, m, false));
            FanOut(id, std::make_shared<const wire::Bytes>(EncodeMessagePosted(id, m)));
          });
}

void Shard::OwnedHistory(const RequestMeta& meta, ChannelId id, const HistoryQuery& query,
                         bool subscribe) {
  const ChannelState* channel = state_.FindChannel(id);
  Seq visible = channel ? VisibleSeq(*channel) : 0;
  Result<HistoryPage> page = ReadHistory(state_, meta.actor, query, visible);
  if (!page.ok()) return RespondError(meta, page.error());
  ReplyEffect effect;
  if (subscribe && !meta.already_subscribed) {
    OnInterest(Interest{id, meta.from.shard, +1});
    effect = SubscribeEffect{{id}};
  }
  Respond(meta,
          EncodeMessagePage(meta.request_id, id, page->messages, page->has_more, page->last_seq),
          std::move(effect));
}

void Shard::OwnedSubscribe(const RequestMeta& meta, const wire::Subscribe* req) {
  ChannelId id = req->channel_id();
  Status can = CheckCanRead(state_, meta.actor, id);
  if (!can.ok()) return RespondError(meta, can.error());
  ReplyEffect effect;
  if (!meta.already_subscribed) {
    OnInterest(Interest{id, meta.from.shard, +1});
    effect = SubscribeEffect{{id}};
  }
  wire::SubscribedT reply;
  reply.channel_id = id;
  reply.last_seq = VisibleSeq(*state_.FindChannel(id));
  Respond(meta, EncodeBody(meta.request_id, std::move(reply)), std::move(effect));
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

Seq Shard::VisibleSeq(const ChannelState& channel) const {
  auto it = visible_.find(channel.id);
  return it == visible_.end() ? channel.last_seq() : it->second;
}

}  // namespace parley::shard
