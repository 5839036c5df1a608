// parley-log: reads a data directory's logs offline. Read-only, and safe while parleyd serves
// the same directory (tools/log_scan.h). For operators: what the server holds (stat), what it did
// (dump, tail), whether a restart would replay (verify), and a workspace's or channel's history
// as JSON lines (export).
#include <gflags/gflags.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/events.h"
#include "core/json.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "tools/log_scan.h"

DEFINE_string(data_dir, "", "the data directory");
DEFINE_int32(shard, -1, "only this shard (-1: every shard)");
DEFINE_uint64(from_lsn, 1, "dump: first LSN");
DEFINE_uint64(to_lsn, 0, "dump: last LSN (0: the end)");
DEFINE_string(since, "", "dump/tail/export: events at or after this time (ms or UTC ISO 8601)");
DEFINE_string(until, "", "dump/tail/export: events before this time");
DEFINE_string(kind, "", "dump/tail: only these event kinds (comma-separated, e.g. MessagePosted)");
DEFINE_uint64(channel, 0, "dump/tail: only events about this channel; export: this channel");
DEFINE_uint64(user, 0, "dump/tail: only events naming this user");
DEFINE_uint64(workspace, 0, "dump/tail: only events naming this workspace; export: this one");
DEFINE_bool(json, false, "stat/dump/tail: JSON lines instead of text");
DEFINE_bool(f, false, "tail: follow new commits until interrupted");
DEFINE_int32(lines, 10, "tail: how many of the newest events per shard to print first");
DEFINE_int32(poll_ms, 200, "tail -f: how often to look for new commits");

namespace {

using namespace parley;

constexpr const char* kUsage = R"(usage: parley-log COMMAND --data_dir DIR [flags]
  stat    per shard: events, LSN range, bytes, oldest and newest time, events by kind
  dump    events of an LSN range (--from_lsn --to_lsn) or time range (--since --until),
          filtered by --kind K1,K2 --channel C --user U --workspace W; text or --json
  tail    the newest --lines events per shard; -f then follows new commits
  verify  decodes every event, checks LSN continuity and that replay completes
          (exit 0: every shard passed; 1: a problem, named with its shard and LSN)
  export  --workspace W or --channel C: that history as JSON lines, oldest first per shard
Read-only; safe while parleyd runs. --shard K limits any command to one shard.
)";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "parley-log: %s\n", problem.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

int Die(const Error& e) {
  std::fprintf(stderr, "parley-log: %s%s%s\n", e.message.c_str(), e.details.empty() ? "" : ": ",
               e.details.c_str());
  return 2;
}

// Fields that name a channel, a user: what --channel, --user and export match on.
bool IsChannelField(std::string_view name) {
  return name == "channel_id" || name == "channel_ids" || name == "general_id" ||
         name == "random_id";
}
bool IsUserField(std::string_view name) {
  return name == "user_id" || name == "user_ids" || name == "by" || name == "author_id" ||
         name == "actor_id" || name == "owner_id" || name == "creator_id" ||
         name == "from_user" || name == "to_user" || name == "members";
}

bool Names(const persist::EventView& view, bool (*field)(std::string_view), uint64_t id) {
  return std::any_of(view.numbers.begin(), view.numbers.end(),
                     [&](const auto& n) { return field(n.first) && n.second == id; });
}
bool IsWorkspaceField(std::string_view name) { return name == "workspace_id"; }

struct Filter {
  TimeMs since = INT64_MIN;
  TimeMs until = INT64_MAX;
  std::set<std::string, std::less<>> kinds;  // empty: every kind
  uint64_t channel = 0, user = 0, workspace = 0;

  bool Matches(const persist::EventView& view) const {
    // Events without a time of their own pass a time range: it cannot exclude them.
    if (view.at != 0 && (view.at < since || view.at >= until)) return false;
    if (!kinds.empty() && !kinds.contains(view.kind)) return false;
    if (channel != 0 && !Names(view, IsChannelField, channel)) return false;
    if (user != 0 && !Names(view, IsUserField, user)) return false;
    if (workspace != 0 && !Names(view, IsWorkspaceField, workspace)) return false;
    return true;
  }
};

