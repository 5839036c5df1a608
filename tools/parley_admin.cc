// parley-admin: provisioning and operations on a data directory. `init` creates one; `seed`
// writes a demo or a generated benchmark workspace into one, offline (tools/admin_seed.h);
// `audit` prints the security events; `verify` checks every log (tools/log_scan.h); `reindex`
// rebuilds the search indexes (search/) from the logs, offline; `snapshot` replays each shard's
// log and stores a snapshot of its state (persist/snapshot.h), offline; `backup` copies a data
// directory while parleyd serves it and `restore` makes a new one from such a copy
// (persist/backup.h); `migrate` upgrades an older format in place (persist/migrate.h).
#include <gflags/gflags.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "persist/backup.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/migrate.h"
#include "persist/snapshot.h"
#include "search/indexer.h"
#include "tools/admin_seed.h"
#include "tools/log_scan.h"

DEFINE_string(data_dir, "", "the data directory");
DEFINE_int32(shards, 0, "init: shard count, fixed for the directory's life (0 = cores)");
DEFINE_bool(seed, false, "init: also write the demo workspace");
DEFINE_string(demo_password, "parley-demo", "seed: password of the demo users");
DEFINE_int64(messages, 0, "seed: write a generated workspace with this many messages instead");
DEFINE_int64(users, 1, "seed (generated): users p0.T@bench.test .. p(U-1).T@bench.test");
DEFINE_int64(channels, 1, "seed (generated): channels, #general included");
DEFINE_int32(replies_pct, 10, "seed (generated): percent of the messages that are replies");
DEFINE_int32(reactions_pct, 20, "seed (generated): percent chance of a reaction per message");
DEFINE_uint64(rng_seed, 1, "seed (generated): the same seed writes the same workspace");
DEFINE_string(bench_tag, "replay", "seed (generated): names the accounts and the workspace");
DEFINE_int32(bytes, 100, "seed (generated): size of each message");
DEFINE_uint64(workspace, 0, "audit: only this workspace's events (0: all)");
DEFINE_string(to, "", "backup: the new backup directory; migrate: the format version to reach");
DEFINE_string(from, "", "restore: the backup directory");
DEFINE_bool(dry_run, false, "migrate: only say what would be done");

