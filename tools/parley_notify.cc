// parley's notification commands: notifications (list, unread, read), notify-pref, keywords,
// dnd, sync-user; and how `tail` prints notification and user-feed events.
#include <cstdio>
#include <limits>

#include "tools/cli.h"

DECLARE_uint64(before);
DECLARE_int32(limit);

namespace parley_cli {
namespace {

const char* ReasonName(wire::NotifyReason r) {
  switch (r) {
    case wire::NotifyReason::Mention: return "mention";
    case wire::NotifyReason::Direct: return "direct";
    case wire::NotifyReason::ChannelMention: return "channel-mention";
    case wire::NotifyReason::ThreadReply: return "thread-reply";
    case wire::NotifyReason::Keyword: return "keyword";
    case wire::NotifyReason::Message: return "message";
    default: return "unknown";
  }
}

const char* LevelName(wire::NotifyLevel l) {
  switch (l) {
    case wire::NotifyLevel::All: return "all";
    case wire::NotifyLevel::Mentions: return "mentions";
    case wire::NotifyLevel::Nothing: return "nothing";
    default: return "default";
  }
}

std::string Clock(uint32_t minute) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02u:%02u", minute / 60, minute % 60);
  return buf;
}

// "HH:MM" -> minute of the day.
Result<uint16_t> MinuteOf(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return BadArgument("not HH:MM", s);
  auto h = Number(s.substr(0, 2));
  auto m = Number(s.substr(3, 2));
  if (!h.ok() || !m.ok() || *h > 23 || *m > 59) return BadArgument("not HH:MM", s);
  return static_cast<uint16_t>(*h * 60 + *m);
}

void PrintNotification(const wire::NotificationInfoT& n) {
  std::printf("%llu\t%s\t%s%s\t[%llu] #%llu", U(n.id), Time(n.at_ms).c_str(), ReasonName(n.reason),
              n.push ? "" : " (silent)", U(n.channel_id), U(n.seq));
  if (n.thread_seq != 0) std::printf(" in thread #%llu", U(n.thread_seq));
  std::printf("\tuser:%llu\t%s%s\n", U(n.actor_id), n.snippet.c_str(), n.read ? "" : "\t(unread)");
}

void PrintSettings(const wire::NotificationSettingsT& s) {
  std::string keywords;
  for (const std::string& k : s.keywords) keywords += (keywords.empty() ? "" : ",") + k;
  std::printf("keywords\t%s\n", Or(keywords, "-").c_str());
  std::printf("snoozed until\t%s\n",
              s.snooze_until_ms > NowMs() ? Time(s.snooze_until_ms).c_str() : "-");
  if (s.schedule) {
    std::printf("schedule\t%s-%s %s\n", Clock(s.start_minute).c_str(), Clock(s.end_minute).c_str(),
                s.time_zone.c_str());
  } else {
    std::printf("schedule\t-\n");
  }
}

void PrintPref(const wire::ChannelNotifyPrefT& p) {
  std::printf("[%llu] %s (%s)%s\n", U(p.channel_id), LevelName(p.level), LevelName(p.effective),
              p.muted ? " muted" : "");
}

int PrintSettingsOr(const Result<wire::NotificationSettingsT>& r) {
  if (!r.ok()) return Die(r.error());
  PrintSettings(*r);
  return 0;
}

}  // namespace

// notifications [list] [--before ID] [--limit N] | unread | read ID|all
int Notifications(Ctx& ctx, const Args& args) {
  const std::string what = args.size() > 1 ? args[1] : "list";
  if (what == "list" && args.size() <= 2) {
    if (FLAGS_limit < 0 || FLAGS_limit > std::numeric_limits<uint16_t>::max()) {
      return Die(BadArgument("out of range", "limit"));
    }
    auto list = ctx.c.ListNotifications(FLAGS_before, static_cast<uint16_t>(FLAGS_limit));
    if (!list.ok()) return Die(list.error());
    for (const auto& n : list->notifications) PrintNotification(*n);
    Note("%u unread%s", list->unread, list->has_more ? "; more with --before" : "");
    return 0;
  }
  if (what == "unread" && args.size() == 2) {
    auto unread = ctx.c.UnreadNotifications();
    if (!unread.ok()) return Die(unread.error());
    std::printf("%u\n", *unread);
    return 0;
  }
  if (what == "read" && args.size() == 3) {
    uint64_t id = 0;
    if (args[2] != "all" && !Ids(args, 2, {&id})) return 1;
    auto read = ctx.c.MarkNotificationsRead(id);
    if (!read.ok()) return Die(read.error());
    std::printf("%u unread\n", read->unread);
    return 0;
  }
  return Usage();
}

// notify-pref CHANNEL_ID [all|mentions|nothing|default] [mute|unmute]
int NotifyPref(Ctx& ctx, const Args& args) {
  if (args.size() < 2 || args.size() > 4) return Usage();
  uint64_t channel = 0;
  if (!Ids(args, 1, {&channel})) return 1;
  auto current = ctx.c.GetChannelNotifyPref(channel);
  if (!current.ok()) return Die(current.error());
  if (args.size() == 2) {
    PrintPref(*current);
    return 0;
  }
  wire::NotifyLevel level = current->level;
  bool muted = current->muted;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "all") level = wire::NotifyLevel::All;
    else if (a == "mentions") level = wire::NotifyLevel::Mentions;
    else if (a == "nothing") level = wire::NotifyLevel::Nothing;
    else if (a == "default") level = wire::NotifyLevel::Default;
    else if (a == "mute") muted = true;
    else if (a == "unmute") muted = false;
    else return Usage();
  }
  auto set = ctx.c.SetChannelNotifyPref(channel, level, muted);
  if (!set.ok()) return Die(set.error());
  PrintPref(*set);
  return 0;
}

