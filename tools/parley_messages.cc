// parley's commands for channels and what happens in them: the directory, details and members,
// conversations, messages, threads, reactions, pins, bookmarks, read markers, typing, and
// `tail`, which prints every kind of live event.
#include <signal.h>

#include <chrono>
#include <limits>
#include <optional>
#include <string>

#include "tools/cli.h"

DECLARE_bool(private_channel);
DECLARE_string(client_msg_id);
DECLARE_uint64(before);
DECLARE_uint64(after);
DECLARE_int32(limit);
DEFINE_bool(also_to_channel, false, "reply: show the reply in the channel's timeline too");
DEFINE_bool(timeline, false, "history: the channel's timeline (thread replies left out)");
DEFINE_uint64(after_user, 0, "channel-members: the page after this user id");

namespace parley_cli {
namespace {

const char* KindName(wire::ChannelKind kind) {
  switch (kind) {
    case wire::ChannelKind::Direct: return "direct";
    case wire::ChannelKind::Group: return "group";
    default: return "channel";
  }
}

std::string JoinIds(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

void PrintChannel(const wire::ChannelInfoT& ch) {
  if (ch.kind == wire::ChannelKind::Channel) {
    std::printf("%llu\t#%s%s\tmembers=%u\tlast_seq=%llu", U(ch.id), ch.name.c_str(),
                ch.is_private ? " (private)" : "", ch.member_count, U(ch.last_seq));
  } else {
    std::printf("%llu\t%s with %s\tlast_seq=%llu", U(ch.id), KindName(ch.kind),
                JoinIds(ch.members).c_str(), U(ch.last_seq));
  }
  if (ch.is_member) {
    std::printf("\tmember\tread=%llu\tunread=%u\tmentions=%u", U(ch.last_read), ch.unread,
                ch.mentions);
  }
  std::printf("%s%s", ch.archived ? "\tarchived" : "", ch.announcement ? "\tannouncement" : "");
  if (!ch.topic.empty()) std::printf("\ttopic=%s", ch.topic.c_str());
  if (!ch.purpose.empty()) std::printf("\tpurpose=%s", ch.purpose.c_str());
  std::printf("\n");
}

// "#7 2026-11-23 10:00:00 user:3  text", with what hangs off the message after it.
void PrintMessage(const wire::MessageT& m, const char* indent = "") {
  std::printf("%s#%llu %s user:%llu  %s", indent, U(m.seq), Time(m.created_at_ms).c_str(),
              U(m.author_id), m.deleted ? "(deleted)" : m.text.c_str());
  if (m.edited_at_ms != 0 && !m.deleted) std::printf("  (edited %u)", std::max(m.edit_count, 1u));
  if (m.thread_seq != 0) {
    std::printf("  [reply in #%llu%s]", U(m.thread_seq),
                m.also_to_channel ? ", also to the channel" : "");
  }
  if (m.reply_count > 0) {
    std::printf("  [%u replies, last %s, from %s]", m.reply_count,
                Time(m.last_reply_at_ms).c_str(), JoinIds(m.reply_users).c_str());
  }
  if (m.pinned) std::printf("  [pinned]");
  for (const auto& r : m.reactions) {
    std::printf("  :%s: %u (%s)", r->emoji.c_str(), r->count, JoinIds(r->users).c_str());
  }
  std::printf("\n");
}

uint16_t LimitFlag() {
  return static_cast<uint16_t>(
      std::clamp<int32_t>(FLAGS_limit, 0, std::numeric_limits<uint16_t>::max()));
}

void PrintMentionNote(const std::vector<uint64_t>& unknown) {
  if (!unknown.empty()) {
    Note("not in the channel, so not notified: %s", JoinIds(unknown).c_str());
  }
}

}  // namespace

// --- channels

int Channels(Ctx& ctx, const Args& args) {
  if (args.size() != 2 && (args.size() != 4 || args[2] != "create")) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  if (args.size() == 2) {
    auto list = ctx.c.ListChannels(ws);
    if (!list.ok()) return Die(list.error());
    for (auto& ch : *list) PrintChannel(ch);
    return 0;
  }
  auto ch = ctx.c.CreateChannel(ws, args[3], FLAGS_private_channel);
  if (!ch.ok()) return Die(ch.error());
  PrintChannel(*ch);
  return 0;
}

// channel ID topic TEXT | purpose TEXT | rename NAME
int ChannelDetails(Ctx& ctx, const Args& args) {
  if (args.size() != 4) return Usage();
  uint64_t ch = 0;
  if (!Ids(args, 1, {&ch})) return 1;
  std::optional<std::string> name, topic, purpose;
  if (args[2] == "topic") {
    topic = args[3];
  } else if (args[2] == "purpose") {
    purpose = args[3];
  } else if (args[2] == "rename") {
    name = args[3];
  } else {
    return Usage();
  }
  auto info = ctx.c.SetChannelDetails(ch, name, topic, purpose);
  if (!info.ok()) return Die(info.error());
  PrintChannel(*info);
  return 0;
}

int ChannelMembers(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ch = 0;
  if (!Ids(args, 1, {&ch})) return 1;
  auto page = ctx.c.ListChannelMembers(ch, FLAGS_after_user, LimitFlag());
  if (!page.ok()) return Die(page.error());
  for (uint64_t user : page->members) std::printf("%llu\n", U(user));
  if (page->has_more && !page->members.empty()) {
    Note("(more: --after_user %llu)", U(page->members.back()));
  }
  return 0;
}

int JoinOrLeave(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ch = 0;
  if (!Ids(args, 1, {&ch})) return 1;
  if (args[0] == "leave") return Report(ctx.c.LeaveChannel(ch), "left channel " + args[1]);
  auto info = ctx.c.JoinChannel(ch);
  if (!info.ok()) return Die(info.error());
  PrintChannel(*info);
  return 0;
}

int AddMember(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t channel = 0, user = 0;
  if (!Ids(args, 1, {&channel, &user})) return 1;
  return Report(ctx.c.AddChannelMember(channel, user),
                "added user " + args[2] + " to channel " + args[1]);
}

int RemoveMember(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t channel = 0, user = 0;
  if (!Ids(args, 1, {&channel, &user})) return 1;
  return Report(ctx.c.RemoveChannelMember(channel, user),
                "removed user " + args[2] + " from channel " + args[1]);
}

// archive, unarchive and announce on|off.
int UpdateChannel(Ctx& ctx, const Args& args) {
  const bool announce = args[0] == "announce";
  if (args.size() != (announce ? 3u : 2u)) return Usage();
  if (announce && args[2] != "on" && args[2] != "off") return Usage();
  uint64_t ch = 0;
  if (!Ids(args, 1, {&ch})) return 1;
  auto info = announce ? ctx.c.UpdateChannel(ch, std::nullopt, args[2] == "on")
                       : ctx.c.UpdateChannel(ch, args[0] == "archive", std::nullopt);
  if (!info.ok()) return Die(info.error());
  PrintChannel(*info);
  return 0;
}

// --- conversations

int Dm(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  auto users = NumberList(args[2]);
  if (!users.ok()) return Die(users.error());
  auto info = ctx.c.OpenConversation(ws, *users);
  if (!info.ok()) return Die(info.error());
  PrintChannel(*info);
  return 0;
}

int Dms(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  auto list = ctx.c.ListConversations(ws);
  if (!list.ok()) return Die(list.error());
  for (const auto& conversation : list->conversations) {
    if (conversation->channel) PrintChannel(*conversation->channel);
    if (conversation->last_message) PrintMessage(*conversation->last_message, "    ");
  }
  return 0;
}

// --- messages

int Post(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ch = 0;
  if (!Ids(args, 1, {&ch})) return 1;
  auto ack = ctx.c.Post(ch, args[2], FLAGS_client_msg_id);
  if (!ack.ok()) return Die(ack.error());
  std::printf("posted seq=%llu id=%llu%s\n", U(ack->seq), U(ack->message_id),
              ack->duplicate ? " (duplicate: already posted)" : "");
  PrintMentionNote(ack->unknown_mentions);
  return 0;
}

int Reply(Ctx& ctx, const Args& args) {
  if (args.size() != 4) return Usage();
  uint64_t ch = 0, thread = 0;
  if (!Ids(args, 1, {&ch, &thread})) return 1;
  auto ack = ctx.c.Reply(ch, thread, args[3], FLAGS_also_to_channel, FLAGS_client_msg_id);
  if (!ack.ok()) return Die(ack.error());
  std::printf("replied seq=%llu id=%llu in thread #%llu%s\n", U(ack->seq), U(ack->message_id),
              U(thread), ack->duplicate ? " (duplicate: already posted)" : "");
  PrintMentionNote(ack->unknown_mentions);
  return 0;
}

int Thread(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ch = 0, thread = 0;
  if (!Ids(args, 1, {&ch, &thread})) return 1;
  auto page = ctx.c.ThreadHistory(ch, thread, FLAGS_after, LimitFlag());
  if (!page.ok()) return Die(page.error());
  if (page->parent) PrintMessage(*page->parent);
  for (auto& m : page->replies) PrintMessage(*m, "    ");
  if (page->has_more) std::printf("(more)\n");
  Note("%s", page->following ? "following" : "not following");
  return 0;
}

int Follow(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ch = 0, thread = 0;
  if (!Ids(args, 1, {&ch, &thread})) return 1;
  const bool follow = args[0] == "follow";
  return Report(ctx.c.FollowThread(ch, thread, follow),
                std::string(follow ? "following" : "not following") + " thread #" + args[2]);
}

int ThreadRead(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ch = 0, thread = 0;
  if (!Ids(args, 1, {&ch, &thread})) return 1;
  return Report(ctx.c.MarkThreadRead(ch, thread), "thread #" + args[2] + " read");
}

int Threads(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  auto list = ctx.c.ListUnreadThreads();
  if (!list.ok()) return Die(list.error());
  for (const auto& t : list->threads) {
    std::printf("channel %llu\tthread #%llu\tunread=%u\tlast reply %s\n", U(t->channel_id),
                U(t->thread_seq), t->unread_replies, Time(t->last_reply_at_ms).c_str());
  }
  Note("%u unread threads", list->total);
  return 0;
}

int Edit(Ctx& ctx, const Args& args) {
  if (args.size() != 4) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel, &seq})) return 1;
  auto ack = ctx.c.EditMessage(channel, seq, args[3]);
  if (!ack.ok()) return Die(ack.error());
  if (ack->message) PrintMessage(*ack->message);
  PrintMentionNote(ack->unknown_mentions);
  return 0;
}

