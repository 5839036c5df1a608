// parley boot: the first screen in one request, or what changed since a token.
#include <string>
#include <vector>

#include "tools/cli.h"

DEFINE_string(resume, "", "boot: the token a previous `parley boot` printed (hex)");
DECLARE_string(watch);

namespace parley_cli {
namespace {

std::string Hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Result<std::vector<uint8_t>> Unhex(const std::string& s) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    int hi = digit(s[i]), lo = digit(s[i + 1]);
    if (hi < 0 || lo < 0) return BadArgument("the token is not hex", "resume");
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  if (s.size() % 2 != 0) return BadArgument("the token is not hex", "resume");
  return out;
}

const char* RoleWord(wire::Role role) {
  switch (role) {
    case wire::Role::Owner: return "owner";
    case wire::Role::Admin: return "admin";
    case wire::Role::Member: return "member";
    case wire::Role::Guest: return "guest";
    default: return "none";
  }
}

std::string IdList(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

void PrintBootChannel(const wire::BootChannelT& ch) {
  if (ch.kind == wire::ChannelKind::Channel) {
    std::printf("channel %llu\t#%s", U(ch.id), ch.name.c_str());
  } else {
    std::printf("%s %llu\twith %s", ch.kind == wire::ChannelKind::Direct ? "dm" : "group",
                U(ch.id), IdList(ch.members).c_str());
  }
  std::printf("\tws=%llu\tlast_seq=%llu\tunread=%u\tmentions=%u", U(ch.workspace_id),
              U(ch.last_seq), ch.unread, ch.mentions);
  if (ch.last_seq > 0) std::printf("\tlast %s", Time(ch.last_at_ms).c_str());
  if (ch.kind == wire::ChannelKind::Channel && ch.is_private) std::printf("\tprivate");
  if (ch.archived) std::printf("\tarchived");
  if (!ch.topic.empty()) std::printf("\ttopic: %s", ch.topic.c_str());
  std::printf("\n");
}

}  // namespace

// boot [--resume TOKEN] [--watch U1,U2]
int Boot(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  auto token = Unhex(FLAGS_resume);
  if (!token.ok()) return Die(token.error());
  auto watch = NumberList(FLAGS_watch);
  if (!watch.ok()) return Die(watch.error());
  int pages = 0;
  auto boot = ctx.c.Boot(*token, &pages, *watch);
  if (!boot.ok()) return Die(boot.error());
  if (boot->user) {
    std::printf("user %llu\t%s\tuser_seq=%llu\tunread_notifications=%u\n", U(boot->user->id),
                boot->user->display_name.c_str(), U(boot->user->user_seq),
                boot->user->unread_notifications);
  }
  for (const auto& ws : boot->workspaces) {
    std::printf("workspace %llu\t%s\trole=%s\n", U(ws->id), ws->name.c_str(), RoleWord(ws->role));
  }
  for (const auto& ch : boot->channels) PrintBootChannel(*ch);
  for (const auto& t : boot->threads) {
    std::printf("thread %llu #%llu\tunread=%u\tlast reply %s\n", U(t->channel_id),
                U(t->thread_seq), t->unread_replies, Time(t->last_reply_at_ms).c_str());
  }
  for (const auto& p : boot->presences) {
    std::printf("presence ");
    PrintPresence(*p);
  }
  for (uint64_t id : boot->removed_workspaces) std::printf("removed workspace %llu\n", U(id));
  for (uint64_t id : boot->removed_channels) std::printf("removed channel %llu\n", U(id));
  std::printf("token %s\n", Hex(boot->token).c_str());
  Note("%s: %zu workspaces, %zu channels, %zu unread threads%s",
       boot->full ? "full boot" : "changes", boot->workspaces.size(), boot->channels.size(), boot->threads.size(),
       pages > 1 ? (" (" + std::to_string(pages) + " pages)").c_str() : "");
  return 0;
}

}  // namespace parley_cli
