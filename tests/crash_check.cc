// crash_check: the randomized, repeated crash-durability checker (issue 8). A real parleyd with
// --durability=sync on a temporary 2-shard data directory; concurrent writers (posts with
// client_msg_ids, pipelined bursts of posts, thread replies, edits, reactions) on channels of
// workspaces on both shards; SIGKILL at random moments, sometimes followed by a torn final
// write on one shard's data file (persist/torn_write.h says which damage is realistic and why);
// a restart on the same directory; and after each restart the check in tests/crash_model.h.
// Writers then retry what was left unanswered, with the same client_msg_ids.
//
//   crash_check [--kills=25] [--seed=N] [--writers=4] [--torn_percent=30] [--max_delay_ms=400]
//
// Prints the counts; exits 1 naming each violation (and keeps a copy of the data directory),
// 2 on bad flags or a failed set-up.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "persist/data_dir.h"
#include "persist/torn_write.h"
#include "tests/crash_model.h"
#include "tests/test_server.h"

namespace parley::testing {
namespace {

constexpr uint32_t kShards = 2;
constexpr uint64_t kBurstRequestIds = uint64_t{1} << 40;  // clear of Client's own request ids

struct Options {
  int kills = 25;
  uint64_t seed = 0;  // 0: from the clock
  int writers = 4;
  int channels_per_shard = 3;
  int torn_percent = 30;
  int max_delay_ms = 400;
};

struct Totals {
  int kills = 0;
  int restarts = 0;
  int kills_mid_burst = 0;
  int torn_tail = 0;
  int torn_free_pages = 0;
  int torn_meta = 0;             // refused by name, then put back
  int torn_skipped = 0;          // kFreePages chosen with no free page yet
  uint64_t unacked_present = 0;  // over every check: pending writes found applied
  uint64_t unacked_absent = 0;
};

bool ParseFlag(const std::string& arg, const char* name, int64_t* value) {
  std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = std::stoll(arg.substr(prefix.size()));
  return true;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    int64_t v = 0;
    if (ParseFlag(arg, "kills", &v)) {
      o.kills = static_cast<int>(v);
    } else if (ParseFlag(arg, "seed", &v)) {
      o.seed = static_cast<uint64_t>(v);
    } else if (ParseFlag(arg, "writers", &v)) {
      o.writers = static_cast<int>(v);
    } else if (ParseFlag(arg, "torn_percent", &v)) {
      o.torn_percent = static_cast<int>(v);
    } else if (ParseFlag(arg, "max_delay_ms", &v)) {
      o.max_delay_ms = static_cast<int>(v);
    } else {
      std::cerr << "crash_check: unknown flag " << arg << "\n";
      std::exit(2);
    }
  }
  if (o.kills < 1 || o.writers < 1 || o.max_delay_ms < 20) {
    std::cerr << "crash_check: --kills and --writers must be >= 1, --max_delay_ms >= 20\n";
    std::exit(2);
  }
  if (o.seed == 0) o.seed = static_cast<uint64_t>(std::random_device{}()) << 16 ^ getpid();
  return o;
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().message);
  return std::move(r).value();
}

// Workspaces and channels owned by both shards, and the writers in all of them.
struct World {
  std::unique_ptr<wire::Client> owner;
  std::vector<uint64_t> channels;
  std::vector<Writer> writers;
};

World MakeWorld(const TestServer& server, const Options& o, std::mt19937_64& rng) {
  World world;
  std::vector<uint64_t> workspaces(kShards, 0);
  // A workspace is minted on its creator's connection's shard, which the kernel picks.
  for (int i = 0; i < 32 && std::count(workspaces.begin(), workspaces.end(), 0) > 0; ++i) {
    world.owner = server.SignedIn("owner@crash.example");
    auto ws = Must(world.owner->CreateWorkspace("crash" + std::to_string(i)), "CreateWorkspace");
    uint64_t& slot = workspaces[OwnerShard(ws.id, kShards)];
    if (slot == 0) {
      slot = ws.id;
      OpenWorkspace(*world.owner, ws.id);
    }
  }
  if (std::count(workspaces.begin(), workspaces.end(), 0) > 0) {
    throw std::runtime_error("no workspace landed on every shard");
  }
  std::vector<int> per_shard(kShards, 0);
  for (int i = 0; i < 64 && world.channels.size() < kShards * o.channels_per_shard; ++i) {
    uint64_t ws = workspaces[static_cast<size_t>(i) % kShards];
    auto ch = Must(world.owner->CreateChannel(ws, "c" + std::to_string(i)), "CreateChannel");
    if (per_shard[OwnerShard(ch.id, kShards)]++ < o.channels_per_shard) {
      world.channels.push_back(ch.id);
    }
  }
  if (world.channels.size() < kShards * o.channels_per_shard) {
    throw std::runtime_error("not enough channels on every shard");
  }
  for (int i = 0; i < o.writers; ++i) {
    Writer w;
    w.index = i;
    w.email = "writer" + std::to_string(i) + "@crash.example";
    w.rng.seed(rng());
    wire::LoginOkT login;
    auto c = server.SignedIn(w.email, &login);
    w.user = login.user_id;
    for (uint64_t ws : workspaces) Must(c->JoinWorkspace(ws), "JoinWorkspace");
    for (uint64_t ch : world.channels) Must(c->JoinChannel(ch), "JoinChannel");
    world.writers.push_back(std::move(w));
  }
  return world;
}

