// Shared by the parley CLI's source files: the connection a command works with, and how
// arguments are parsed and results and errors printed.
#pragma once

#include <gflags/gflags.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>
#include <string>
#include <vector>

#include "wire/client.h"

namespace parley_cli {

using parley::Error;
using parley::ErrorCode;
using parley::MakeError;
using parley::Result;
using parley::Status;
namespace wire = parley::wire;
using Args = std::vector<std::string>;

int Usage();  // parley.cc: prints the usage, returns 2

// What a command works with: the connection and, for commands that sign in, who we are.
struct Ctx {
  wire::Client& c;
  wire::LoginOkT me;
};

inline int Die(const Error& e) {
  std::fprintf(stderr, "parley: %s (code %u)%s%s", e.message.c_str(), static_cast<unsigned>(e.code),
               e.details.empty() ? "" : ": ", e.details.c_str());
  if (e.retry_after_ms > 0) std::fprintf(stderr, " (retry_after_ms=%u)", e.retry_after_ms);
  std::fputc('\n', stderr);
  return 1;
}

// A line for people on stderr, after the results printed so far.
template <class... A>
inline void Note(const char* format, A... args) {
  std::fflush(stdout);
  std::fprintf(stderr, format, args...);
  std::fputc('\n', stderr);
}

inline Error BadArgument(std::string message, std::string details = {}) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(details));
}

// For requests answered with Ok: prints `done` on success.
inline int Report(const Status& status, const std::string& done) {
  if (!status.ok()) return Die(status.error());
  std::printf("%s\n", done.c_str());
  return 0;
}

inline std::string EnvOr(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* v = std::getenv(env);
  return v ? v : "";
}

inline bool FlagSet(const char* name) { return !gflags::GetCommandLineFlagInfoOrDie(name).is_default; }

inline unsigned long long U(uint64_t v) { return v; }

inline std::string Time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

// An expiry: 0 means none.
inline std::string Expiry(int64_t ms) { return ms == 0 ? "never" : Time(ms); }

inline int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline std::string Or(const std::string& s, const char* fallback) { return s.empty() ? fallback : s; }

inline Result<uint64_t> Number(const std::string& s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return BadArgument("not a number", s);
  }
  return v;
}

// Parses args[first], args[first + 1], ... into `out`; false, having said why, on a non-number.
inline bool Ids(const Args& args, size_t first, std::initializer_list<uint64_t*> out) {
  for (uint64_t* id : out) {
    Result<uint64_t> n = Number(args[first++]);
    if (!n.ok()) {
      Die(n.error());
      return false;
    }
    *id = *n;
  }
  return true;
}

inline std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

inline Result<std::vector<uint64_t>> NumberList(const std::string& s) {
  std::vector<uint64_t> out;
  for (const std::string& item : SplitCommas(s)) {
    Result<uint64_t> n = Number(item);
    if (!n.ok()) return n.error();
    out.push_back(*n);
  }
  return out;
}

// --- commands of parley_messages.cc: channels, messages, threads, reactions, pins, bookmarks,
// conversations, read markers, typing, tail
int Channels(Ctx& ctx, const Args& args);
int ChannelDetails(Ctx& ctx, const Args& args);
int ChannelMembers(Ctx& ctx, const Args& args);
int JoinOrLeave(Ctx& ctx, const Args& args);
int AddMember(Ctx& ctx, const Args& args);
int RemoveMember(Ctx& ctx, const Args& args);
int UpdateChannel(Ctx& ctx, const Args& args);
int Post(Ctx& ctx, const Args& args);
int Edit(Ctx& ctx, const Args& args);
int Edits(Ctx& ctx, const Args& args);
int Delete(Ctx& ctx, const Args& args);
int History(Ctx& ctx, const Args& args);
int Reply(Ctx& ctx, const Args& args);
int Thread(Ctx& ctx, const Args& args);
int Follow(Ctx& ctx, const Args& args);
int ThreadRead(Ctx& ctx, const Args& args);
int Threads(Ctx& ctx, const Args& args);
int React(Ctx& ctx, const Args& args);
int Pin(Ctx& ctx, const Args& args);
int Pins(Ctx& ctx, const Args& args);
int Bookmarks(Ctx& ctx, const Args& args);
int Dm(Ctx& ctx, const Args& args);
int Dms(Ctx& ctx, const Args& args);
int Read(Ctx& ctx, const Args& args);
int Typing(Ctx& ctx, const Args& args);
int Tail(Ctx& ctx, const Args& args);
// Notifications and the user feed (parley_notify.cc).
int Notifications(Ctx& ctx, const Args& args);
int NotifyPref(Ctx& ctx, const Args& args);
int Keywords(Ctx& ctx, const Args& args);
int Dnd(Ctx& ctx, const Args& args);
int SyncUser(Ctx& ctx, const Args& args);
// Prints a notification or user-feed event (tail, sync-user); false for any other kind.
bool PrintNotifyEvent(const wire::FrameT& event);

// --- parley_presence.cc: presence, status, receipts
int Presence(Ctx& ctx, const Args& args);
int StatusCommand(Ctx& ctx, const Args& args);
int AwayOrBack(Ctx& ctx, const Args& args);
int Receipts(Ctx& ctx, const Args& args);
int ReadReceipts(Ctx& ctx, const Args& args);
void PrintPresence(const wire::PresenceInfoT& p);
void PrintPresence(const wire::PresenceInfoT& p);  // one line: user, state, last seen, status
bool PrintPresenceEvent(const wire::FrameT& event);  // false: not a presence or receipt event
Status WatchPresence(wire::Client& c);  // tail --watch: subscribe and print the current state
bool ApplyReceiptsFlag(wire::WorkspaceSettingsT& settings);  // settings --receipts_max_members

// --- parley_boot.cc
int Boot(Ctx& ctx, const Args& args);

// --- parley_search.cc
int Search(Ctx& ctx, const Args& args);
int RecentSearches(Ctx& ctx, const Args& args);

}  // namespace parley_cli
