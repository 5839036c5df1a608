// Notifications and the user feed. A channel's owner decides who is notified of a durable
// message and sends one NotifyBatch per destination shard; the user's owner numbers every feed
// entry (user_seq), logs it, and once durable fans it out on the user's topic (topic id = user
// id: each session of the user subscribes to it at sign-in). Keyword alerts are replicated,
// volatile, to every shard so channel owners match them without a round trip.
#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "core/notify.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

wire::SharedBytes Share(wire::Bytes bytes) {
  return std::make_shared<const wire::Bytes>(std::move(bytes));
}

uint32_t Clamp32(uint64_t n) { return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX)); }

wire::NotificationInfoT InfoOf(const StoredNotification& n) {
  wire::NotificationInfoT info;
  info.id = n.id;
  info.reason = static_cast<wire::NotifyReason>(n.reason);
  info.workspace_id = n.workspace_id;
  info.channel_id = n.channel_id;
  info.seq = n.seq;
  info.thread_seq = n.thread_seq;
  info.actor_id = n.actor_id;
  info.snippet = n.snippet;
  info.push = n.push;
  info.read = n.read;
  info.at_ms = n.at;
  return info;
}

wire::NotificationSettingsT SettingsOf(const UserNotifyState* notify) {
  wire::NotificationSettingsT s;
  if (notify == nullptr) return s;
  s.keywords = notify->keywords;
  s.snooze_until_ms = notify->dnd.snooze_until;
  s.schedule = notify->dnd.schedule;
  s.start_minute = static_cast<uint16_t>(notify->dnd.start_minute);
  s.end_minute = static_cast<uint16_t>(notify->dnd.end_minute);
  s.time_zone = notify->dnd.time_zone;
  s.user_seq = notify->last_user_seq;
  return s;
}

wire::ChannelNotifyPrefT PrefInfoOf(const ChannelState& channel, UserId user) {
  ChannelNotifyPref pref = PrefOf(channel, user);
  wire::ChannelNotifyPrefT out;
  out.channel_id = channel.id;
  out.level = static_cast<wire::NotifyLevel>(pref.level);
  out.muted = pref.muted;
  out.effective = static_cast<wire::NotifyLevel>(EffectiveLevel(channel, user));
  return out;
}

