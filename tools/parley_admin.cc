// parley-admin: provisioning. `init` creates a data directory; `seed` writes a demo workspace
// into one, offline (parleyd must not be running on it): each command is decided against its
// owner shard's replayed state and appended to that shard's log, exactly as parleyd would.
// `reindex` rebuilds the search indexes (search/) from the logs, offline too. `snapshot` replays
// each shard's log and stores a snapshot of its state (persist/snapshot.h), offline.
#include <gflags/gflags.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/decide.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/snapshot.h"
#include "search/indexer.h"
#include "auth/password.h"

DEFINE_string(data_dir, "", "the data directory");
DEFINE_int32(shards, 0, "init: shard count, fixed for the directory's life (0 = cores)");
DEFINE_bool(seed, false, "init: also write the demo workspace");
DEFINE_string(demo_password, "parley-demo", "seed: password of the demo users");
DEFINE_int64(messages, 0, "seed: write a benchmark workspace with this many posts instead");
DEFINE_string(bench_tag, "replay", "seed --messages: names the account and workspace");
DEFINE_int32(bytes, 100, "seed --messages: size of each post");
DEFINE_uint64(workspace, 0, "audit: only this workspace's events (0: all)");

namespace {

using namespace parley;

constexpr const char* kUsage = R"(usage: parley-admin COMMAND --data_dir DIR
  init --data_dir DIR [--shards N] [--seed]   create a data directory
  seed --data_dir DIR                         add the demo workspace (parleyd stopped)
  seed --data_dir DIR --messages N [--bench_tag T]
                                              add parley-bench's workspace bench-T with N
                                              posts by p0.T@bench.test (replay benchmark)
  audit --data_dir DIR [--workspace W]        the security events in the log, oldest first,
                                              as JSON lines (W: that workspace's only)
  reindex --data_dir DIR                      rebuild every shard's search index from its log
                                              (parleyd stopped; it rebuilds a missing or
                                              stale one by itself at start)
  snapshot --data_dir DIR                     replay every shard's log and store a snapshot of
                                              its state, so parleyd starts from it (parleyd
                                              stopped; it also writes them while serving)
)";

int Die(const Error& e) {
  std::fprintf(stderr, "parley-admin: %s%s%s\n", e.message.c_str(), e.details.empty() ? "" : ": ",
               e.details.c_str());
  return 1;
}

struct OfflineShard {
  std::unique_ptr<persist::LmdbLogStore> store;
  std::unique_ptr<ShardState> state;
  std::unique_ptr<IdMinter> ids;
  std::vector<persist::LogRecord> staged;
};

class Seeder {
 public:
  Status Open(const std::string& dir, uint32_t n) {
    for (ShardId k = 0; k < n; ++k) {
      auto store = persist::LmdbLogStore::Open(persist::ShardDir(dir, k), {});
      if (!store.ok()) return store.error();
      OfflineShard shard{std::move(*store), std::make_unique<ShardState>(k, n), nullptr, {}};
      Status replayed = shard.store->Replay(1, [&](Lsn, std::string_view bytes) -> Status {
        Result<Event> e = persist::DecodeEvent(bytes);
        if (!e.ok()) return e.error();
        shard.state->Apply(*e);
        return OkStatus();
      });
      if (!replayed.ok()) return replayed;
      shard.ids = std::make_unique<IdMinter>(k, n, shard.state->max_minted());
      shards_.push_back(std::move(shard));
    }
    return OkStatus();
  }

  // Decides and applies on `shard`, appends to its log (durable on return).
  Result<std::optional<Event>> Run(ShardId shard, const Command& command) {
    auto decided = Stage(shard, command);
    if (!decided.ok()) return decided;
    if (Status s = CommitStaged(shard); !s.ok()) return s.error();
    return decided;
  }

  // Decides and applies on `shard`; the event reaches the log with the next CommitStaged().
  Result<std::optional<Event>> Stage(ShardId shard, const Command& command) {
    OfflineShard& s = shards_[shard];
    auto now = std::chrono::system_clock::now().time_since_epoch();
    Context ctx{std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), s.ids.get()};
    Result<std::optional<Event>> decided = Decide(*s.state, command, ctx);
    if (!decided.ok() || !*decided) return decided;
    s.state->Apply(**decided);
    Lsn lsn = s.store->last_lsn() + 1 + s.staged.size();
    s.staged.push_back(persist::LogRecord{lsn, persist::EncodeEvent(**decided)});
    return decided;
  }

  // Appends everything staged on `shard` as one transaction.
  Status CommitStaged(ShardId shard) {
    OfflineShard& s = shards_[shard];
    if (s.staged.empty()) return OkStatus();
    Status appended = s.store->AppendBatch(s.staged);
    s.staged.clear();
    return appended;
  }

  ShardState& state(ShardId shard) { return *shards_[shard].state; }
  uint32_t count() const { return static_cast<uint32_t>(shards_.size()); }