namespace {

using namespace parley;

constexpr const char* kUsage = R"(usage: parley-admin COMMAND --data_dir DIR [flags]
  init --data_dir DIR [--shards N] [--seed]   create a data directory
  seed --data_dir DIR                         add the demo workspace: alice, bob and carol
                                              (--demo_password), #general, #engineering
                                              with a thread, reactions and a pin, a DM
  seed --data_dir DIR --messages N [--users U] [--channels C] [--replies_pct R]
       [--reactions_pct P] [--rng_seed S] [--bench_tag T] [--bytes B]
                                              add the generated workspace bench-T: users
                                              p0..p(U-1).T@bench.test (password
                                              bench-password-1), C channels, N messages of
                                              which R% replies, reactions mixed in; the same
                                              S gives the same workspace (parleyd stopped)
  audit --data_dir DIR [--workspace W]        the security events in the log, oldest first,
                                              as JSON lines (W: that workspace's only)
  verify --data_dir DIR                       check the directory and every shard's log: format,
                                              LSN continuity, every record decodes and replays
                                              (exit 1 naming the first problem; safe while
                                              parleyd runs)
  reindex --data_dir DIR                      rebuild every shard's search index from its log
                                              (parleyd stopped; it rebuilds a missing or
                                              stale one by itself at start)
  snapshot --data_dir DIR                     replay every shard's log and store a snapshot of
                                              its state, so parleyd starts from it (parleyd
                                              stopped; it also writes them while serving)
  backup --data_dir DIR --to B                copy every shard (consistent per shard, while
                                              parleyd serves or not), the secret key and a
                                              manifest (written last) into the new dir B
  restore --from B --data_dir NEW             make the new data directory NEW from backup B,
                                              checking it against B's manifest
  migrate --data_dir DIR [--to V] [--dry_run] upgrade DIR to format version V (default: this
                                              release's) step by step (parleyd stopped; keep
                                              a copy first); --dry_run only says what it
                                              would do
)";

int Die(const Error& e) {
  std::fprintf(stderr, "parley-admin: %s%s%s\n", e.message.c_str(), e.details.empty() ? "" : ": ",
               e.details.c_str());
  return 1;
}

int Init(const std::string& dir) {
  uint32_t n = FLAGS_shards > 0 ? static_cast<uint32_t>(FLAGS_shards)
                                : std::max(1u, std::thread::hardware_concurrency());
  Status st = persist::InitDataDir(dir, n);
  if (!st.ok()) return Die(st.error());
  std::printf("initialised %s with %u shard%s\n", dir.c_str(), n, n == 1 ? "" : "s");
  return FLAGS_seed ? admin::SeedDemo(dir, FLAGS_demo_password) : 0;
}

// Replays every shard's log (read-only use) and prints the audit trail it derives.
int Audit(const std::string& dir) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  admin::Seeder seeder;
  if (Status opened = seeder.Open(dir, info->shard_count, /*writable=*/false); !opened.ok()) {
    return Die(opened.error());
  }
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

int Seed(const std::string& dir) {
  if (FLAGS_messages == 0 && FLAGS_users == 1 && FLAGS_channels == 1) {
    return admin::SeedDemo(dir, FLAGS_demo_password);
  }
  admin::GeneratedOptions o;
  o.tag = FLAGS_bench_tag;
  o.users = FLAGS_users;
  o.channels = FLAGS_channels;
  o.messages = FLAGS_messages;
  o.replies_pct = FLAGS_replies_pct;
  o.reactions_pct = FLAGS_reactions_pct;
  o.bytes = FLAGS_bytes;
  o.rng_seed = FLAGS_rng_seed;
  return admin::SeedGenerated(dir, o);
}

int Backup(const std::string& dir) {
  if (FLAGS_to.empty()) return Die(MakeError(ErrorCode::kInvalidArgument, "backup needs --to B"));
  auto t0 = std::chrono::steady_clock::now();
  Result<persist::BackupManifest> m =
      persist::Backup(dir, FLAGS_to, [](const persist::ShardBackup& s) {
        std::printf("shard %u: up to LSN %llu, %llu bytes\n", s.shard,
                    static_cast<unsigned long long>(s.last_lsn),
                    static_cast<unsigned long long>(s.file_bytes));
      });
  if (!m.ok()) return Die(m.error());
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("backed up %s (%u shards, format version %u) to %s in %.1f s\n", dir.c_str(),
              m->shard_count, m->format_version, FLAGS_to.c_str(), s);
  return 0;
}

int Restore(const std::string& dir) {
  if (FLAGS_from.empty()) {
    return Die(MakeError(ErrorCode::kInvalidArgument, "restore needs --from B"));
  }
  Result<persist::BackupManifest> m = persist::Restore(FLAGS_from, dir);
  if (!m.ok()) return Die(m.error());
  for (const persist::ShardBackup& s : m->shards) {
    std::printf("shard %u: up to LSN %llu, as the manifest says\n", s.shard,
                static_cast<unsigned long long>(s.last_lsn));
  }
  std::printf("restored %s into %s (%u shards, format version %u)\n", FLAGS_from.c_str(),
              dir.c_str(), m->shard_count, m->format_version);
  if (m->format_version != persist::kFormatVersion) {
    std::printf("it is of an older format: upgrade it with parley-admin migrate --data_dir %s\n",
                dir.c_str());
  }
  return 0;
}

int Migrate(const std::string& dir) {
  persist::MigrationOptions options;
  options.dry_run = FLAGS_dry_run;
  if (!FLAGS_to.empty()) {
    const char* end = FLAGS_to.data() + FLAGS_to.size();
    auto [ptr, ec] = std::from_chars(FLAGS_to.data(), end, options.to);
    if (ec != std::errc() || ptr != end || options.to == 0) {
      return Die(MakeError(ErrorCode::kInvalidArgument,
                           "migrate --to takes a format version (1, 2, ...), not " + FLAGS_to));
    }
  }
  auto say = [&](const persist::MigrationAction& a) {
    std::printf("%sshard %u: format version %u -> %u: %s\n", FLAGS_dry_run ? "would upgrade " : "",
                a.shard, a.from, a.from + 1, a.summary.c_str());
  };
  auto actions = persist::Migrate(dir, options, persist::MigrationSteps(), say);
  if (!actions.ok()) return Die(actions.error());
  if (FLAGS_dry_run) std::for_each(actions->begin(), actions->end(), say);
  if (actions->empty()) {
    std::printf("%s is already at the requested format version; nothing to do\n", dir.c_str());
  } else if (!FLAGS_dry_run) {
    std::printf("migrated %s: %zu step%s\n", dir.c_str(), actions->size(),
                actions->size() == 1 ? "" : "s");
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
  if (cmd == "verify") return tools::VerifyDataDir(FLAGS_data_dir, stdout) ? 0 : 1;
  if (cmd == "snapshot") return Snapshot(FLAGS_data_dir);
  if (cmd == "seed") return Seed(FLAGS_data_dir);
  if (cmd == "backup") return Backup(FLAGS_data_dir);
  if (cmd == "restore") return Restore(FLAGS_data_dir);
  if (cmd == "migrate") return Migrate(FLAGS_data_dir);
  std::fputs(kUsage, stderr);
  return 2;
}
