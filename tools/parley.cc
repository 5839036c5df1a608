// parley: the command-line client. One connection per invocation, through the wire client
// library. Authentication: --token (or $PARLEY_TOKEN), else --email and --password
// (or $PARLEY_PASSWORD). `parley login` prints a token to export.
#include <gflags/gflags.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "wire/client.h"

DEFINE_string(host, "127.0.0.1", "server address");
DEFINE_int32(port, 7400, "server port");
DEFINE_string(token, "", "session token (default: $PARLEY_TOKEN)");
DEFINE_string(email, "", "email, for register/login or instead of a token");
DEFINE_string(password, "", "password (default: $PARLEY_PASSWORD)");
DEFINE_string(name, "", "display name, for register");
DEFINE_bool(private_channel, false, "channels create: make the channel private");
DEFINE_string(client_msg_id, "", "post: idempotency key; a retry with the same key posts once");
DEFINE_uint64(before, 0, "history: messages before this seq");
DEFINE_uint64(after, 0, "history/tail: messages after this seq");
DEFINE_int32(limit, 0, "history: page size (default 50, max 200)");
DEFINE_int32(timeout_ms, 5000, "per-request timeout");

namespace {

using parley::Error;
using parley::Result;
namespace wire = parley::wire;

constexpr const char* kUsage = R"(usage: parley [flags] COMMAND
  register --email E --password P --name N
  login --email E --password P            prints a token: export PARLEY_TOKEN=...
  workspaces                              list my workspaces
  workspaces create NAME | join ID
  channels WORKSPACE_ID                   list channels
  channels WORKSPACE_ID create NAME [--private_channel]
  join CHANNEL_ID | leave CHANNEL_ID
  post CHANNEL_ID TEXT [--client_msg_id K]
  history CHANNEL_ID [--before S | --after S] [--limit N]
  tail CHANNEL_ID [--after S]             print new messages until interrupted
)";

int Die(const Error& e) {
  std::fprintf(stderr, "parley: %s (code %u)%s%s\n", e.message.c_str(),
               static_cast<unsigned>(e.code), e.details.empty() ? "" : ": ", e.details.c_str());
  return 1;
}

int Usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

std::string EnvOr(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* v = std::getenv(env);
  return v ? v : "";
}

std::string Time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

void PrintMessage(const wire::MessageT& m) {
  std::printf("#%llu %s user:%llu  %s\n", static_cast<unsigned long long>(m.seq),
              Time(m.created_at_ms).c_str(), static_cast<unsigned long long>(m.author_id),
              m.text.c_str());
}

parley::Status SignIn(wire::Client& c) {
  std::string token = EnvOr(FLAGS_token, "PARLEY_TOKEN");
  Result<wire::LoginOkT> ok = token.empty()
                                  ? c.Login(FLAGS_email, EnvOr(FLAGS_password, "PARLEY_PASSWORD"))
                                  : c.LoginWithToken(token);
  if (!ok.ok()) return ok.error();
  return parley::OkStatus();
}

int Workspaces(wire::Client& c, const std::vector<std::string>& args) {
  if (args.size() == 1) {
    auto list = c.ListWorkspaces();
    if (!list.ok()) return Die(list.error());
    for (auto& w : *list) {
      std::printf("%llu\t%s\tmembers=%u\t#general=%llu\n", static_cast<unsigned long long>(w.id),
                  w.name.c_str(), w.member_count,
                  static_cast<unsigned long long>(w.general_channel_id));
    }
    return 0;
  }
  if (args.size() != 3) return Usage();
  auto ws = args[1] == "create" ? c.CreateWorkspace(args[2])
            : args[1] == "join"
                ? c.JoinWorkspace(std::strtoull(args[2].c_str(), nullptr, 10))
                : Result<wire::WorkspaceInfoT>(
                      Error{parley::ErrorCode::kBadRequest, "unknown subcommand", args[1]});
  if (!ws.ok()) return Die(ws.error());
  std::printf("%llu\t%s\n", static_cast<unsigned long long>(ws->id), ws->name.c_str());
  return 0;
}

void PrintChannel(const wire::ChannelInfoT& ch) {
  std::printf("%llu\t#%s%s\tmembers=%u\tlast_seq=%llu%s\n", static_cast<unsigned long long>(ch.id),
              ch.name.c_str(), ch.is_private ? " (private)" : "", ch.member_count,
              static_cast<unsigned long long>(ch.last_seq), ch.is_member ? "\tmember" : "");
}