 private:
  std::vector<OfflineShard> shards_;
};

struct DemoUser {
  const char* email;
  const char* name;
};
constexpr DemoUser kDemoUsers[] = {
    {"alice@example.com", "Alice"}, {"bob@example.com", "Bob"}, {"carol@example.com", "Carol"}};

Result<UserId> SeedUser(Seeder& seeder, const DemoUser& u) {
  ShardId owner = ShardOfEmail(u.email, seeder.count());
  RegisterUser cmd{u.email, u.name, FLAGS_demo_password, {},
                   auth::HashPassword(FLAGS_demo_password, auth::ScryptParams{})};
  auto e = seeder.Run(owner, cmd);
  if (!e.ok()) return e.error();
  return std::get<UserRegistered>(**e).user_id;
}

int Seed(const std::string& dir) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  Seeder seeder;
  Status opened = seeder.Open(dir, info->shard_count);
  if (!opened.ok()) return Die(opened.error());
  if (seeder.state(ShardOfEmail(kDemoUsers[0].email, seeder.count()))
          .FindUserByEmail(kDemoUsers[0].email)) {
    std::printf("already seeded: %s\n", dir.c_str());
    return 0;
  }
  std::vector<UserId> users;
  for (const DemoUser& u : kDemoUsers) {
    Result<UserId> id = SeedUser(seeder, u);
    if (!id.ok()) return Die(id.error());
    users.push_back(*id);
  }
  const ShardId home = 0;  // the demo workspace and its channels live on shard 0
  auto ws = seeder.Run(home, CreateWorkspace{users[0], "Demo"});
  if (!ws.ok()) return Die(ws.error());
  const auto& created = std::get<WorkspaceCreated>(**ws);
  // The demo workspace is open: anyone who registers on the demo server may join it.
  auto opened_up = seeder.Run(home, UpdateWorkspaceSettings{users[0], created.workspace_id, true,
                                                            true, false});
  if (!opened_up.ok()) return Die(opened_up.error());
  for (size_t i = 1; i < users.size(); ++i) {
    auto joined = seeder.Run(home, JoinWorkspace{users[i], created.workspace_id});
    if (!joined.ok()) return Die(joined.error());
  }
  auto eng = seeder.Run(home, CreateChannel{users[0], created.workspace_id, "engineering", false});
  if (!eng.ok()) return Die(eng.error());
  const char* lines[] = {"Welcome to parley!", "Hi all, glad to be here.",
                         "Try `parley tail` on this channel and post from another terminal."};
  for (size_t i = 0; i < 3; ++i) {
    auto posted = seeder.Run(home, PostMessage{users[i], created.general_id, "", lines[i]});
    if (!posted.ok()) return Die(posted.error());
  }
  std::printf("seeded workspace %llu \"Demo\" (#general = %llu) with users",
              static_cast<unsigned long long>(created.workspace_id),
              static_cast<unsigned long long>(created.general_id));
  for (const DemoUser& u : kDemoUsers) std::printf(" %s", u.email);
  std::printf("; password: %s\n", FLAGS_demo_password.c_str());
  return 0;
}