int Edits(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel, &seq})) return 1;
  auto list = ctx.c.ListEdits(channel, seq);
  if (!list.ok()) return Die(list.error());
  for (const auto& e : list->edits) {
    std::printf("until %s  %s\n", Time(e->replaced_at_ms).c_str(), e->text.c_str());
  }
  if (list->message) PrintMessage(*list->message);
  return 0;
}

int Delete(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel, &seq})) return 1;
  return Report(ctx.c.DeleteMessage(channel, seq),
                "deleted #" + args[2] + " in channel " + args[1]);
}

int History(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ch = 0;
  if (!Ids(args, 1, {&ch})) return 1;
  auto page = FLAGS_timeline ? ctx.c.Timeline(ch, FLAGS_before, FLAGS_after, LimitFlag())
                             : ctx.c.History(ch, FLAGS_before, FLAGS_after, LimitFlag());
  if (!page.ok()) return Die(page.error());
  for (auto& m : page->messages) PrintMessage(*m);
  if (page->has_more) std::printf("(more)\n");
  return 0;
}

// react / unreact CHANNEL SEQ EMOJI
int React(Ctx& ctx, const Args& args) {
  if (args.size() != 4) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel, &seq})) return 1;
  if (args[0] == "unreact") {
    return Report(ctx.c.RemoveReaction(channel, seq, args[3]), "removed " + args[3]);
  }
  return Report(ctx.c.AddReaction(channel, seq, args[3]), "reacted " + args[3]);
}