// The frame a feed entry is shown as, live and in SyncUser. `notify`: the user's state now (the
// unread count NotificationsRead carries).
wire::Bytes EncodeFeedEntry(uint64_t request_id, const FeedEvent& entry,
                            const UserNotifyState* notify, TimeMs now) {
  if (const auto* e = std::get_if<NotificationCreated>(&entry)) {
    StoredNotification n{e->user_seq, static_cast<NotifyReason>(e->reason), e->workspace_id,
                         e->channel_id, e->seq, e->thread_seq, e->actor_id, e->snippet, e->push,
                         false, e->at};
    wire::NotificationT out;
    out.notification = std::make_unique<wire::NotificationInfoT>(InfoOf(n));
    out.user_seq = e->user_seq;
    return EncodeBody(request_id, std::move(out));
  }
  if (const auto* e = std::get_if<NotificationsRead>(&entry)) {
    wire::NotificationsReadT out;
    out.notification_id = e->notification_id;
    out.up_to = e->up_to;
    out.unread = notify ? Clamp32(UnreadNotifications(*notify, now)) : 0;
    out.user_seq = e->user_seq;
    return EncodeBody(request_id, std::move(out));
  }
  if (const auto* e = std::get_if<KeywordsSet>(&entry)) {
    wire::NotificationSettingsUpdatedT out;
    out.what = "keywords";
    out.settings = std::make_unique<wire::NotificationSettingsT>();
    out.settings->keywords = e->keywords;
    out.settings->user_seq = e->user_seq;
    out.user_seq = e->user_seq;
    return EncodeBody(request_id, std::move(out));
  }
  if (const auto* e = std::get_if<DndSet>(&entry)) {
    wire::NotificationSettingsUpdatedT out;
    out.what = "dnd";
    out.settings = std::make_unique<wire::NotificationSettingsT>();
    out.settings->snooze_until_ms = e->snooze_until;
    out.settings->schedule = e->schedule;
    out.settings->start_minute = static_cast<uint16_t>(e->start_minute);
    out.settings->end_minute = static_cast<uint16_t>(e->end_minute);
    out.settings->time_zone = e->time_zone;
    out.settings->user_seq = e->user_seq;
    out.user_seq = e->user_seq;
    return EncodeBody(request_id, std::move(out));
  }
  const auto& e = std::get<UserFeedNoted>(entry);
  switch (static_cast<FeedKind>(e.kind)) {
    case FeedKind::kReadMarker: {
      wire::ReadMarkerUpdatedT out;
      out.channel_id = e.channel_id;
      out.seq = e.value;
      out.user_seq = e.user_seq;
      return EncodeBody(request_id, std::move(out));
    }
    case FeedKind::kThreadFollow: {
      wire::ThreadFollowUpdatedT out;
      out.channel_id = e.channel_id;
      out.thread_seq = e.thread_seq;
      out.following = e.flag;
      out.user_seq = e.user_seq;
      return EncodeBody(request_id, std::move(out));
    }
    case FeedKind::kThreadRead: {
      wire::ThreadReadUpdatedT out;
      out.channel_id = e.channel_id;
      out.thread_seq = e.thread_seq;
      out.read_seq = e.value;
      out.user_seq = e.user_seq;
      return EncodeBody(request_id, std::move(out));
    }
    default: {  // kChannelPref; `effective` is left Default: the channel's kind is not known here
      wire::NotificationSettingsUpdatedT out;
      out.what = "channel";
      out.channel_pref = std::make_unique<wire::ChannelNotifyPrefT>();
      out.channel_pref->channel_id = e.channel_id;
      out.channel_pref->level = static_cast<wire::NotifyLevel>(e.value);
      out.channel_pref->muted = e.flag;
      out.user_seq = e.user_seq;
      return EncodeBody(request_id, std::move(out));
    }
  }
}

std::optional<FeedEvent> FeedEventOf(const Event& event) {
  return std::visit([](const auto& e) -> std::optional<FeedEvent> {
    if constexpr (std::is_constructible_v<FeedEvent, decltype(e)>) {
      return FeedEvent(e);
    } else {
      return std::nullopt;
    }
  }, event);
}

Error UnknownZone(const std::string& name) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown time zone \"" + name + "\": use an IANA name such as Europe/Berlin",
                   "time_zone");
}

}  // namespace

