// The owner's side of a request: decide, apply and log; compute the answer at once; send it, and
// fan the event out, once everything it observed is durable.
#include <algorithm>
#include <cassert>

#include "persist/codec.h"
#include "auth/password.h"
#include "shard/command_of.h"
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
  if (HandleIdentity(meta, f) || HandleAdmin(meta, f) || HandleMessageFeatures(meta, f) ||
      HandleConversations(meta, f) || HandlePresence(meta, f) || HandleNotify(meta, f) ||
      HandleSearch(meta, f)) {
    return;
  }
  switch (f->body_type()) {
    case wire::Body::Register:
      return OwnedRegister(meta, f->body_as_Register());
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
                     h->limit(), h->top_level_only()};
      return OwnedHistory(meta, h->channel_id(), q, false);
    }
    case wire::Body::Sync: {
      const wire::Sync* sync = f->body_as_Sync();
      HistoryQuery q{sync->channel_id(), 0, sync->after_seq(), true, sync->limit()};
      return OwnedHistory(meta, sync->channel_id(), q, true);
    }
    case wire::Body::AddChannelMember:
    case wire::Body::UpdateChannel:
    case wire::Body::EditMessage:
    case wire::Body::DeleteMessage:
      return OwnedChannelRequest(meta, f);
    default:
      return AnswerError(meta, MakeError(ErrorCode::kBadRequest, "not a request"));
  }
}

Result<std::optional<Event>> Shard::Execute(const Command& command) {
  assert(InShardThread());
  Context ctx{Now(), &ids_, config_.identity->edit_window_ms,
              config_.identity->retention_unit_ms};
  Result<std::optional<Event>> decided = Decide(state_, command, ctx);
  if (decided.ok() && *decided) {
    state_.Apply(**decided);
    pages_.Note(**decided);
    committer_->Append(persist::EncodeEvent(**decided));
    counters_.events_committed.Add();
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
  NoteError(error, meta.from, meta.request_id, meta.timing.kind, meta.caller.session_id);
  Answer(meta, wire::EncodeError(meta.request_id, error));
}

// The password is hashed on the worker pool; the email is checked first so that a taken or
// malformed one costs no hashing.
void Shard::OwnedRegister(const RequestMeta& meta, const wire::Register* req) {
  RegisterUser cmd{Str(req->email()), Str(req->display_name()), Str(req->password()), {}, {}};
  Result<std::string> email = NormaliseEmail(cmd.email);
  if (!email.ok()) return AnswerError(meta, email.error());
  if (Status s = CheckPasswordPolicy(cmd.password, *email); !s.ok()) {
    return AnswerError(meta, s.error());
  }
  if (state_.FindUserByEmail(*email) != nullptr) {
    return AnswerError(meta, MakeError(ErrorCode::kAlreadyExists,
                                       "this email is already registered", "email"));
  }
  auth::ScryptParams params = config_.identity->scrypt;
  std::string password = cmd.password;  // the continuation takes cmd: copy it out first
  OffLoop<std::string>(
      [password = std::move(password), params] { return auth::HashPassword(password, params); },
      [this, meta, cmd = std::move(cmd)](std::string hash) mutable {
        cmd.password_hash = std::move(hash);
        auto outcome = Execute(cmd);
        if (!outcome.ok()) return AnswerError(meta, outcome.error());
        wire::RegisterOkT ok;
        ok.user_id = std::get<UserRegistered>(**outcome).user_id;
        Answer(meta, EncodeBody(meta.request_id, std::move(ok)));
      });
}

void Shard::OwnedCreateWorkspace(const RequestMeta& meta, const wire::CreateWorkspace* req) {
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const auto& created = std::get<WorkspaceCreated>(**outcome);
  std::vector<ChannelId> channels = {created.general_id, created.random_id};
  WorkspaceId ws = created.workspace_id;
  wire::Bytes reply =
      EncodeBody(meta.request_id, WorkspaceInfoOf(*state_.FindWorkspace(ws), meta.actor()));
  AfterDurable([this, meta, ws, channels, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor(), channels);
    BroadcastMembership(MembershipChanged{ws, meta.actor(), true});  // the workspace's topic
    Respond(meta, std::move(reply), SubscribeEffect{channels});
  });
}

void Shard::OwnedJoinWorkspace(const RequestMeta& meta, const wire::JoinWorkspace* req) {
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const WorkspaceState* ws = state_.FindWorkspace(req->workspace_id());
  wire::Bytes reply = EncodeBody(meta.request_id, WorkspaceInfoOf(*ws, meta.actor()));
  if (!*outcome) return Answer(meta, std::move(reply));  // already a member
  ChannelId general = ws->general_id;
  AfterDurable([this, meta, ws = ws->id, general, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor(), {general});
    BroadcastMembership(MembershipChanged{ws, meta.actor(), true});  // the workspace's topic
    Respond(meta, std::move(reply), SubscribeEffect{{general}});
  });
}