std::string Describe(const Op& op) {
  std::string where = " in channel " + std::to_string(op.channel);
  switch (op.kind) {
    case OpKind::kPost:
      return "post " + op.client_msg_id + where;
    case OpKind::kReply:
      return "reply " + op.client_msg_id + " to seq " + std::to_string(op.target) + where;
    case OpKind::kEdit:
      return "edit of seq " + std::to_string(op.target) + where;
    case OpKind::kReact:
      return "reaction " + op.emoji + " to seq " + std::to_string(op.target) + where;
  }
  return "";
}

bool Unavailable(const Error& e) { return e.code == ErrorCode::kUnavailable; }

// Runs one unanswered op; false when the connection is gone (the op stays pending).
bool Execute(wire::Client& c, Writer& w) {
  Op& op = w.pending.front();
  Error failure;
  switch (op.kind) {
    case OpKind::kPost:
    case OpKind::kReply: {
      auto ack = op.kind == OpKind::kPost
                     ? c.Post(op.channel, op.text, op.client_msg_id)
                     : c.Reply(op.channel, op.target, op.text, false, op.client_msg_id);
      if (!ack.ok()) {
        failure = ack.error();
        break;
      }
      w.AckMessage(op, *ack);
      w.pending.pop_front();
      return true;
    }
    case OpKind::kEdit:
    case OpKind::kReact: {
      Status done = OkStatus();
      if (op.kind == OpKind::kReact) {
        done = c.AddReaction(op.channel, op.target, op.emoji);
      } else if (auto ack = c.EditMessage(op.channel, op.target, op.text); !ack.ok()) {
        done = ack.error();
      }
      if (!done.ok()) {
        failure = done.error();
        break;
      }
      op.kind == OpKind::kEdit ? w.AckEdit(op) : w.AckReaction(op);
      w.pending.pop_front();
      return true;
    }
  }
  if (!Unavailable(failure)) {
    w.violations.push_back("writer " + std::to_string(w.index) + ": " + Describe(op) +
                           " refused: " + failure.message);
  }
  return false;
}

// Sends every pending op (all posts to one channel, none yet tried) in one write, then reads the
// answers; false when the connection is gone (the unanswered ones stay pending).
bool ExecuteBurst(wire::Client& c, Writer& w, uint64_t* next_request) {
  wire::Bytes bytes;
  std::map<uint64_t, std::string> asked;  // request id -> client_msg_id
  for (const Op& op : w.pending) {
    wire::PostMessageT post;
    post.channel_id = op.channel;
    post.client_msg_id = op.client_msg_id;
    post.text = op.text;
    uint64_t id = (*next_request)++;
    asked[id] = op.client_msg_id;
    wire::Bytes frame = wire::EncodeFrame(id, wire::MakeBody(std::move(post)));
    bytes.insert(bytes.end(), frame.begin(), frame.end());
  }
  if (!c.SendRaw(bytes.data(), bytes.size()).ok()) return false;
  while (!asked.empty()) {
    auto frame = c.ReadFrame();
    if (!frame.ok()) return false;
    auto it = asked.find(frame->request_id);
    if (it == asked.end()) continue;  // an event
    auto op = std::find_if(w.pending.begin(), w.pending.end(),
                           [&](const Op& p) { return p.client_msg_id == it->second; });
    if (const wire::PostAckT* ack = frame->body.AsPostAck()) {
      w.AckMessage(*op, *ack);
    } else {
      const wire::ErrorT* e = frame->body.AsError();
      w.violations.push_back("writer " + std::to_string(w.index) + ": burst post " + it->second +
                             " refused: " + (e ? e->message : "an unexpected answer"));
      return false;
    }
    w.pending.erase(op);
    asked.erase(it);
  }
  return true;
}