// Every event kind this build knows, by name.
std::set<std::string, std::less<>> KnownKinds() {
  std::set<std::string, std::less<>> known;
  for (unsigned tag = 1; tag < 256; ++tag) {
    std::string_view name = EventName(static_cast<EventTag>(tag));
    if (name != "Unknown") known.emplace(name);
  }
  return known;
}

Result<Filter> ReadFilter() {
  Filter f;
  if (!FLAGS_since.empty()) {
    auto t = tools::ParseTime(FLAGS_since);
    if (!t.ok()) return t.error();
    f.since = *t;
  }
  if (!FLAGS_until.empty()) {
    auto t = tools::ParseTime(FLAGS_until);
    if (!t.ok()) return t.error();
    f.until = *t;
  }
  const std::set<std::string, std::less<>> known = KnownKinds();
  std::string_view rest = FLAGS_kind;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view kind = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    if (kind.empty()) continue;
    if (!known.contains(kind)) {
      std::string names;
      for (const std::string& name : known) names += (names.empty() ? "" : ", ") + name;
      return MakeError(ErrorCode::kInvalidArgument, "unknown event kind " + std::string(kind),
                       "known: " + names);
    }
    f.kinds.emplace(kind);
  }
  f.channel = FLAGS_channel;
  f.user = FLAGS_user;
  f.workspace = FLAGS_workspace;
  return f;
}

// The shards a command reads: every one, or --shard's.
Result<std::vector<uint32_t>> Shards(const std::string& dir) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return info.error();
  std::vector<uint32_t> shards;
  if (FLAGS_shard >= 0) {
    if (static_cast<uint32_t>(FLAGS_shard) >= info->shard_count) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--shard must be below the shard count " +
                           std::to_string(info->shard_count));
    }
    shards.push_back(static_cast<uint32_t>(FLAGS_shard));
  } else {
    for (uint32_t k = 0; k < info->shard_count; ++k) shards.push_back(k);
  }
  return shards;
}

void PrintEvent(uint32_t shard, Lsn lsn, const persist::EventView& view) {
  if (FLAGS_json) {
    std::printf("{\"shard\":%u,\"lsn\":%" PRIu64 ",%s\n", shard, lsn, view.json.c_str() + 1);
    return;
  }
  // Text: where, when, what, then the event's own fields as JSON.
  const std::string when = view.at != 0 ? tools::FormatTime(view.at) : "-";
  const size_t fields = view.json.find(',');
  std::printf("%u:%" PRIu64 " %s %.*s {%s\n", shard, lsn, when.c_str(),
              static_cast<int>(view.kind.size()), view.kind.data(),
              fields == std::string::npos ? "}" : view.json.c_str() + fields + 1);
}

// Decodes a record for printing; a record this build cannot decode is reported, not skipped.
bool Describe(uint32_t shard, Lsn lsn, std::string_view bytes, persist::EventView* view) {
  Result<Event> event = persist::DecodeEvent(bytes);
  if (!event.ok()) {
    std::fprintf(stderr, "parley-log: shard %u lsn %" PRIu64 ": %s: %s\n", shard, lsn,
                 event.error().message.c_str(), event.error().details.c_str());
    return false;
  }
  *view = persist::DescribeEvent(*event);
  return true;
}

