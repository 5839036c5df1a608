// Notification rules: who is notified and why (on the channel's owner), and the decisions on the
// user's owner that number the user's feed (notifications, reads, keywords, do-not-disturb,
// relayed entries).
#include <algorithm>
#include <utility>

#include "core/decide_rules.h"
#include "core/mentions.h"
#include "core/notify.h"

namespace parley {

using rules::Decision;
using rules::Emit;
using rules::Invalid;
using rules::NoOp;

namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// REQUIRES: both lower-cased.
bool MatchesLowered(std::string_view text, std::string_view keyword) {
  if (keyword.empty()) return false;
  for (size_t at = text.find(keyword); at != std::string_view::npos;
       at = text.find(keyword, at + 1)) {
    size_t end = at + keyword.size();
    bool starts = at == 0 || !IsWordByte(text[at - 1]) || !IsWordByte(keyword.front());
    bool ends = end == text.size() || !IsWordByte(text[end]) || !IsWordByte(keyword.back());
    if (starts && ends) return true;
  }
  return false;
}

Error UserNotFound() { return MakeError(ErrorCode::kNotFound, "user not found", "user_id"); }

uint64_t NextUserSeq(const ShardState& state, UserId user) {
  const UserNotifyState* notify = FindNotifyState(state, user);
  return (notify ? notify->last_user_seq : 0) + 1;
}

const StoredNotification* FindNotification(const UserNotifyState& notify, uint64_t id) {
  auto it = std::lower_bound(notify.notifications.begin(), notify.notifications.end(), id,
                             [](const StoredNotification& n, uint64_t v) { return n.id < v; });
  return (it != notify.notifications.end() && it->id == id) ? &*it : nullptr;
}

bool Expired(const StoredNotification& n, TimeMs now) { return n.at <= now - kNotificationTtlMs; }

}  // namespace

ChannelNotifyPref PrefOf(const ChannelState& channel, UserId user) {
  auto it = channel.notify_prefs.find(user);
  return it == channel.notify_prefs.end() ? ChannelNotifyPref{} : it->second;
}

NotifyLevel EffectiveLevel(const ChannelState& channel, UserId user) {
  NotifyLevel level = PrefOf(channel, user).level;
  if (level != NotifyLevel::kDefault) return level;
  return channel.kind == ChannelKind::kChannel ? NotifyLevel::kMentions : NotifyLevel::kAll;
}

Result<std::vector<std::string>> NormaliseKeywords(const std::vector<std::string>& raw) {
  if (raw.size() > kMaxKeywords) {
    return Invalid("at most " + std::to_string(kMaxKeywords) + " keywords", "keywords");
  }
  std::vector<std::string> out;
  for (const std::string& k : raw) {
    std::string_view word = rules::TrimAscii(k);
    if (word.size() < kMinKeywordBytes || word.size() > kMaxKeywordBytes) {
      return Invalid("a keyword is " + std::to_string(kMinKeywordBytes) + " to " +
                         std::to_string(kMaxKeywordBytes) + " bytes",
                     "keywords");
    }
    if (!IsValidUtf8(word) || rules::HasControlCharacters(word)) {
      return Invalid("a keyword is not valid UTF-8 or contains control characters", "keywords");
    }
    std::string lowered = LowerAscii(word);
    if (std::find(out.begin(), out.end(), lowered) == out.end()) out.push_back(lowered);
  }
  return out;
}

bool MatchesKeyword(std::string_view text, std::string_view keyword) {
  return MatchesLowered(LowerAscii(text), LowerAscii(keyword));
}