bool Shard::HandleNotify(const RequestMeta& meta, const wire::Frame* f) {
  const UserId actor = meta.actor();
  switch (f->body_type()) {
    case wire::Body::SetChannelNotifyPref: {
      const auto* req = f->body_as_SetChannelNotifyPref();
      ChannelId id = req->channel_id();
      auto outcome = Execute(SetChannelNotifyPref{actor, id, static_cast<uint8_t>(req->level()),
                                                  req->muted()});
      if (!outcome.ok()) {
        AnswerError(meta, outcome.error());
        return true;
      }
      wire::Bytes reply = EncodeBody(meta.request_id, PrefInfoOf(*state_.FindChannel(id), actor));
      if (!*outcome) {
        Answer(meta, std::move(reply));
        return true;
      }
      UserFeedNote note{actor, static_cast<uint8_t>(FeedKind::kChannelPref), id, 0,
                        static_cast<uint64_t>(req->level()), req->muted()};
      AfterDurable([this, meta, reply = std::move(reply), note]() mutable {
        Respond(meta, std::move(reply));
        RelayFeed(note);
      });
      return true;
    }
    case wire::Body::GetChannelNotifyPref: {
      ChannelId id = f->body_as_GetChannelNotifyPref()->channel_id();
      if (Status can = CheckCanRead(state_, actor, id); !can.ok()) {
        AnswerError(meta, can.error());
      } else {
        Answer(meta, EncodeBody(meta.request_id, PrefInfoOf(*state_.FindChannel(id), actor)));
      }
      return true;
    }
    case wire::Body::GetNotificationSettings:
      Answer(meta, EncodeBody(meta.request_id, SettingsOf(FindNotifyState(state_, actor))));
      return true;
    case wire::Body::SetNotifyKeywords: {
      SetKeywords cmd{actor, {}};
      if (const auto* list = f->body_as_SetNotifyKeywords()->keywords()) {
        if (list->size() > kMaxKeywords) {
          AnswerError(meta, MakeError(ErrorCode::kInvalidArgument,
                                      "at most " + std::to_string(kMaxKeywords) + " keywords",
                                      "keywords"));
          return true;
        }
        for (const auto* k : *list) cmd.keywords.push_back(Str(k));
      }
      auto outcome = Execute(cmd);
      if (!outcome.ok()) {
        AnswerError(meta, outcome.error());
        return true;
      }
      const UserNotifyState* notify = FindNotifyState(state_, actor);
      wire::Bytes reply = EncodeBody(meta.request_id, SettingsOf(notify));
      if (!*outcome) {
        Answer(meta, std::move(reply));
        return true;
      }
      const auto& set = std::get<KeywordsSet>(**outcome);
      AfterDurable([this, meta, reply = std::move(reply), keywords = set.keywords,
                    frame = Share(EncodeFeedEntry(0, set, notify, Now()))]() mutable {
        BroadcastKeywords(meta.actor(), keywords);  // ahead of the answer, on a shorter path
        Respond(meta, std::move(reply));
        FanOut(meta.actor(), std::move(frame));
      });
      return true;
    }
    case wire::Body::SetDnd: {
      const auto* req = f->body_as_SetDnd();
      SetDnd cmd{actor, static_cast<DndOp>(req->op()), req->snooze_minutes(),
                 req->start_minute(), req->end_minute(), Str(req->time_zone())};
      if (cmd.op == DndOp::kSchedule && !cmd.time_zone.empty() &&
          !time_zones_.Known(cmd.time_zone)) {
        AnswerError(meta, UnknownZone(cmd.time_zone));
        return true;
      }
      auto outcome = Execute(cmd);
      if (!outcome.ok()) {
        AnswerError(meta, outcome.error());
        return true;
      }
      const UserNotifyState* notify = FindNotifyState(state_, actor);
      wire::Bytes reply = EncodeBody(meta.request_id, SettingsOf(notify));
      if (!*outcome) {
        Answer(meta, std::move(reply));
        return true;
      }
      AfterDurable([this, meta, reply = std::move(reply),
                    frame = Share(EncodeFeedEntry(0, std::get<DndSet>(**outcome), notify,
                                                  Now()))]() mutable {
        Respond(meta, std::move(reply));
        FanOut(meta.actor(), std::move(frame));
      });
      return true;
    }
    case wire::Body::ListNotifications: {
      const auto* req = f->body_as_ListNotifications();
      NotificationQuery q{req->before_id(), req->count_only() ? 1u : req->limit(),
                          req->unread_only()};
      auto page = ListNotifications(state_, actor, Now(), q);
      if (!page.ok()) {
        AnswerError(meta, page.error());
        return true;
      }
      wire::NotificationListT list;
      if (!req->count_only()) {
        for (const StoredNotification* n : page->notifications) {
          list.notifications.push_back(std::make_unique<wire::NotificationInfoT>(InfoOf(*n)));
        }
        list.has_more = page->has_more;
      }
      list.unread = Clamp32(page->unread);
      list.user_seq = page->last_user_seq;
      Answer(meta, EncodeBody(meta.request_id, std::move(list)));
      return true;
    }
    case wire::Body::MarkNotificationsRead: {
      auto outcome = Execute(
          MarkNotificationsRead{actor, f->body_as_MarkNotificationsRead()->notification_id()});
      if (!outcome.ok()) {
        AnswerError(meta, outcome.error());
        return true;
      }
      const UserNotifyState* notify = FindNotifyState(state_, actor);
      if (!*outcome) {  // nothing to mark: the count as it is
        wire::NotificationsReadT same;
        same.unread = notify ? Clamp32(UnreadNotifications(*notify, Now())) : 0;
        same.user_seq = notify ? notify->last_user_seq : 0;
        Answer(meta, EncodeBody(meta.request_id, std::move(same)));
        return true;
      }
      const auto& read = std::get<NotificationsRead>(**outcome);
      AfterDurable([this, meta, reply = EncodeFeedEntry(meta.request_id, read, notify, Now()),
                    frame = Share(EncodeFeedEntry(0, read, notify, Now()))]() mutable {
        Respond(meta, std::move(reply));
        FanOut(meta.actor(), std::move(frame));
      });
      return true;
    }
    case wire::Body::SyncUser: {
      const auto* req = f->body_as_SyncUser();
      auto page = ReadFeed(state_, actor, req->after_user_seq(), req->limit());
      if (!page.ok()) {
        AnswerError(meta, page.error());
        return true;
      }
      const UserNotifyState* notify = FindNotifyState(state_, actor);
      wire::UserFeedPageT out;
      for (const FeedEvent* entry : page->entries) {
        wire::Bytes frame = EncodeFeedEntry(0, *entry, notify, Now());
        auto item = std::make_unique<wire::FeedFrameT>();
        item->frame.assign(frame.begin() + 4, frame.end());  // without the length prefix
        out.frames.push_back(std::move(item));
      }
      out.has_more = page->has_more;
      out.resync_required = page->resync_required;
      out.user_seq = page->last_user_seq;
      Answer(meta, EncodeBody(meta.request_id, std::move(out)));
      return true;
    }
    default:
      return false;
  }
}

