// parley CLI: presence, custom status, read receipts, and how tail shows their events.
#include <gflags/gflags.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "wire/client.h"

DEFINE_string(emoji, "", "status set: an emoji name (:palm_tree:) or one emoji character");
DEFINE_int32(expires_in_min, 0, "status set: the status clears itself after this many minutes");
DEFINE_string(watch, "", "tail/presence: comma-separated user ids whose presence to follow");
DEFINE_uint32(receipts_max_members, 50,
              "settings: channels with at most this many members track receipts (0: none)");

namespace parley_cli {
namespace {

const char* PresenceName(wire::Presence p) {
  switch (p) {
    case wire::Presence::Online:
      return "online";
    case wire::Presence::Away:
      return "away";
    case wire::Presence::Offline:
      return "offline";
    default:
      return "unavailable";
  }
}

std::string Ids(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out.empty() ? "-" : out;
}

}  // namespace

void PrintPresence(const wire::PresenceInfoT& p) {
  std::printf("user:%llu\t%s", U(p.user_id), PresenceName(p.presence));
  if (p.manual_away)
    std::printf(p.presence == wire::Presence::Away ? " (by choice)" : " (away set)");
  if (p.presence == wire::Presence::Offline && p.last_seen_ms != 0) {
    std::printf("\tlast seen %s", Time(p.last_seen_ms).c_str());
  }
  if (!p.status_text.empty() || !p.status_emoji.empty()) {
    std::printf("\tstatus: %s%s%s%s", p.status_emoji.empty() ? "" : ":", p.status_emoji.c_str(),
                p.status_emoji.empty() ? "" : ": ", p.status_text.c_str());
    if (p.status_expires_at_ms != 0) {
      std::printf(" (until %s)", Time(p.status_expires_at_ms).c_str());
    }
  }
  std::printf("\n");
}

bool PrintPresenceEvent(const wire::FrameT& event) {
  if (auto* e = event.body.AsPresenceChanged(); e && e->presence) {
    std::printf("presence ");
    PrintPresence(*e->presence);
    return true;
  }
  if (auto* e = event.body.AsReceiptUpdated()) {
    std::printf("[%llu] user:%llu delivered up to #%llu, read up to #%llu\n", U(e->channel_id),
                U(e->user_id), U(e->delivered_up_to), U(e->read_up_to));
    return true;
  }
  return false;
}

Status WatchPresence(wire::Client& c) {
  if (FLAGS_watch.empty()) return parley::OkStatus();
  auto ids = NumberList(FLAGS_watch);
  if (!ids.ok()) return ids.error();
  auto list = c.SubscribePresence(*ids);
  if (!list.ok()) return list.error();
  for (const auto& p : list->presences) PrintPresence(*p);
  return parley::OkStatus();
}

bool ApplyReceiptsFlag(wire::WorkspaceSettingsT& settings) {
  if (!FlagSet("receipts_max_members")) return false;
  settings.receipts_max_members = FLAGS_receipts_max_members;
  return true;
}

// presence USER_ID[,USER_ID...]
int Presence(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  auto ids = NumberList(args[1]);
  if (!ids.ok()) return Die(ids.error());
  auto list = ctx.c.SubscribePresence(*ids);
  if (!list.ok()) return Die(list.error());
  for (const auto& p : list->presences) PrintPresence(*p);
  return 0;
}

// status | status set TEXT [--emoji E] [--expires_in_min N] | status clear
int StatusCommand(Ctx& ctx, const Args& args) {
  Result<wire::PresenceInfoT> mine = MakeError(ErrorCode::kBadRequest, "no status");
  if (args.size() == 1) {
    auto list = ctx.c.SubscribePresence({ctx.me.user_id});
    if (!list.ok()) return Die(list.error());
    if (list->presences.empty()) return Die(MakeError(ErrorCode::kInternal, "no presence"));
    PrintPresence(*list->presences[0]);
    return 0;
  }
  if (args.size() == 3 && args[1] == "set") {
    if (FLAGS_expires_in_min < 0) return Die(BadArgument("must not be negative", "expires_in_min"));
    int64_t expires =
        FLAGS_expires_in_min == 0 ? 0 : NowMs() + int64_t{FLAGS_expires_in_min} * 60'000;
    mine = ctx.c.SetStatus(args[2], FLAGS_emoji, expires);
  } else if (args.size() == 2 && args[1] == "clear") {
    mine = ctx.c.SetStatus("", "");
  } else {
    return Usage();
  }
  if (!mine.ok()) return Die(mine.error());
  PrintPresence(*mine);
  return 0;
}

// away | back
int AwayOrBack(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  auto mine = ctx.c.SetPresence(args[0] == "away");
  if (!mine.ok()) return Die(mine.error());
  PrintPresence(*mine);
  return 0;
}

// receipts CHANNEL_ID SEQ
int Receipts(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t channel = 0, seq = 0;
  if (!Ids(args, 1, {&channel, &seq})) return 1;
  auto list = ctx.c.ListReceipts(channel, seq);
  if (!list.ok()) return Die(list.error());
  if (!list->tracked) {
    std::printf("[%llu] #%llu receipts not tracked (channel above the workspace's size limit)\n",
                U(channel), U(seq));
    return 0;
  }
  std::printf("[%llu] #%llu by user:%llu\ndelivered to: %s\nread by: %s\n", U(channel), U(seq),
              U(list->author_id), Ids(list->delivered_to).c_str(), Ids(list->read_by).c_str());
  return 0;
}

// read-receipts on|off
int ReadReceipts(Ctx& ctx, const Args& args) {
  if (args.size() != 2 || (args[1] != "on" && args[1] != "off")) return Usage();
  bool on = args[1] == "on";
  return Report(ctx.c.SetReadReceipts(on), on ? "read receipts on" : "read receipts off");
}

}  // namespace parley_cli