int Pin(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel, &seq})) return 1;
  const bool pin = args[0] == "pin";
  return Report(ctx.c.Pin(channel, seq, pin), (pin ? "pinned #" : "unpinned #") + args[2]);
}

int Pins(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t channel = 0;
  if (!Ids(args, 1, {&channel})) return 1;
  auto list = ctx.c.ListPins(channel);
  if (!list.ok()) return Die(list.error());
  for (const auto& pin : list->pins) {
    std::printf("pinned by user:%llu %s\n", U(pin->by), Time(pin->pinned_at_ms).c_str());
    if (pin->message) PrintMessage(*pin->message, "    ");
  }
  return 0;
}

// bookmarks CHANNEL | bookmarks CHANNEL add TITLE URL | bookmarks CHANNEL remove ID
int Bookmarks(Ctx& ctx, const Args& args) {
  uint64_t channel = 0;
  if (args.size() < 2 || !Ids(args, 1, {&channel})) return args.size() < 2 ? Usage() : 1;
  if (args.size() == 5 && args[2] == "add") {
    auto added = ctx.c.AddBookmark(channel, args[3], args[4]);
    if (!added.ok()) return Die(added.error());
    std::printf("%llu\t%s\t%s\n", U(added->id), added->title.c_str(), added->url.c_str());
    return 0;
  }
  if (args.size() == 4 && args[2] == "remove") {
    uint64_t id = 0;
    if (!Ids(args, 3, {&id})) return 1;
    return Report(ctx.c.RemoveBookmark(channel, id), "removed bookmark " + args[3]);
  }
  if (args.size() != 2) return Usage();
  auto list = ctx.c.ListBookmarks(channel);
  if (!list.ok()) return Die(list.error());
  for (const auto& b : list->bookmarks) {
    std::printf("%llu\t%s\t%s\tby user:%llu %s\n", U(b->id), b->title.c_str(), b->url.c_str(),
                U(b->by), Time(b->created_at_ms).c_str());
  }
  return 0;
}