// keywords | keywords set WORD,WORD | keywords clear
int Keywords(Ctx& ctx, const Args& args) {
  if (args.size() == 1) return PrintSettingsOr(ctx.c.GetNotificationSettings());
  if (args[1] == "set" && args.size() == 3) {
    return PrintSettingsOr(ctx.c.SetNotifyKeywords(SplitCommas(args[2])));
  }
  if (args[1] == "clear" && args.size() == 2) return PrintSettingsOr(ctx.c.SetNotifyKeywords({}));
  return Usage();
}

// dnd | dnd snooze MINUTES | dnd schedule HH:MM-HH:MM ZONE | dnd unschedule | dnd off
int Dnd(Ctx& ctx, const Args& args) {
  if (args.size() == 1) return PrintSettingsOr(ctx.c.GetNotificationSettings());
  const std::string& what = args[1];
  if (what == "snooze" && args.size() == 3) {
    uint64_t minutes = 0;
    if (!Ids(args, 2, {&minutes})) return 1;
    if (minutes > std::numeric_limits<uint32_t>::max()) {
      return Die(BadArgument("out of range", "minutes"));
    }
    return PrintSettingsOr(ctx.c.SnoozeNotifications(static_cast<uint32_t>(minutes)));
  }
  if (what == "schedule" && args.size() == 4) {
    const std::string& span = args[2];
    size_t dash = span.find('-');
    if (dash == std::string::npos) return Die(BadArgument("not HH:MM-HH:MM", span));
    auto start = MinuteOf(span.substr(0, dash));
    auto end = MinuteOf(span.substr(dash + 1));
    if (!start.ok()) return Die(start.error());
    if (!end.ok()) return Die(end.error());
    return PrintSettingsOr(ctx.c.SetDndSchedule(*start, *end, args[3]));
  }
  if (what == "unschedule" && args.size() == 2) {
    return PrintSettingsOr(ctx.c.SetDnd(wire::DndOp::ClearSchedule));
  }
  if (what == "off" && args.size() == 2) return PrintSettingsOr(ctx.c.SetDnd(wire::DndOp::Off));
  return Usage();
}

// sync-user AFTER_USER_SEQ: the user feed after it, printed as tail prints events.
int SyncUser(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t after = 0;
  if (!Ids(args, 1, {&after})) return 1;
  for (;;) {
    auto feed = ctx.c.SyncUser(after);
    if (!feed.ok()) return Die(feed.error());
    if (feed->resync_required) {
      Note("the feed no longer holds what follows %llu: boot again (user_seq %llu)", U(after),
           U(feed->user_seq));
      return 3;
    }
    for (const wire::FrameT& frame : feed->frames) PrintNotifyEvent(frame);
    if (!feed->has_more || feed->frames.empty()) {
      Note("user_seq %llu", U(feed->user_seq));
      return 0;
    }
    after += feed->frames.size();
  }
}

bool PrintNotifyEvent(const wire::FrameT& event) {
  const wire::BodyUnion& b = event.body;
  if (auto* e = b.AsNotification(); e && e->notification) {
    std::printf("(user_seq %llu) notification ", U(e->user_seq));
    PrintNotification(*e->notification);
  } else if (auto* e = b.AsNotificationsRead()) {
    if (e->notification_id != 0) {
      std::printf("(user_seq %llu) notification %llu read; %u unread\n", U(e->user_seq),
                  U(e->notification_id), e->unread);
    } else {
      std::printf("(user_seq %llu) notifications up to %llu read; %u unread\n", U(e->user_seq),
                  U(e->up_to), e->unread);
    }
  } else if (auto* e = b.AsNotificationSettingsUpdated()) {
    std::printf("(user_seq %llu) notification settings changed: %s\n", U(e->user_seq),
                e->what.c_str());
    if (e->settings && e->what != "channel") PrintSettings(*e->settings);
    if (e->channel_pref) PrintPref(*e->channel_pref);
  } else if (auto* e = b.AsThreadReadUpdated()) {
    std::printf("(user_seq %llu) [%llu] thread #%llu read up to #%llu\n", U(e->user_seq),
                U(e->channel_id), U(e->thread_seq), U(e->read_seq));
  } else if (auto* e = b.AsReadMarkerUpdated()) {
    std::printf("(user_seq %llu) [%llu] read up to #%llu\n", U(e->user_seq), U(e->channel_id),
                U(e->seq));
  } else if (auto* e = b.AsThreadFollowUpdated()) {
    std::printf("(user_seq %llu) [%llu] thread #%llu %s\n", U(e->user_seq), U(e->channel_id),
                U(e->thread_seq), e->following ? "followed" : "unfollowed");
  } else {
    return false;
  }
  return true;
}

}  // namespace parley_cli