void Shard::OwnedCreateChannel(const RequestMeta& meta, const wire::CreateChannel* req) {
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  ChannelId id = std::get<ChannelCreated>(**outcome).channel_id;
  wire::Bytes reply =
      EncodeBody(meta.request_id, ChannelInfoOf(*state_.FindChannel(id), meta.actor()));
  AfterDurable([this, meta, id, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor(), {id});
    AnnounceChannelCreated(*state_.FindChannel(id));
    Respond(meta, std::move(reply), SubscribeEffect{{id}});
  });
}

void Shard::OwnedListChannels(const RequestMeta& meta, const wire::ListChannels* req) {
  auto visible = VisibleChannels(state_, meta.actor(), req->workspace_id());
  if (!visible.ok()) return AnswerError(meta, visible.error());
  wire::ChannelListT list;
  for (const ChannelState* channel : *visible) {
    list.channels.push_back(
        std::make_unique<wire::ChannelInfoT>(ChannelInfoOf(*channel, meta.actor())));
  }
  Answer(meta, EncodeBody(meta.request_id, std::move(list)));
}

void Shard::OwnedJoinChannel(const RequestMeta& meta, const wire::JoinChannel* req) {
  ChannelId id = req->channel_id();
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  wire::Bytes reply =
      EncodeBody(meta.request_id, ChannelInfoOf(*state_.FindChannel(id), meta.actor()));
  if (!*outcome) return Answer(meta, std::move(reply));  // already a member
  AfterDurable([this, meta, id, reply = std::move(reply)]() mutable {
    AnnounceJoins(meta, meta.actor(), {id});
    Respond(meta, std::move(reply), SubscribeEffect{{id}});
  });
}