// One writer's round: retries what is pending, then writes until `stop` (or, with drain, only
// retries). Returns when the server is gone.
void RunWriter(const TestServer& server, const std::vector<uint64_t>& channels, Writer& w,
               const std::atomic<bool>& stop, bool drain, std::atomic<int>* bursts) {
  std::unique_ptr<wire::Client> c;
  try {
    c = server.SignedIn(w.email);
  } catch (const std::exception&) {
    return;  // killed before this writer signed in
  }
  uint64_t next_request = kBurstRequestIds;
  while (w.violations.empty()) {
    if (w.pending.empty()) {
      if (drain || stop.load()) return;
      bool burst = false;
      w.Plan(channels, &burst);
      if (burst) {
        bursts->fetch_add(1);
        bool alive = ExecuteBurst(*c, w, &next_request);
        bursts->fetch_sub(1);
        if (!alive) return;
        continue;
      }
    }
    if (!Execute(*c, w)) return;
  }
}

std::string LogTail(const TestServer& server) {
  std::ifstream in(server.log_path());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail;
  for (size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) {
    tail += "\n    " + lines[i];
  }
  return tail;
}

// Between the kill and the restart: sometimes the torn last write of a power cut. A torn meta
// page must make parleyd refuse the file, naming the damage; the checker then puts the sector
// back, standing in for the operator's restore, and parleyd must serve everything acknowledged.
void TearAndStart(TestServer& server, const Options& o, std::mt19937_64& rng, Totals* t,
                  std::string* torn) {
  torn->clear();
  if (static_cast<int>(rng() % 100) >= o.torn_percent) return server.Start();
  uint32_t shard = static_cast<uint32_t>(rng() % kShards);
  uint64_t roll = rng() % 10;
  auto kind = roll == 0  ? persist::TornCommit::kMeta
              : roll < 5 ? persist::TornCommit::kTail
                         : persist::TornCommit::kFreePages;
  std::string dir = persist::ShardDir(server.data_dir(), shard);
  auto report = persist::SimulateTornCommit(dir, kind, rng);
  if (!report.ok()) {
    if (report.error().code != ErrorCode::kNotFound) {
      throw std::runtime_error("torn write failed: " + report.error().message);
    }
    ++t->torn_skipped;
    return server.Start();
  }
  *torn = "shard " + std::to_string(shard) + ": " + report->what;
  if (kind != persist::TornCommit::kMeta) {
    ++(kind == persist::TornCommit::kTail ? t->torn_tail : t->torn_free_pages);
    return server.Start();
  }
  bool refused = false;
  try {
    server.Start();
  } catch (const std::exception&) {
    refused = true;
  }
  if (!refused) throw std::runtime_error("parleyd served a file with a damaged meta page");
  std::string log = LogTail(server);
  if (log.find(report->what.substr(5) + " of " + dir) == std::string::npos) {
    throw std::runtime_error("parleyd refused without naming the damaged meta page:" + log);
  }
  if (Status undone = persist::UndoTornMeta(dir, *report); !undone.ok()) {
    throw std::runtime_error(undone.error().message);
  }
  ++t->torn_meta;
  server.Start();
}

// Runs the writers, SIGKILLs the server after a random delay, maybe tears, restarts.
void KillRound(TestServer& server, World& world, const Options& o, std::mt19937_64& rng, Totals* t,
               std::string* torn) {
  std::atomic<bool> stop{false};
  std::atomic<int> bursts{0};
  std::vector<std::thread> threads;
  for (Writer& w : world.writers) {
    threads.emplace_back(
        [&, wp = &w] { RunWriter(server, world.channels, *wp, stop, false, &bursts); });
  }
  // A quarter of the kills land while writers are still signing in and retrying; the rest
  // anywhere in the round, often inside a pipelined burst.
  int delay = rng() % 4 == 0 ? static_cast<int>(rng() % 20)
                             : 20 + static_cast<int>(rng() % (o.max_delay_ms - 19));
  std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  if (bursts.load() > 0) ++t->kills_mid_burst;
  server.Kill();
  ++t->kills;
  stop = true;
  for (auto& th : threads) th.join();
  for (Writer& w : world.writers) {
    for (Op& op : w.pending) op.retry = true;
  }
  TearAndStart(server, o, rng, t, torn);
  ++t->restarts;
}

void Drain(TestServer& server, World& world) {
  std::atomic<bool> stop{false};
  std::atomic<int> bursts{0};
  std::vector<std::thread> threads;
  for (Writer& w : world.writers) {
    threads.emplace_back(
        [&, wp = &w] { RunWriter(server, world.channels, *wp, stop, true, &bursts); });
  }
  for (auto& th : threads) th.join();
}

std::vector<std::string> Check(TestServer& server, World& world, CheckCounts* counts) {
  auto reader = server.SignedIn("owner@crash.example");
  return CheckChannels(*reader, world.channels, world.writers, counts);
}