// parley-bench's replay scenario: the account, password and workspace names are the ones its
// parley adapter (bench/parley_bench/parley_adapter.cc) uses for publisher 0 of tag T.
int SeedBench(const std::string& dir, int64_t messages) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  Seeder seeder;
  if (Status opened = seeder.Open(dir, info->shard_count); !opened.ok()) return Die(opened.error());
  const std::string email = "p0." + FLAGS_bench_tag + "@bench.test";
  const std::string password = "bench-password-1";
  ShardId owner = ShardOfEmail(email, seeder.count());
  auto reg = seeder.Run(owner, RegisterUser{email, "p0", password, {},
                                            auth::HashPassword(password, auth::ScryptParams{})});
  if (!reg.ok()) return Die(reg.error());
  UserId user = std::get<UserRegistered>(**reg).user_id;
  const ShardId home = 0;
  auto ws = seeder.Run(home, CreateWorkspace{user, "bench-" + FLAGS_bench_tag});
  if (!ws.ok()) return Die(ws.error());
  ChannelId general = std::get<WorkspaceCreated>(**ws).general_id;
  std::string text(static_cast<size_t>(std::max(FLAGS_bytes, 18)), 'x');
  auto t0 = std::chrono::steady_clock::now();
  constexpr int64_t kBatch = 8192;
  for (int64_t i = 0; i < messages; ++i) {
    auto posted = seeder.Stage(home, PostMessage{user, general, "", text});
    if (!posted.ok()) return Die(posted.error());
    if ((i + 1) % kBatch == 0 || i + 1 == messages) {
      if (Status s = seeder.CommitStaged(home); !s.ok()) return Die(s.error());
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("seeded workspace bench-%s with %lld posts in %.1fs\n", FLAGS_bench_tag.c_str(),
              static_cast<long long>(messages), s);
  return 0;
}

int Init(const std::string& dir) {
  uint32_t n = FLAGS_shards > 0 ? static_cast<uint32_t>(FLAGS_shards)
                                : std::max(1u, std::thread::hardware_concurrency());
  Status st = persist::InitDataDir(dir, n);
  if (!st.ok()) return Die(st.error());
  std::printf("initialised %s with %u shard%s\n", dir.c_str(), n, n == 1 ? "" : "s");
  return FLAGS_seed ? Seed(dir) : 0;
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Replays every shard's log (read-only use) and prints the audit trail it derives.
int Audit(const std::string& dir) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  Seeder seeder;
  if (Status opened = seeder.Open(dir, info->shard_count); !opened.ok()) return Die(opened.error());
  std::vector<AuditEntry> entries;
  for (ShardId k = 0; k < seeder.count(); ++k) {
    for (const AuditEntry& e : seeder.state(k).audit()) {
      if (FLAGS_workspace == 0 || e.workspace_id == FLAGS_workspace) entries.push_back(e);
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const AuditEntry& a, const AuditEntry& b) { return a.at < b.at; });
  for (const AuditEntry& e : entries) {
    std::printf(
        "{\"at_ms\":%lld,\"kind\":\"%s\",\"user_id\":%llu,\"actor_id\":%llu,"
        "\"workspace_id\":%llu,\"address\":%s,\"detail\":%s}\n",
        static_cast<long long>(e.at), std::string(AuditKindName(e.kind)).c_str(),
        static_cast<unsigned long long>(e.user_id), static_cast<unsigned long long>(e.actor_id),
        static_cast<unsigned long long>(e.workspace_id), JsonString(e.address).c_str(),
        JsonString(e.detail).c_str());
  }
  return 0;
}

// Empties each shard's search index and indexes its whole log again, shard by shard.
int Reindex(const std::string& dir) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  for (ShardId k = 0; k < info->shard_count; ++k) {
    persist::LmdbOptions options;
    options.read_only = true;
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(dir, k), options);
    if (!store.ok()) return Die(store.error());
    search::IndexerOptions rebuild;
    rebuild.rebuild = true;
    search::ShardIndexer indexer(search::IndexDir(dir, k), store->get(), rebuild);
    auto start = std::chrono::steady_clock::now();
    if (Status opened = indexer.Open(); !opened.ok()) return Die(opened.error());
    if (Status done = indexer.CatchUp(); !done.ok()) return Die(done.error());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("shard %u: %llu log records, %llu documents, %.1f s\n", k,
                static_cast<unsigned long long>(indexer.indexed_lsn()),
                static_cast<unsigned long long>(indexer.documents()), s);
  }
  return 0;
}

// Replays each shard's whole log (existing snapshots are not trusted here) and stores a
// snapshot of the state at its last LSN, keeping the newest two, as parleyd does.
int Snapshot(const std::string& dir) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  // Two writers of one environment must not overlap: parleyd's committer and this.
  Result<persist::DataDirLock> lock = persist::LockDataDir(dir);
  if (!lock.ok()) return Die(lock.error());
  for (ShardId k = 0; k < info->shard_count; ++k) {
    auto start = std::chrono::steady_clock::now();
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(dir, k), {});
    if (!store.ok()) return Die(store.error());
    auto state = std::make_unique<ShardState>(k, info->shard_count);
    Event event;
    Status replayed = (*store)->Replay(1, [&](Lsn lsn, std::string_view bytes) -> Status {
      if (Status decoded = persist::DecodeEventInto(bytes, event); !decoded.ok()) {
        Error e = decoded.error();
        e.details = "shard " + std::to_string(k) + " lsn " + std::to_string(lsn) + ": " + e.details;
        return e;
      }
      state->Apply(std::move(event));
      return OkStatus();
    });
    if (!replayed.ok()) return Die(replayed.error());
    const Lsn lsn = state->version();
    if (lsn == 0) {
      std::printf("shard %u: empty log, no snapshot\n", k);
      continue;
    }
    std::string bytes = persist::EncodeSnapshot(*state, lsn, 0);
    const size_t size = bytes.size();
    state.reset();
    if (Status stored = persist::StoreSnapshot(**store, std::move(bytes), 2); !stored.ok()) {
      return Die(stored.error());
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("shard %u: snapshot at lsn %llu, %zu bytes, %.1f s\n", k,
                static_cast<unsigned long long>(lsn), size, s);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc != 2 || FLAGS_data_dir.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "init") return Init(FLAGS_data_dir);
  if (cmd == "audit") return Audit(FLAGS_data_dir);
  if (cmd == "reindex") return Reindex(FLAGS_data_dir);
  if (cmd == "snapshot") return Snapshot(FLAGS_data_dir);
  if (cmd == "seed") {
    return FLAGS_messages > 0 ? SeedBench(FLAGS_data_dir, FLAGS_messages) : Seed(FLAGS_data_dir);
  }
  std::fputs(kUsage, stderr);
  return 2;
}
