// Threads, reactions, edit history, pins and bookmarks on the channel's owner. Changes answer
// once durable and are shown to the channel's subscribers (following a thread: to the user's own
// sessions); reads answer what is applied, once it is durable (see Shard::Answer).
#include <algorithm>

#include "shard/command_of.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

wire::SharedBytes Share(wire::Bytes bytes) {
  return std::make_shared<const wire::Bytes>(std::move(bytes));
}

std::unique_ptr<wire::MessageT> MessagePtr(const ChannelState& channel, const StoredMessage& m) {
  return std::make_unique<wire::MessageT>(MessageOf(channel, m));
}

wire::BookmarkInfoT BookmarkInfoOf(ChannelId channel, const BookmarkState& b) {
  wire::BookmarkInfoT info;
  info.id = b.id;
  info.channel_id = channel;
  info.title = b.title;
  info.url = b.url;
  info.by = b.by;
  info.created_at_ms = b.at;
  return info;
}

// ---- Reads: each answers a frame or the rule the request breaks.

Result<wire::Bytes> ReadThreadPage(const ShardState& state, UserId actor, uint64_t request_id,
                                   const wire::ThreadHistory* req) {
  ThreadQuery query{req->channel_id(), req->thread_seq(), req->after_seq(), req->limit()};
  Result<ThreadPage> page = ReadThread(state, actor, query);
  if (!page.ok()) return page.error();
  const ChannelState& channel = *state.FindChannel(req->channel_id());
  wire::ThreadPageT out;
  out.channel_id = channel.id;
  out.parent = MessagePtr(channel, *page->parent);
  for (const StoredMessage* reply : page->replies) {
    out.replies.push_back(MessagePtr(channel, *reply));
  }
  out.has_more = page->has_more;
  // Looked up in the channel, not page->thread: a thread may be followed before any reply.
  auto thread = channel.threads.find(req->thread_seq());
  out.following = thread != channel.threads.end() && thread->second.followers.count(actor) != 0;
  return EncodeBody(request_id, std::move(out));
}

// The message's earlier texts, oldest first; a deleted message has none left to show.
Result<wire::Bytes> ReadEdits(const ShardState& state, UserId actor, uint64_t request_id,
                              const wire::ListEdits* req) {
  if (Status s = CheckCanRead(state, actor, req->channel_id()); !s.ok()) return s.error();
  const ChannelState& channel = *state.FindChannel(req->channel_id());
  Seq seq = req->seq();
  if (seq == 0 || seq > channel.last_seq()) {
    return MakeError(ErrorCode::kNotFound, "no such message", "seq");
  }
  const StoredMessage& m = channel.messages[seq - 1];
  if (m.deleted) return MakeError(ErrorCode::kNotFound, "the message was deleted", "seq");
  wire::EditListT out;
  out.message = MessagePtr(channel, m);
  if (auto it = channel.edits.find(seq); it != channel.edits.end()) {
    for (const EditRecord& edit : it->second) {
      auto info = std::make_unique<wire::EditInfoT>();
      info->text = edit.text;
      info->replaced_at_ms = edit.at;
      out.edits.push_back(std::move(info));
    }
  }
  return EncodeBody(request_id, std::move(out));
}

// Newest pin first.
Result<wire::Bytes> ReadPins(const ShardState& state, UserId actor, uint64_t request_id,
                             ChannelId id) {
  if (Status s = CheckCanRead(state, actor, id); !s.ok()) return s.error();
  const ChannelState& channel = *state.FindChannel(id);
  wire::PinListT out;
  out.channel_id = id;
  for (auto it = channel.pins.rbegin(); it != channel.pins.rend(); ++it) {
    auto info = std::make_unique<wire::PinInfoT>();
    info->message = MessagePtr(channel, channel.messages[it->seq - 1]);
    info->by = it->by;
    info->pinned_at_ms = it->at;
    out.pins.push_back(std::move(info));
  }
  return EncodeBody(request_id, std::move(out));
}