void KeepForInspection(const TestServer& server, uint64_t seed) {
  std::string copy = "/tmp/crash-check-failed-" + std::to_string(seed);
  std::error_code ec;
  std::filesystem::copy(std::filesystem::path(server.data_dir()).parent_path(), copy,
                        std::filesystem::copy_options::recursive, ec);
  std::cerr << "  data directory and parleyd.log kept in " << copy << "\n";
}

int Run(const Options& o) {
  const auto started = std::chrono::steady_clock::now();
  std::mt19937_64 rng(o.seed);
  TestServerOptions so;
  so.shards = kShards;
  so.durability = "sync";
  // Frequent snapshots, so kills also land during them and restarts load one plus a tail; edits
  // stay allowed for the whole run.
  so.extra_flags = {"--snapshot_every_events=250", "--edit_window_s=86400"};
  TestServer server(so);
  World world;
  try {
    server.Start();
    world = MakeWorld(server, o, rng);
  } catch (const std::exception& e) {
    std::cerr << "crash_check: set-up failed: " << e.what() << "\n";
    return 2;
  }
  std::printf("crash_check: seed %llu, %d writers, %zu channels on %u shards, %d kills\n",
              static_cast<unsigned long long>(o.seed), o.writers, world.channels.size(), kShards,
              o.kills);
  std::fflush(stdout);
  Totals t;
  CheckCounts counts;
  std::vector<std::string> violations;
  std::string torn;
  for (int k = 0; k < o.kills && violations.empty(); ++k) {
    try {
      KillRound(server, world, o, rng, &t, &torn);
      violations = Check(server, world, &counts);
      t.unacked_present += counts.unacked_present;
      t.unacked_absent += counts.unacked_absent;
    } catch (const std::exception& e) {
      violations.push_back(std::string("parleyd did not come back") +
                           (torn.empty() ? "" : " after a torn write (" + torn + ")") + ": " +
                           e.what() + LogTail(server));
    }
    if (!violations.empty() && !torn.empty()) violations.push_back("after torn write: " + torn);
    if ((k + 1) % 25 == 0) {
      std::printf("  %d kills, %llu messages checked\n", k + 1,
                  static_cast<unsigned long long>(counts.messages));
      std::fflush(stdout);
    }
  }
  if (violations.empty()) {
    try {  // the last unanswered writes, retried on a server left running
      Drain(server, world);
      violations = Check(server, world, &counts);
      for (const Writer& w : world.writers) {
        if (!w.pending.empty()) {
          violations.push_back("writer " + std::to_string(w.index) + " could not retry " +
                               Describe(w.pending.front()) + " on a running server");
        }
      }
    } catch (const std::exception& e) {
      violations.push_back(std::string("final retry failed: ") + e.what());
    }
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  uint64_t edits = 0, reactions = 0, dedup = 0, messages = 0;
  for (const Writer& w : world.writers) {
    edits += w.acked_edits;
    reactions += w.acked_reactions;
    dedup += w.retries_deduplicated;
    messages += w.acked.size();
  }
  std::printf(
      "kills %d (%d mid-burst), restarts %d, torn writes %d (tail %d, free pages %d, meta page %d "
      "refused by name and put back; %d skipped: no free page)\n"
      "writes acknowledged %llu (posts and replies %llu, edits %llu, reactions %llu; "
      "%llu retries answered as the original)\n"
      "present %llu, lost %llu, duplicates %llu; unacknowledged after a kill: found applied %llu, "
      "absent %llu; "
      "%llu messages in the channels\n"
      "wall %.1f s\n",
      t.kills, t.kills_mid_burst, t.restarts, t.torn_tail + t.torn_free_pages + t.torn_meta,
      t.torn_tail, t.torn_free_pages, t.torn_meta, t.torn_skipped,
      static_cast<unsigned long long>(counts.acknowledged),
      static_cast<unsigned long long>(messages), static_cast<unsigned long long>(edits),
      static_cast<unsigned long long>(reactions), static_cast<unsigned long long>(dedup),
      static_cast<unsigned long long>(counts.present), static_cast<unsigned long long>(counts.lost),
      static_cast<unsigned long long>(counts.duplicates),
      static_cast<unsigned long long>(t.unacked_present),
      static_cast<unsigned long long>(t.unacked_absent),
      static_cast<unsigned long long>(counts.messages), wall);
  if (violations.empty()) return 0;
  std::cerr << "crash_check: " << violations.size() << " violation(s) (seed " << o.seed << "):\n";
  for (size_t i = 0; i < violations.size() && i < 30; ++i) {
    std::cerr << "  " << violations[i] << "\n";
  }
  KeepForInspection(server, o.seed);
  return 1;
}

}  // namespace
}  // namespace parley::testing

int main(int argc, char** argv) {
  return parley::testing::Run(parley::testing::ParseOptions(argc, argv));
}