std::vector<NotifyCandidate> NotifyCandidates(const ChannelState& channel, const StoredMessage& m,
                                              const KeywordMap& keywords) {
  const Mentions mentions = ParseMentions(m.text);
  const bool conversation = channel.kind != ChannelKind::kChannel;
  const ThreadState* thread = nullptr;
  if (m.thread_seq != 0) {
    auto it = channel.threads.find(m.thread_seq);
    if (it != channel.threads.end()) thread = &it->second;
  }
  // Who may be notified at all: every member only when every member may be.
  std::vector<UserId> users;
  if (conversation || mentions.channel) {
    users.assign(channel.members.begin(), channel.members.end());
  } else {
    users = mentions.users;
    if (thread != nullptr) {
      users.insert(users.end(), thread->followers.begin(), thread->followers.end());
    }
    for (const auto& [user, pref] : channel.notify_prefs) {
      if (pref.level == NotifyLevel::kAll) users.push_back(user);
    }
    if (keywords.size() <= channel.members.size()) {
      for (const auto& entry : keywords) users.push_back(entry.first);
    } else {
      for (UserId user : channel.members) {
        if (keywords.count(user) != 0) users.push_back(user);
      }
    }
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  std::string lowered;  // the text, once, for keyword matching
  std::vector<NotifyCandidate> out;
  for (UserId user : users) {
    if (user == m.author_id || !channel.IsMember(user)) continue;
    ChannelNotifyPref pref = PrefOf(channel, user);
    NotifyLevel level = EffectiveLevel(channel, user);
    if (level == NotifyLevel::kNothing) continue;
    std::optional<NotifyReason> reason;
    if (std::binary_search(mentions.users.begin(), mentions.users.end(), user)) {
      reason = NotifyReason::kMention;
    } else if (pref.muted) {
      continue;
    } else if (conversation && level == NotifyLevel::kAll) {
      reason = NotifyReason::kDirect;
    } else if (mentions.channel) {
      reason = NotifyReason::kChannelMention;
    } else if (thread != nullptr && thread->followers.count(user) != 0) {
      reason = NotifyReason::kThreadReply;
    } else if (auto words = keywords.find(user);
               words != keywords.end() &&
               std::any_of(words->second.begin(), words->second.end(), [&](const std::string& w) {
                 if (lowered.empty()) lowered = LowerAscii(m.text);
                 return MatchesLowered(lowered, w);
               })) {
      reason = NotifyReason::kKeyword;
    } else if (level == NotifyLevel::kAll) {
      reason = NotifyReason::kMessage;
    }
    if (reason) out.push_back({user, *reason});
  }
  return out;
}

std::string Snippet(std::string_view text) {
  if (text.size() <= kMaxSnippetBytes) return std::string(text);
  size_t cut = kMaxSnippetBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

bool InQuietHours(uint32_t start, uint32_t end, uint32_t minute) {
  if (start == end) return false;
  if (start < end) return minute >= start && minute < end;
  return minute >= start || minute < end;
}

bool ShouldPush(const DndSettings& dnd, TimeMs now, int32_t local_minute) {
  if (now < dnd.snooze_until) return false;
  if (dnd.schedule && local_minute >= 0 &&
      InQuietHours(dnd.start_minute, dnd.end_minute, static_cast<uint32_t>(local_minute))) {
    return false;
  }
  return true;
}

const UserNotifyState* FindNotifyState(const ShardState& state, UserId user) {
  auto it = state.notify_states().find(user);
  return it == state.notify_states().end() ? nullptr : &it->second;
}

uint64_t UnreadNotifications(const UserNotifyState& notify, TimeMs now) {
  uint64_t unread = notify.unread;
  for (const StoredNotification& n : notify.notifications) {
    if (!Expired(n, now)) break;
    if (!n.read) --unread;
  }
  return unread;
}

Result<NotificationPage> ListNotifications(const ShardState& state, UserId user, TimeMs now,
                                           const NotificationQuery& query) {
  auto limit = rules::PageLimit(query.limit, kDefaultNotificationPage, kMaxNotificationPage);
  if (!limit.ok()) return limit.error();
  NotificationPage page;
  const UserNotifyState* notify = FindNotifyState(state, user);
  if (notify == nullptr) return page;
  page.unread = UnreadNotifications(*notify, now);
  page.last_user_seq = notify->last_user_seq;
  for (auto it = notify->notifications.rbegin(); it != notify->notifications.rend(); ++it) {
    if (Expired(*it, now)) break;
    if (query.before_id != 0 && it->id >= query.before_id) continue;
    if (query.unread_only && it->read) continue;
    if (page.notifications.size() == *limit) {
      page.has_more = true;
      break;
    }
    page.notifications.push_back(&*it);
  }
  return page;
}

uint64_t UserSeqOf(const FeedEvent& entry) {
  return std::visit([](const auto& e) { return e.user_seq; }, entry);
}

Result<FeedPage> ReadFeed(const ShardState& state, UserId user, uint64_t after_user_seq,
                          uint32_t limit) {
  auto page_limit = rules::PageLimit(limit, 100, 500);
  if (!page_limit.ok()) return page_limit.error();
  FeedPage page;
  const UserNotifyState* notify = FindNotifyState(state, user);
  page.last_user_seq = notify ? notify->last_user_seq : 0;
  if (after_user_seq >= page.last_user_seq) {
    page.resync_required = after_user_seq > page.last_user_seq;  // ahead of the server
    return page;
  }
  const auto& feed = notify->feed;
  if (feed.empty() || after_user_seq + 1 < UserSeqOf(feed.front())) {
    page.resync_required = true;
    return page;
  }
  for (size_t i = after_user_seq + 1 - UserSeqOf(feed.front()); i < feed.size(); ++i) {
    if (page.entries.size() == *page_limit) {
      page.has_more = true;
      break;
    }
    page.entries.push_back(&feed[i]);
  }
  return page;
}

// ---- Decisions ----------------------------------------------------------------------------------

namespace rules {

Decision DecideOn(const ShardState& state, const SetChannelNotifyPref& c, Context& ctx) {
  if (Status can = CheckCanRead(state, c.actor, c.channel_id); !can.ok()) return can.error();
  if (c.level > static_cast<uint8_t>(NotifyLevel::kNothing)) {
    return Invalid("level is one of default, all, mentions, nothing", "level");
  }
  const ChannelState& channel = *state.FindChannel(c.channel_id);
  ChannelNotifyPref want{static_cast<NotifyLevel>(c.level), c.muted};
  if (PrefOf(channel, c.actor) == want) return NoOp();
  return Emit(ChannelNotifyPrefSet{c.channel_id, c.actor, c.level, c.muted, ctx.now});
}

Decision DecideOn(const ShardState& state, const NoteUserFeed& c, Context& ctx) {
  if (state.FindUser(c.user_id) == nullptr) return UserNotFound();
  return Emit(UserFeedNoted{c.user_id, NextUserSeq(state, c.user_id), c.kind, c.channel_id,
                            c.thread_seq, c.value, c.flag, ctx.now});
}

Decision DecideOn(const ShardState& state, const CreateNotification& c, Context& ctx) {
  if (state.FindUser(c.user_id) == nullptr) return UserNotFound();
  const UserNotifyState* notify = FindNotifyState(state, c.user_id);
  if (notify != nullptr && notify->notified.count({c.channel_id, c.seq}) != 0) return NoOp();
  bool push = ShouldPush(notify ? notify->dnd : DndSettings{}, ctx.now, c.local_minute);
  return Emit(NotificationCreated{c.user_id, NextUserSeq(state, c.user_id), c.reason,
                                  c.workspace_id, c.channel_id, c.seq, c.thread_seq, c.actor_id,
                                  Snippet(c.snippet), push, ctx.now});
}

Decision DecideOn(const ShardState& state, const MarkNotificationsRead& c, Context& ctx) {
  if (state.FindUser(c.actor) == nullptr) return UserNotFound();
  const UserNotifyState* notify = FindNotifyState(state, c.actor);
  if (c.notification_id != 0) {
    const StoredNotification* n = notify ? FindNotification(*notify, c.notification_id) : nullptr;
    if (n == nullptr || Expired(*n, ctx.now)) {
      return MakeError(ErrorCode::kNotFound, "no such notification", "notification_id");
    }
    if (n->read) return NoOp();
    return Emit(NotificationsRead{c.actor, notify->last_user_seq + 1, n->id, 0, ctx.now});
  }
  if (notify == nullptr || UnreadNotifications(*notify, ctx.now) == 0) return NoOp();
  return Emit(NotificationsRead{c.actor, notify->last_user_seq + 1, 0,
                                notify->notifications.back().id, ctx.now});
}

Decision DecideOn(const ShardState& state, const SetKeywords& c, Context& ctx) {
  if (state.FindUser(c.actor) == nullptr) return UserNotFound();
  auto keywords = NormaliseKeywords(c.keywords);
  if (!keywords.ok()) return keywords.error();
  const UserNotifyState* notify = FindNotifyState(state, c.actor);
  if ((notify ? notify->keywords : std::vector<std::string>{}) == *keywords) return NoOp();
  return Emit(KeywordsSet{c.actor, NextUserSeq(state, c.actor), std::move(*keywords), ctx.now});
}

Decision DecideOn(const ShardState& state, const SetDnd& c, Context& ctx) {
  if (state.FindUser(c.actor) == nullptr) return UserNotFound();
  const UserNotifyState* notify = FindNotifyState(state, c.actor);
  DndSettings dnd = notify ? notify->dnd : DndSettings{};
  switch (c.op) {
    case DndOp::kSnooze:
      if (c.snooze_minutes > kMaxSnoozeMinutes) {
        return Invalid("snooze for at most " + std::to_string(kMaxSnoozeMinutes) + " minutes",
                       "snooze_minutes");
      }
      dnd.snooze_until = c.snooze_minutes == 0 ? 0 : ctx.now + c.snooze_minutes * kMinuteMs;
      break;
    case DndOp::kSchedule:
      if (c.start_minute >= kMinutesPerDay || c.end_minute >= kMinutesPerDay) {
        return Invalid("a minute of the day is 0 to 1439", "start_minute");
      }
      if (c.start_minute == c.end_minute) {
        return Invalid("the quiet period must not be empty (start equals end)", "end_minute");
      }
      if (c.time_zone.empty()) return Invalid("a schedule needs a time zone", "time_zone");
      dnd.schedule = true;
      dnd.start_minute = c.start_minute;
      dnd.end_minute = c.end_minute;
      dnd.time_zone = c.time_zone;
      break;
    case DndOp::kClearSchedule:
      dnd.schedule = false;
      break;
    case DndOp::kOff:
      dnd.schedule = false;
      dnd.snooze_until = 0;
      break;
    default:
      return Invalid("unknown do-not-disturb operation", "op");
  }
  if (notify != nullptr && notify->dnd == dnd) return NoOp();
  if (notify == nullptr && dnd == DndSettings{}) return NoOp();
  return Emit(DndSet{c.actor, NextUserSeq(state, c.actor), dnd.snooze_until, dnd.schedule,
                     dnd.start_minute, dnd.end_minute, dnd.time_zone, ctx.now});
}

}  // namespace rules
}  // namespace parley