int Stat(const std::string& dir) {
  auto shards = Shards(dir);
  if (!shards.ok()) return Die(shards.error());
  for (uint32_t k : *shards) {
    uint64_t events = 0, bytes = 0, undecodable = 0;
    Lsn first = 0, last = 0;
    TimeMs oldest = 0, newest = 0;
    std::map<std::string_view, uint64_t> kinds;
    auto end = tools::ScanShard(dir, k, 1, [&](Lsn lsn, std::string_view record) {
      if (first == 0) first = lsn;
      last = lsn;
      ++events;
      bytes += record.size();
      Result<Event> event = persist::DecodeEvent(record);
      if (!event.ok()) {
        ++undecodable;
        return true;
      }
      persist::EventView view = persist::DescribeEvent(*event);
      ++kinds[view.kind];
      if (view.at != 0) {
        oldest = oldest == 0 ? view.at : std::min(oldest, view.at);
        newest = std::max(newest, view.at);
      }
      return true;
    });
    if (!end.ok()) return Die(end.error());
    struct stat file{};
    const std::string data_file = persist::ShardDir(dir, k) + "/data.mdb";
    const uint64_t file_bytes = stat(data_file.c_str(), &file) == 0 ? file.st_size : 0;
    if (FLAGS_json) {
      std::string line = "{\"shard\":" + std::to_string(k) + ",\"events\":" +
                         std::to_string(events) + ",\"first_lsn\":" + std::to_string(first) +
                         ",\"last_lsn\":" + std::to_string(last) + ",\"record_bytes\":" +
                         std::to_string(bytes) + ",\"file_bytes\":" + std::to_string(file_bytes) +
                         ",\"oldest_ms\":" + std::to_string(oldest) + ",\"newest_ms\":" +
                         std::to_string(newest) + ",\"undecodable\":" +
                         std::to_string(undecodable) + ",\"kinds\":{";
      bool comma = false;
      for (const auto& [kind, n] : kinds) {
        if (comma) line += ",";
        comma = true;
        AppendJsonString(line, kind);
        line += ":" + std::to_string(n);
      }
      std::printf("%s}}\n", line.c_str());
      continue;
    }
    std::printf("shard %u: %" PRIu64 " events, lsn %" PRIu64 "..%" PRIu64 ", %" PRIu64
                " bytes of records, %" PRIu64 " bytes on disk\n",
                k, events, first, last, bytes, file_bytes);
    if (events == 0) continue;
    std::printf("  oldest %s, newest %s\n", oldest ? tools::FormatTime(oldest).c_str() : "-",
                newest ? tools::FormatTime(newest).c_str() : "-");
    if (undecodable > 0) {
      std::printf("  %" PRIu64 " records this build cannot decode (run verify)\n", undecodable);
    }
    std::vector<std::pair<std::string_view, uint64_t>> by_count(kinds.begin(), kinds.end());
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [kind, n] : by_count) {
      std::printf("  %-24.*s %" PRIu64 "\n", static_cast<int>(kind.size()), kind.data(), n);
    }
  }
  return 0;
}

int Dump(const std::string& dir) {
  auto shards = Shards(dir);
  if (!shards.ok()) return Die(shards.error());
  auto filter = ReadFilter();
  if (!filter.ok()) return Die(filter.error());
  if (FLAGS_to_lsn != 0 && FLAGS_to_lsn < FLAGS_from_lsn) {
    return Usage("--to_lsn must not be below --from_lsn");
  }
  bool clean = true;
  for (uint32_t k : *shards) {
    auto end = tools::ScanShard(dir, k, FLAGS_from_lsn, [&](Lsn lsn, std::string_view bytes) {
      if (FLAGS_to_lsn != 0 && lsn > FLAGS_to_lsn) return false;
      persist::EventView view;
      if (!Describe(k, lsn, bytes, &view)) {
        clean = false;
        return true;
      }
      if (filter->Matches(view)) PrintEvent(k, lsn, view);
      return true;
    });
    if (!end.ok()) return Die(end.error());
  }
  return clean ? 0 : 1;
}

int Tail(const std::string& dir) {
  auto shards = Shards(dir);
  if (!shards.ok()) return Die(shards.error());
  auto filter = ReadFilter();
  if (!filter.ok()) return Die(filter.error());
  if (FLAGS_lines < 0) return Usage("--lines must be >= 0");
  if (FLAGS_poll_ms < 10 || FLAGS_poll_ms > 60'000) return Usage("--poll_ms must be 10..60000");
  // Where each shard's printing starts: the last --lines matching events. Finding them takes one
  // pass; the log has no index by kind or channel.
  std::vector<Lsn> next(shards->size(), 1);
  for (size_t i = 0; i < shards->size(); ++i) {
    const uint32_t k = (*shards)[i];
    std::deque<Lsn> newest;  // the last --lines matches
    auto end = tools::ScanShard(dir, k, 1, [&](Lsn lsn, std::string_view bytes) {
      persist::EventView view;
      if (FLAGS_lines > 0 && Describe(k, lsn, bytes, &view) && filter->Matches(view)) {
        newest.push_back(lsn);
        if (newest.size() > static_cast<size_t>(FLAGS_lines)) newest.pop_front();
      }
      return true;
    });
    if (!end.ok()) return Die(end.error());
    next[i] = newest.empty() ? *end : newest.front();
  }
  for (;;) {
    for (size_t i = 0; i < shards->size(); ++i) {
      const uint32_t k = (*shards)[i];
      auto end = tools::ScanShard(dir, k, next[i], [&](Lsn lsn, std::string_view bytes) {
        persist::EventView view;
        if (Describe(k, lsn, bytes, &view) && filter->Matches(view)) PrintEvent(k, lsn, view);
        return true;
      });
      if (!end.ok()) return Die(end.error());
      next[i] = *end;
    }
    std::fflush(stdout);
    if (!FLAGS_f) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(FLAGS_poll_ms));
  }
}