// In the order they were added: ids are minted in increasing order on the channel's shard.
Result<wire::Bytes> ReadBookmarks(const ShardState& state, UserId actor, uint64_t request_id,
                                  ChannelId id) {
  if (Status s = CheckCanRead(state, actor, id); !s.ok()) return s.error();
  const ChannelState& channel = *state.FindChannel(id);
  wire::BookmarkListT out;
  out.channel_id = id;
  for (const auto& [bookmark_id, bookmark] : channel.bookmarks) {
    out.bookmarks.push_back(
        std::make_unique<wire::BookmarkInfoT>(BookmarkInfoOf(id, bookmark)));
  }
  return EncodeBody(request_id, std::move(out));
}

std::optional<Result<wire::Bytes>> ReadFeature(const ShardState& state, UserId actor,
                                               uint64_t request_id, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::ThreadHistory:
      return ReadThreadPage(state, actor, request_id, f->body_as_ThreadHistory());
    case wire::Body::ListEdits:
      return ReadEdits(state, actor, request_id, f->body_as_ListEdits());
    case wire::Body::ListPins:
      return ReadPins(state, actor, request_id, f->body_as_ListPins()->channel_id());
    case wire::Body::ListBookmarks:
      return ReadBookmarks(state, actor, request_id, f->body_as_ListBookmarks()->channel_id());
    default:
      return std::nullopt;
  }
}

// ---- Changes.

// Threads, reactions, pins and bookmarks: the requests this file answers with one command.
std::optional<Command> FeatureCommandOf(UserId actor, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::FollowThread:
    case wire::Body::MarkThreadRead:
    case wire::Body::AddReaction:
    case wire::Body::RemoveReaction:
    case wire::Body::PinMessage:
    case wire::Body::AddBookmark:
    case wire::Body::RemoveBookmark:
      return CommandOf(actor, *f);
    default:
      return std::nullopt;
  }
}

// The live event for the channel's subscribers; empty for changes only the actor sees.
wire::Bytes ChannelEventOf(const ShardState& state, const Event& event) {
  if (const auto* e = std::get_if<ReactionAdded>(&event)) {
    wire::ReactionAddedT out;
    out.channel_id = e->channel_id;
    out.seq = e->seq;
    out.user_id = e->user_id;
    out.emoji = e->emoji;
    return EncodeBody(0, std::move(out));
  }
  if (const auto* e = std::get_if<ReactionRemoved>(&event)) {
    wire::ReactionRemovedT out;
    out.channel_id = e->channel_id;
    out.seq = e->seq;
    out.user_id = e->user_id;
    out.emoji = e->emoji;
    return EncodeBody(0, std::move(out));
  }
  if (const auto* e = std::get_if<PinChanged>(&event)) {
    wire::PinChangedT out;
    out.channel_id = e->channel_id;
    out.seq = e->seq;
    out.pinned = e->pinned;
    out.by = e->by;
    return EncodeBody(0, std::move(out));
  }
  if (const auto* e = std::get_if<BookmarkAdded>(&event)) {
    const BookmarkState& b = state.FindChannel(e->channel_id)->bookmarks.at(e->bookmark_id);
    wire::BookmarkAddedT out;
    out.bookmark = std::make_unique<wire::BookmarkInfoT>(BookmarkInfoOf(e->channel_id, b));
    return EncodeBody(0, std::move(out));
  }
  if (const auto* e = std::get_if<BookmarkRemoved>(&event)) {
    wire::BookmarkRemovedT out;
    out.channel_id = e->channel_id;
    out.bookmark_id = e->bookmark_id;
    out.by = e->by;
    return EncodeBody(0, std::move(out));
  }
  return {};
}

}  // namespace