void Shard::NotifyMessage(ChannelId channel_id, Seq seq) {
  const ChannelState* channel = state_.FindChannel(channel_id);
  if (channel == nullptr || seq == 0 || seq > channel->last_seq()) return;
  const StoredMessage& m = channel->messages[seq - 1];
  const WorkspaceState* ws = state_.FindWorkspace(channel->workspace_id);
  auto candidates = NotifyCandidates(*channel, m, keywords_);
  if (candidates.empty()) return;
  std::string snippet = Snippet(m.text);
  std::map<ShardId, NotifyBatch> batches;
  for (const NotifyCandidate& c : candidates) {
    if (ws != nullptr && !ws->IsMember(c.user_id)) continue;  // deactivated
    batches[OwnerShard(c.user_id, config_.shard_count)].items.push_back(
        {c.user_id, static_cast<uint8_t>(c.reason), channel->workspace_id, channel_id, seq,
         m.thread_seq, m.author_id, snippet});
  }
  for (auto& [to, batch] : batches) {
    if (to == id_) {
      OnNotifyBatch(std::move(batch));
    } else {
      Send(to, std::move(batch));
    }
  }
}

void Shard::RelayFeed(UserFeedNote note) {
  ShardId owner = OwnerShard(note.user_id, config_.shard_count);
  if (owner == id_) return OnUserFeedNote(note);
  Send(owner, note);
}

void Shard::OnUserFeedNote(const UserFeedNote& note) {
  auto outcome = Execute(note);
  if (!outcome.ok() || !*outcome) return;  // an unknown user: nothing to tell
  const FeedEvent entry = *FeedEventOf(**outcome);
  AfterDurable([this, user = note.user_id,
                frame = Share(EncodeFeedEntry(0, entry, nullptr, Now()))]() mutable {
    FanOut(user, std::move(frame));
  });
}

void Shard::OnNotifyBatch(NotifyBatch batch) {
  std::vector<std::pair<UserId, wire::SharedBytes>> frames;
  for (CreateNotification& item : batch.items) {
    const UserId user = item.user_id;
    item.local_minute = LocalMinuteFor(user);
    auto outcome = Execute(std::move(item));
    if (!outcome.ok() || !*outcome) continue;
    frames.emplace_back(user,
                        Share(EncodeFeedEntry(0, *FeedEventOf(**outcome), nullptr, Now())));
  }
  if (frames.empty()) return;
  AfterDurable([this, frames = std::move(frames)]() mutable {
    for (auto& [user, frame] : frames) FanOut(user, std::move(frame));
  });
}

int32_t Shard::LocalMinuteFor(UserId user) {
  const UserNotifyState* notify = FindNotifyState(state_, user);
  if (notify == nullptr || !notify->dnd.schedule) return -1;
  return time_zones_.LocalMinute(notify->dnd.time_zone, Now());
}