// --- read markers and typing

int Read(Ctx& ctx, const Args& args) {
  if (args.size() != 2 && args.size() != 3) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel})) return 1;
  if (args.size() == 3 && !Ids(args, 2, {&seq})) return 1;
  auto marker = ctx.c.MarkRead(channel, seq);
  if (!marker.ok()) return Die(marker.error());
  std::printf("read up to #%llu\tunread=%u\tmentions=%u\n", U(marker->seq), marker->unread,
              marker->mentions);
  return 0;
}

int Typing(Ctx& ctx, const Args& args) {
  if (args.size() != 2 && (args.size() != 3 || args[2] != "stop")) return Usage();
  uint64_t channel = 0;
  if (!Ids(args, 1, {&channel})) return 1;
  const bool stop = args.size() == 3;
  return Report(ctx.c.Typing(channel, stop), stop ? "stopped typing" : "typing");
}

// --- tail

namespace {

volatile sig_atomic_t g_interrupted = 0;

// Prints what Sync returns after `last`, advancing it.
Status CatchUp(wire::Client& c, uint64_t channel, uint64_t& last) {
  for (;;) {
    auto page = c.Sync(channel, last, 200);
    if (!page.ok()) return page.error();
    for (auto& m : page->messages) {
      if (m->seq <= last) continue;
      PrintMessage(*m);
      last = m->seq;
    }
    if (!page->has_more) return parley::OkStatus();
  }
}

// The channel an event concerns (0 for events about the user, such as read markers).
uint64_t ChannelOf(const wire::FrameT& event) {
  const wire::BodyUnion& b = event.body;
  if (auto* e = b.AsMessagePosted()) return e->message ? e->message->channel_id : 0;
  if (auto* e = b.AsMemberJoined()) return e->channel_id;
  if (auto* e = b.AsMemberLeft()) return e->channel_id;
  if (auto* e = b.AsMessageEdited()) return e->channel_id;
  if (auto* e = b.AsMessageDeleted()) return e->channel_id;
  if (auto* e = b.AsMessagesExpired()) return e->channel_id;
  if (auto* e = b.AsChannelUpdated()) return e->channel ? e->channel->id : 0;
  if (auto* e = b.AsChannelCreated()) return e->channel ? e->channel->id : 0;
  if (auto* e = b.AsReactionAdded()) return e->channel_id;
  if (auto* e = b.AsReactionRemoved()) return e->channel_id;
  if (auto* e = b.AsPinChanged()) return e->channel_id;
  if (auto* e = b.AsBookmarkAdded()) return e->bookmark ? e->bookmark->channel_id : 0;
  if (auto* e = b.AsBookmarkRemoved()) return e->channel_id;
  if (auto* e = b.AsUserTyping()) return e->channel_id;
  if (auto* e = b.AsReadMarkerUpdated()) return e->channel_id;
  if (auto* e = b.AsThreadFollowUpdated()) return e->channel_id;
  if (auto* e = b.AsReceiptUpdated()) return e->channel_id;
  if (auto* e = b.AsThreadReadUpdated()) return e->channel_id;
  if (auto* e = b.AsNotification()) return e->notification ? e->notification->channel_id : 0;
  return 0;
}

// One line for any event but a posted message (PrintMessage shows those).
void PrintEvent(const wire::FrameT& event) {
  const wire::BodyUnion& b = event.body;
  const unsigned long long ch = ChannelOf(event);
  if (auto* e = b.AsMemberJoined()) {
    std::printf("[%llu] user:%llu joined\n", ch, U(e->user_id));
  } else if (auto* e = b.AsMemberLeft()) {
    if (e->by != 0 && e->by != e->user_id) {
      std::printf("[%llu] user:%llu removed by user:%llu\n", ch, U(e->user_id), U(e->by));
    } else {
      std::printf("[%llu] user:%llu left\n", ch, U(e->user_id));
    }
  } else if (auto* e = b.AsMessageEdited()) {
    std::printf("[%llu] #%llu edited by user:%llu  %s\n", ch, U(e->seq), U(e->by), e->text.c_str());
  } else if (auto* e = b.AsMessageDeleted()) {
    std::printf("[%llu] #%llu deleted by user:%llu\n", ch, U(e->seq), U(e->by));
  } else if (auto* e = b.AsMessagesExpired()) {
    std::printf("[%llu] #%llu..#%llu expired (retention)\n", ch, U(e->from_seq), U(e->up_to_seq));
  } else if (auto* e = b.AsChannelUpdated(); e && e->channel) {
    std::printf("[%llu] channel updated: ", ch);
    PrintChannel(*e->channel);
  } else if (auto* e = b.AsChannelCreated(); e && e->channel) {
    std::printf("[%llu] channel created: ", ch);
    PrintChannel(*e->channel);
  } else if (auto* e = b.AsReactionAdded()) {
    std::printf("[%llu] #%llu user:%llu reacted :%s:\n", ch, U(e->seq), U(e->user_id),
                e->emoji.c_str());
  } else if (auto* e = b.AsReactionRemoved()) {
    std::printf("[%llu] #%llu user:%llu removed :%s:\n", ch, U(e->seq), U(e->user_id),
                e->emoji.c_str());
  } else if (auto* e = b.AsPinChanged()) {
    std::printf("[%llu] #%llu %s by user:%llu\n", ch, U(e->seq), e->pinned ? "pinned" : "unpinned",
                U(e->by));
  } else if (auto* e = b.AsBookmarkAdded(); e && e->bookmark) {
    std::printf("[%llu] bookmark %llu added by user:%llu: %s %s\n", ch, U(e->bookmark->id),
                U(e->bookmark->by), e->bookmark->title.c_str(), e->bookmark->url.c_str());
  } else if (auto* e = b.AsBookmarkRemoved()) {
    std::printf("[%llu] bookmark %llu removed by user:%llu\n", ch, U(e->bookmark_id), U(e->by));
  } else if (auto* e = b.AsUserTyping()) {
    std::printf("[%llu] user:%llu %s\n", ch, U(e->user_id),
                e->typing ? "is typing" : "stopped typing");
  } else if (PrintPresenceEvent(event)) {
  } else if (PrintNotifyEvent(event)) {  // notifications and the user feed
  } else if (auto* e = b.AsError()) {
    std::printf("error %u: %s%s%s\n", e->code, e->message.c_str(), e->details.empty() ? "" : ": ",
                e->details.c_str());
  } else {
    std::printf("event %s\n", wire::EnumNameBody(b.type));
  }
}

// One live event. Following one channel, a gap in its seqs is filled from Sync first and
// other channels' events are skipped.
void FollowEvent(wire::Client& c, const wire::FrameT& event, uint64_t channel, uint64_t& last) {
  if (channel != 0 && ChannelOf(event) != channel && !event.body.AsError()) return;
  const auto* posted = event.body.AsMessagePosted();
  if (posted == nullptr || posted->message == nullptr) return PrintEvent(event);
  const wire::MessageT& m = *posted->message;
  if (channel == 0) {
    std::printf("[%llu] ", U(m.channel_id));
    return PrintMessage(m);
  }
  if (m.seq <= last) return;
  if (m.seq > last + 1) {
    (void)CatchUp(c, channel, last);  // a failure here leaves the gap for the next event
    return;
  }
  PrintMessage(m);
  last = m.seq;
}

}  // namespace