int Channels(wire::Client& c, const std::vector<std::string>& args) {
  if (args.size() < 2) return Usage();
  uint64_t ws = std::strtoull(args[1].c_str(), nullptr, 10);
  if (args.size() == 2) {
    auto list = c.ListChannels(ws);
    if (!list.ok()) return Die(list.error());
    for (auto& ch : *list) PrintChannel(ch);
    return 0;
  }
  if (args.size() != 4 || args[2] != "create") return Usage();
  auto ch = c.CreateChannel(ws, args[3], FLAGS_private_channel);
  if (!ch.ok()) return Die(ch.error());
  PrintChannel(*ch);
  return 0;
}

volatile sig_atomic_t g_interrupted = 0;

int Tail(wire::Client& c, uint64_t channel) {
  signal(SIGINT, [](int) { g_interrupted = 1; });
  uint64_t last = FLAGS_after;
  for (;;) {  // catch up first, then follow live events
    auto page = c.Sync(channel, last, 200);
    if (!page.ok()) return Die(page.error());
    for (auto& m : page->messages) {
      PrintMessage(*m);
      last = m->seq;
    }
    if (!page->has_more) break;
  }
  std::fflush(stdout);
  while (!g_interrupted) {
    auto event = c.NextEvent(500);
    if (!event.ok()) {
      if (c.closed()) return Die(event.error());
      continue;  // timeout: check for ^C
    }
    if (auto* posted = event->body.AsMessagePosted()) {
      if (posted->message->channel_id != channel) continue;
      if (posted->message->seq > last + 1) {  // a gap: fetch what was missed
        auto page = c.Sync(channel, last, 200);
        if (page.ok()) {
          for (auto& m : page->messages) PrintMessage(*m);
        }
      } else if (posted->message->seq == last + 1) {
        PrintMessage(*posted->message);
      }
      last = std::max(last, posted->message->seq);
      std::fflush(stdout);
    }
  }
  return 0;
}

int Run(wire::Client& c, const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  auto id = [&](size_t i) { return std::strtoull(args[i].c_str(), nullptr, 10); };
  if (cmd == "workspaces") return Workspaces(c, args);
  if (cmd == "channels") return Channels(c, args);
  if (args.size() < 2) return Usage();
  if (cmd == "join") {
    auto ch = c.JoinChannel(id(1));
    if (!ch.ok()) return Die(ch.error());
    PrintChannel(*ch);
    return 0;
  }
  if (cmd == "leave") {
    auto st = c.LeaveChannel(id(1));
    return st.ok() ? 0 : Die(st.error());
  }
  if (cmd == "post" && args.size() == 3) {
    auto ack = c.Post(id(1), args[2], FLAGS_client_msg_id);
    if (!ack.ok()) return Die(ack.error());
    std::printf("posted seq=%llu id=%llu%s\n", static_cast<unsigned long long>(ack->seq),
                static_cast<unsigned long long>(ack->message_id),
                ack->duplicate ? " (duplicate: already posted)" : "");
    return 0;
  }
  if (cmd == "history") {
    auto page = c.History(id(1), FLAGS_before, FLAGS_after, static_cast<uint16_t>(FLAGS_limit));
    if (!page.ok()) return Die(page.error());
    for (auto& m : page->messages) PrintMessage(*m);
    if (page->has_more) std::printf("(more)\n");
    return 0;
  }
  if (cmd == "tail") return Tail(c, id(1));
  return Usage();
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  wire::ClientOptions options;
  options.host = FLAGS_host;
  options.port = static_cast<uint16_t>(FLAGS_port);
  options.timeout_ms = FLAGS_timeout_ms;
  options.client_name = "parley-cli";
  auto client = wire::Client::Connect(options);
  if (!client.ok()) return Die(client.error());
  wire::Client& c = **client;
  std::string password = EnvOr(FLAGS_password, "PARLEY_PASSWORD");
  if (args[0] == "register") {
    auto ok = c.Register(FLAGS_email, password, FLAGS_name);
    if (!ok.ok()) return Die(ok.error());
    std::printf("registered user %llu\n", static_cast<unsigned long long>(ok->user_id));
    return 0;
  }
  if (args[0] == "login") {
    auto ok = c.Login(FLAGS_email, password);
    if (!ok.ok()) return Die(ok.error());
    std::printf("%s\n", ok->token.c_str());
    return 0;
  }
  parley::Status signed_in = SignIn(c);
  if (!signed_in.ok()) return Die(signed_in.error());
  return Run(c, args);
}