void Shard::OwnedLeaveChannel(const RequestMeta& meta, const wire::LeaveChannel* req) {
  ChannelId id = req->channel_id();
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  if (!*outcome) return Answer(meta, EncodeOk(meta.request_id));  // not a member
  AfterDurable([this, meta, id] {
    // The leaver's sessions see the MemberLeft, then stop receiving: both travel in order.
    FanOut(id, Share(EncodeMembership(id, meta.actor(), false)));
    BroadcastMembership(MembershipChanged{id, meta.actor(), false});
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

// A post, or with thread_seq > 0 a reply (OwnedReply); both deduplicate on client_msg_id.
void Shard::OwnedPost(const RequestMeta& meta, const wire::PostMessage* req) {
  ChannelId id = req->channel_id();
  std::string client_id = Str(req->client_msg_id());
  const ChannelState* channel = state_.FindChannel(id);
  if (channel && !client_id.empty() && channel->IsMember(meta.actor())) {
    if (std::optional<Seq> seq = FindPosted(*channel, meta.actor(), client_id)) {
      // A retry: the original's ack, once it is durable; nothing new is logged.
      const StoredMessage& original = channel->messages[*seq - 1];
      return Answer(meta, EncodePostAck(meta.request_id, id, original, true,
                                        UnknownMentions(*channel, original.text)));
    }
  }
  if (req->thread_seq() > 0) return OwnedReply(meta, req);
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  channel = state_.FindChannel(id);
  const StoredMessage& m = channel->messages.back();
  wire::Bytes ack = EncodePostAck(meta.request_id, id, m, false, UnknownMentions(*channel, m.text));
  AfterDurable([this, meta, id, seq = m.seq, ack = std::move(ack),
                event = Share(EncodeMessagePosted(id, m)),
                receipt_seq = ReceiptSeqOf(*channel, m.seq)]() mutable {
    Respond(meta, std::move(ack));
    FanOut(id, std::move(event), receipt_seq);
    NotifyMessage(id, seq);
  });
}

// Identical reads of an unchanged channel share one encoded page (PageCache): after a reconnect
// storm thousands of Syncs from the same seq cost one read and one encoding.
void Shard::OwnedHistory(const RequestMeta& meta, ChannelId id, const HistoryQuery& query,
                         bool subscribe) {
  wire::Bytes answer;
  Seq newest = 0;  // the page reaches the reader: delivered, for receipts
  if (const PageCache::Page* shared = pages_.Find(query)) {
    // Kept only after a read that passed every check but the reader's own.
    if (Status can = CheckCanRead(state_, meta.actor(), id); !can.ok()) {
      return AnswerError(meta, can.error());
    }
    counters_.history_pages_shared.Add();
    answer = wire::WithRequestId(shared->frame, meta.request_id);
    newest = shared->newest;
  } else {
    Result<HistoryPage> page = ReadHistory(state_, meta.actor(), query);
    if (!page.ok()) return AnswerError(meta, page.error());
    for (const StoredMessage* m : page->messages) newest = std::max(newest, m->seq);
    wire::Bytes frame = EncodeMessagePage(PageCache::kSharedRequestId, *state_.FindChannel(id),
                                          page->messages, page->has_more, page->last_seq);
    answer = wire::WithRequestId(frame, meta.request_id);
    pages_.Keep(query, PageCache::Page{std::move(frame), newest});
  }
  ReplyEffect effect;
  if (subscribe && !meta.already_subscribed) {
    OnInterest(Interest{id, meta.from.shard, +1});
    effect = SubscribeEffect{{id}};
  }
  Answer(meta, std::move(answer), std::move(effect));
  if (newest != 0) AdvanceReceiptsOf(AdvanceReceipts{id, {{meta.actor(), newest, 0}}});
}

void Shard::OwnedSubscribe(const RequestMeta& meta, const wire::Subscribe* req) {
  ChannelId id = req->channel_id();
  Status can = CheckCanRead(state_, meta.actor(), id);
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

// Moderation of a channel: adding a member, archiving, announcement mode, edits and deletions.
// Each change is shown to the channel's subscribers once durable.
void Shard::OwnedChannelRequest(const RequestMeta& meta, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::AddChannelMember: {
      const wire::AddChannelMember* req = f->body_as_AddChannelMember();
      ChannelId id = req->channel_id();
      UserId user = req->user_id();
      auto outcome = Execute(CommandOf(meta.actor(), *req));
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      if (!*outcome) return Answer(meta, EncodeOk(meta.request_id));
      return AfterDurable([this, meta, id, user] {
        FanOut(id, Share(EncodeMembership(id, user, true)));
        BroadcastMembership(MembershipChanged{id, user, true});
        Respond(meta, EncodeOk(meta.request_id));
      });
    }
    case wire::Body::UpdateChannel: {
      const wire::UpdateChannel* req = f->body_as_UpdateChannel();
      ChannelId id = req->channel_id();
      auto outcome = Execute(CommandOf(meta.actor(), *req));
      return AnswerChannelUpdate(meta, id, outcome);
    }
    case wire::Body::EditMessage: {
      const wire::EditMessage* req = f->body_as_EditMessage();
      ChannelId id = req->channel_id();
      Seq seq = req->seq();
      auto outcome = Execute(CommandOf(meta.actor(), *req));
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      const ChannelState& channel = *state_.FindChannel(id);
      const StoredMessage& m = channel.messages[seq - 1];
      wire::EditAckT ack;  // the answer: the message as edited
      ack.message = std::make_unique<wire::MessageT>(MessageOf(channel, m));
      ack.unknown_mentions = UnknownMentions(channel, m.text);
      wire::Bytes reply = EncodeBody(meta.request_id, std::move(ack));
      if (!*outcome) return Answer(meta, std::move(reply));
      return AfterDurable([this, meta, id, reply = std::move(reply),
                           event = Share(EncodeMessageEdited(id, seq, m, meta.actor()))]() mutable {
        Respond(meta, std::move(reply));
        FanOut(id, std::move(event));
      });
    }
    case wire::Body::DeleteMessage: {
      const wire::DeleteMessage* req = f->body_as_DeleteMessage();
      ChannelId id = req->channel_id();
      Seq seq = req->seq();
      auto outcome = Execute(CommandOf(meta.actor(), *req));
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      return AfterDurable([this, meta, id,
                           event = Share(EncodeMessageDeleted(id, seq, meta.actor()))]() mutable {
        Respond(meta, EncodeOk(meta.request_id));
        FanOut(id, std::move(event));
      });
    }
    default:
      return AnswerError(meta, MakeError(ErrorCode::kBadRequest, "not a channel request"));
  }
}

void Shard::AnswerChannelUpdate(const RequestMeta& meta, ChannelId id,
                                const Result<std::optional<Event>>& outcome) {
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const ChannelState& channel = *state_.FindChannel(id);
  wire::Bytes reply = EncodeBody(meta.request_id, ChannelInfoOf(channel, meta.actor()));
  if (!*outcome) return Answer(meta, std::move(reply));
  AfterDurable([this, meta, id, reply = std::move(reply),
                event = Share(EncodeChannelUpdated(channel))]() mutable {
    Respond(meta, std::move(reply));
    PublishChannelEvent(*state_.FindChannel(id), std::move(event));
  });
}

// Encoded once; one mailbox message per shard with subscribers, however many they have.
void Shard::FanOut(ChannelId channel, wire::SharedBytes frame, Seq receipt_seq, CoalesceKey key) {
  auto it = interest_.find(channel);
  if (it == interest_.end()) return;
  for (ShardId to = 0; to < it->second.size(); ++to) {
    if (it->second[to] == 0) continue;
    if (to == id_) {
      OnDeliver(Deliver{channel, frame, receipt_seq, key});
    } else {
      Send(to, Deliver{channel, frame, receipt_seq, key});
    }
  }
}

}  // namespace parley::shard