int Verify(const std::string& dir) {
  if (FLAGS_shard < 0) return tools::VerifyDataDir(dir, stdout) ? 0 : 1;
  auto shards = Shards(dir);
  if (!shards.ok()) return Die(shards.error());
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  tools::ShardCheck check = tools::VerifyShard(dir, shards->front(), info->shard_count);
  if (!check.problem.empty()) {
    std::printf("shard %u: FAILED after %" PRIu64 " good events: %s\n", check.shard,
                check.events, check.problem.c_str());
    return 1;
  }
  std::printf("shard %u: ok, %" PRIu64 " events, lsn %" PRIu64 "..%" PRIu64 "\n", check.shard,
              check.events, check.first_lsn, check.last_lsn);
  return 0;
}

// A workspace's history: every event naming it, and every event about one of its channels
// (found in a first pass: the channels created in it, its #general and #random, and its
// conversations). A channel's: every event naming the channel.
int Export(const std::string& dir) {
  if ((FLAGS_workspace == 0) == (FLAGS_channel == 0)) {
    return Usage("export needs exactly one of --workspace W and --channel C");
  }
  if (!FLAGS_kind.empty() || FLAGS_user != 0) {
    return Usage("export takes --since/--until and --shard only");
  }
  auto shards = Shards(dir);
  if (!shards.ok()) return Die(shards.error());
  auto filter = ReadFilter();
  if (!filter.ok()) return Die(filter.error());
  filter->channel = filter->workspace = 0;  // matched below instead
  std::unordered_set<uint64_t> channels;
  if (FLAGS_channel != 0) channels.insert(FLAGS_channel);
  if (FLAGS_workspace != 0) {
    // Channels live on any shard: collect them from every one, even under --shard.
    Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
    for (uint32_t k = 0; k < info->shard_count; ++k) {
      auto end = tools::ScanShard(dir, k, 1, [&](Lsn lsn, std::string_view bytes) {
        persist::EventView view;
        if (!Describe(k, lsn, bytes, &view) || !Names(view, IsWorkspaceField, FLAGS_workspace)) {
          return true;
        }
        for (const auto& [name, value] : view.numbers) {
          if (IsChannelField(name)) channels.insert(value);
        }
        return true;
      });
      if (!end.ok()) return Die(end.error());
    }
  }
  FLAGS_json = true;
  bool clean = true;
  for (uint32_t k : *shards) {
    auto end = tools::ScanShard(dir, k, 1, [&](Lsn lsn, std::string_view bytes) {
      persist::EventView view;
      if (!Describe(k, lsn, bytes, &view)) {
        clean = false;
        return true;
      }
      bool ours = (FLAGS_workspace != 0 && Names(view, IsWorkspaceField, FLAGS_workspace)) ||
                  std::any_of(view.numbers.begin(), view.numbers.end(), [&](const auto& n) {
                    return IsChannelField(n.first) && channels.contains(n.second);
                  });
      if (ours && filter->Matches(view)) PrintEvent(k, lsn, view);
      return true;
    });
    if (!end.ok()) return Die(end.error());
  }
  return clean ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc != 2) return Usage(argc < 2 ? "a command is required" : "one command at a time");
  if (FLAGS_data_dir.empty()) return Usage("--data_dir is required");
  const std::string cmd = argv[1];
  if (cmd == "stat") return Stat(FLAGS_data_dir);
  if (cmd == "dump") return Dump(FLAGS_data_dir);
  if (cmd == "tail") return Tail(FLAGS_data_dir);
  if (cmd == "verify") return Verify(FLAGS_data_dir);
  if (cmd == "export") return Export(FLAGS_data_dir);
  return Usage("unknown command " + cmd);
}