bool Shard::HandleMessageFeatures(const RequestMeta& meta, const wire::Frame* f) {
  if (std::optional<Result<wire::Bytes>> read = ReadFeature(state_, meta.actor(),
                                                            meta.request_id, f)) {
    if (!read->ok()) {
      AnswerError(meta, read->error());
    } else {
      Answer(meta, std::move(read->value()));
    }
    return true;
  }
  std::optional<Command> command = FeatureCommandOf(meta.actor(), f);
  if (!command) return false;
  auto outcome = Execute(*command);
  if (!outcome.ok()) {
    AnswerError(meta, outcome.error());
    return true;
  }
  wire::Bytes reply = EncodeOk(meta.request_id);
  if (const auto* added = *outcome ? std::get_if<BookmarkAdded>(&**outcome) : nullptr) {
    const BookmarkState& b = state_.FindChannel(added->channel_id)->bookmarks.at(added->bookmark_id);
    reply = EncodeBody(meta.request_id, BookmarkInfoOf(added->channel_id, b));
  }
  if (!*outcome) {  // nothing changed (reacting twice, following a followed thread)
    Answer(meta, std::move(reply));
    return true;
  }
  const Event& event = **outcome;
  if (const auto* follow = std::get_if<ThreadFollowChanged>(&event)) {
    UserFeedNote note{meta.actor(), static_cast<uint8_t>(FeedKind::kThreadFollow),
                      follow->channel_id, follow->thread_seq, 0, follow->following};
    AfterDurable([this, meta, reply = std::move(reply), note]() mutable {
      Respond(meta, std::move(reply));
      RelayFeed(note);
    });
    return true;
  }
  if (const auto* read = std::get_if<ThreadMarkedRead>(&event)) {
    UserFeedNote note{meta.actor(), static_cast<uint8_t>(FeedKind::kThreadRead),
                      read->channel_id, read->thread_seq, read->read_seq, false};
    AfterDurable([this, meta, reply = std::move(reply), note]() mutable {
      Respond(meta, std::move(reply));
      RelayFeed(note);
    });
    return true;
  }
  wire::Bytes live = ChannelEventOf(state_, event);
  if (live.empty()) {
    Answer(meta, std::move(reply));
    return true;
  }
  ChannelId channel = std::visit([](const auto& e) -> ChannelId {
    if constexpr (requires { e.channel_id; }) {
      return e.channel_id;
    } else {
      return 0;
    }
  }, event);
  AfterDurable([this, meta, channel, reply = std::move(reply),
                event = Share(std::move(live))]() mutable {
    Respond(meta, std::move(reply));
    FanOut(channel, std::move(event));
  });
  return true;
}

// Those the reply made followers (its author, the parent's author when the thread starts, the
// members it mentions) are told on all their sessions.
void Shard::OwnedReply(const RequestMeta& meta, const wire::PostMessage* req) {
  ChannelId id = req->channel_id();
  Seq thread_seq = req->thread_seq();
  std::vector<UserId> followers_before;
  if (const ChannelState* channel = state_.FindChannel(id)) {
    if (auto it = channel->threads.find(thread_seq); it != channel->threads.end()) {
      followers_before.assign(it->second.followers.begin(), it->second.followers.end());
    }
  }
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const ChannelState& channel = *state_.FindChannel(id);
  const StoredMessage& m = channel.messages.back();
  std::vector<UserId> new_followers;
  std::sort(followers_before.begin(), followers_before.end());
  for (UserId user : channel.threads.at(thread_seq).followers) {
    if (!std::binary_search(followers_before.begin(), followers_before.end(), user)) {
      new_followers.push_back(user);
    }
  }
  wire::Bytes ack = EncodePostAck(meta.request_id, id, m, false, UnknownMentions(channel, m.text));
  AfterDurable([this, meta, id, thread_seq, seq = m.seq, ack = std::move(ack),
                event = Share(EncodeMessagePosted(id, m)),
                new_followers = std::move(new_followers),
                receipt_seq = ReceiptSeqOf(channel, m.seq)]() mutable {
    Respond(meta, std::move(ack));
    FanOut(id, std::move(event), receipt_seq);
    for (UserId user : new_followers) {
      RelayFeed({user, static_cast<uint8_t>(FeedKind::kThreadFollow), id, thread_seq, 0, true});
    }
    NotifyMessage(id, seq);
  });
}

}  // namespace parley::shard