int Tail(Ctx& ctx, const Args& args) {
  if (args.size() != 1 && args.size() != 2) return Usage();
  uint64_t channel = 0;
  if (args.size() == 2 && !Ids(args, 1, {&channel})) return 1;
  signal(SIGINT, [](int) { g_interrupted = 1; });
  if (const Status watching = WatchPresence(ctx.c); !watching.ok()) return Die(watching.error());
  uint64_t last = FLAGS_after;
  if (channel != 0) {
    const Status caught_up = CatchUp(ctx.c, channel, last);
    if (!caught_up.ok()) return Die(caught_up.error());
  }
  std::fflush(stdout);
  // The server closes a connection that sends nothing for --idle_timeout_s (15 min by default).
  constexpr auto kKeepAlive = std::chrono::seconds(60);
  auto pinged = std::chrono::steady_clock::now();
  while (!g_interrupted) {
    if (std::chrono::steady_clock::now() - pinged >= kKeepAlive) {
      if (const Status alive = ctx.c.Ping(); !alive.ok()) return Die(alive.error());
      pinged = std::chrono::steady_clock::now();
    }
    auto event = ctx.c.NextEvent(500);
    if (!event.ok()) {
      if (ctx.c.closed()) return Die(event.error());
      continue;  // timeout: check for ^C
    }
    FollowEvent(ctx.c, *event, channel, last);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace parley_cli