void Shard::OnKeywordsChanged(KeywordsChanged change) {
  if (change.keywords.empty()) {
    keywords_.erase(change.user_id);
  } else {
    keywords_[change.user_id] = std::move(change.keywords);
  }
}

void Shard::BroadcastKeywords(UserId user, const std::vector<std::string>& keywords) {
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    if (to == id_) {
      OnKeywordsChanged(KeywordsChanged{user, keywords});
    } else {
      Send(to, KeywordsChanged{user, keywords});
    }
  }
}

void Shard::BroadcastAllKeywords() {
  for (const auto& [user, notify] : state_.notify_states()) {
    if (!notify.keywords.empty()) BroadcastKeywords(user, notify.keywords);
  }
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    if (to == id_) {
      OnKeywordsReplayed();
    } else {
      Send(to, KeywordsReplayed{id_});
    }
  }
}

// The window a crash can hit is milliseconds (a mailbox hop and a group commit), so the posts
// logged within kRenotifyWindowMs of this shard's newest post, and at most the newest
// kRenotifyMaxPosts of those, are enough to decide again. The count bounds the work at start-up
// for a shard that took a burst of posts in its last minute (a bulk import, a load test): at
// that rate the crash window is still a few thousand posts.
namespace {
constexpr TimeMs kRenotifyWindowMs = 60'000;
constexpr size_t kRenotifyMaxPosts = size_t{1} << 16;
}  // namespace

void Shard::NoteReplayedPost(const Event& event) {
  RecentPost post;
  if (const auto* e = std::get_if<MessagePosted>(&event)) {
    post = {e->channel_id, e->seq, e->at};
  } else if (const auto* e = std::get_if<ThreadReplyPosted>(&event)) {
    post = {e->channel_id, e->seq, e->at};
  } else {
    return;
  }
  if (recent_posts_.size() == kRenotifyMaxPosts) recent_posts_.pop_front();
  recent_posts_.push_back(post);
  while (recent_posts_.front().at < post.at - kRenotifyWindowMs) recent_posts_.pop_front();
}

// The posts of the minute before the snapshot's newest one, by time, at most the newest
// kRenotifyMaxPosts: what replaying the log up to the snapshot would have left in recent_posts_
// (in another order across channels, which only changes the order their notifications are
// decided again).
void Shard::NoteSnapshotPosts() {
  TimeMs newest = 0;
  for (const auto& [id, channel] : state_.channels()) {
    if (!channel.messages.empty()) newest = std::max(newest, channel.messages.back().at);
  }
  std::vector<RecentPost> posts;
  size_t channels = 0;
  for (const auto& [id, channel] : state_.channels()) {
    const size_t end = channel.messages.size();
    const size_t floor = end > kRenotifyMaxPosts ? end - kRenotifyMaxPosts : 0;
    size_t first = end;
    while (first > floor && channel.messages[first - 1].at >= newest - kRenotifyWindowMs) --first;
    if (first == end) continue;
    ++channels;
    for (size_t i = first; i < end; ++i) {
      const StoredMessage& m = channel.messages[i];
      posts.push_back({id, m.seq, m.at});
    }
  }
  // One channel's posts are already in order (a busy shard's window is often one channel).
  if (channels > 1) {
    std::sort(posts.begin(), posts.end(), [](const RecentPost& a, const RecentPost& b) {
      return std::tie(a.at, a.channel_id, a.seq) < std::tie(b.at, b.channel_id, b.seq);
    });
  }
  const size_t skip = posts.size() > kRenotifyMaxPosts ? posts.size() - kRenotifyMaxPosts : 0;
  recent_posts_.assign(posts.begin() + static_cast<std::ptrdiff_t>(skip), posts.end());
}

void Shard::OnKeywordsReplayed() {
  if (++keyword_markers_ != config_.shard_count) return;
  for (const RecentPost& post : recent_posts_) NotifyMessage(post.channel_id, post.seq);
  recent_posts_.clear();
  recent_posts_.shrink_to_fit();
}

}  // namespace parley::shard
