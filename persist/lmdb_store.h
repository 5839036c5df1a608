// LmdbLogStore: LogStore over one LMDB environment (a shard's directory DATA/shard-K). Named
// databases: `log` (8-byte big-endian LSN -> encoded event, appended with MDB_APPEND) and `meta`
// (format_version, shard_count, shard_index). The only file in the tree that includes lmdb.h,
// besides the test-only torn_write.cc.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "persist/log_store.h"

namespace parley::persist {

enum class Durability {
  // An acknowledged write survives power loss. LMDB's own sync flushes twice per commit (data,
  // then the meta page that points at it); here the env runs with MDB_NOMETASYNC, so a commit
  // flushes its data and leaves its meta page to the next commit's flush or to Sync(). Every
  // meta page on disk still points only at flushed data; the committer acknowledges a commit
  // once a later flush covered it: one flush per commit under load, two for a lone commit.
  kSync,
  // MDB_NOMETASYNC, acknowledged at commit: survives a process crash; a power loss may undo the
  // last commit.
  kAsync,
};

struct LmdbOptions {
  Durability durability = Durability::kSync;
  size_t map_size_bytes = size_t{64} << 30;  // sparse; the log can grow to this
  bool read_only = false;                    // for offline tools
  // With read_only: no lock file (MDB_NOLOCK), for a copy no other process has open (a backup
  // being verified), which must stay as the copy wrote it.
  bool no_lock = false;
};

class LmdbLogStore : public LogStore {
 public:
  // Opens an existing environment created by InitDataDir (persist/data_dir.h). Runs
  // mdb_reader_check to clear stale readers. Never creates storage: kUnavailable (naming
  // `parley-admin init`) if `dir` holds no environment with `log` and `meta` databases. kInternal
  // if this process already has the environment open (LMDB forbids opening one twice).
  static Result<std::unique_ptr<LmdbLogStore>> Open(const std::string& dir,
                                                    const LmdbOptions& options);

  // Provisioning, for InitDataDir and tests: creates `dir` (one level, mode 0700) holding a new
  // environment with empty `log` and `meta` databases, writes `meta` in one transaction, syncs
  // and closes it. kAlreadyExists if `dir` already holds an environment.
  static Status Create(const std::string& dir, const std::map<std::string, std::string>& meta,
                       size_t map_size_bytes = LmdbOptions{}.map_size_bytes);

  ~LmdbLogStore() override;

  Status AppendBatch(const std::vector<LogRecord>& records) override;
  bool durable_on_commit() const override { return durability_ != Durability::kSync; }
  // mdb_env_sync(force): one flush covering every commit's meta page.
  Status Sync() override;
  Lsn last_lsn() const override { return last_lsn_; }
  // The string_view handed to fn points into the memory map and is valid only during the call.
  // Holds one read transaction for the whole replay (fine at startup, not on a live server with a
  // busy writer: it stops page reuse).
  Status Replay(Lsn from, const std::function<Status(Lsn, std::string_view)>& fn) override;
  // Calls fn for at most max_records records with lsn >= from, in LSN order, in one short read
  // transaction of its own. Unlike the rest of the store, safe to call from another thread
  // (one at a time) while the committer appends: a search indexer follows the log this way.
  // It sees every committed transaction, which under kSync may include the newest commit
  // before its flush.
  Status Scan(Lsn from, size_t max_records,
              const std::function<Status(Lsn, std::string_view)>& fn) const;

  Status ReadRecord(Lsn lsn, const std::function<Status(std::string_view)>& fn) override;
  // Snapshots live in the `snap` database (8-byte big-endian LSN -> snapshot bytes), created by
  // the first PutSnapshot: environments from before snapshots have none. PutSnapshot writes in
  // a transaction of its own, synced before return; the caller must be the store's only writer
  // (the GroupCommitter's thread while serving). The view ReadSnapshot hands to fn points into
  // the memory map.
  Status PutSnapshot(Lsn lsn, std::string_view bytes, size_t keep) override;
  Result<std::vector<Lsn>> SnapshotLsns() override;
  Status ReadSnapshot(Lsn lsn, const std::function<Status(std::string_view)>& fn) override;

  // Writes a consistent, compacted copy of the environment (one read transaction's view) to
  // `to_dir`/data.mdb and flushes it to disk before returning. `to_dir` must exist and hold no
  // data.mdb (kAlreadyExists). Safe while another process appends: it is a reader like any
  // other, so the writer never waits; but while it runs the writer cannot reuse pages freed
  // after it began, so a long copy under load grows the source file.
  Status CopyTo(const std::string& to_dir) const;

  // True if a process other than this one has the environment in `dir` open (LMDB holds a
  // shared lock on its lock file while an environment is open). Call it before this process
  // opens `dir`: it opens and closes the lock file, and closing any descriptor of a file drops
  // every POSIX lock this process holds on it. False if `dir` has no lock file.
  static Result<bool> OpenElsewhere(const std::string& dir);

  // Reads a `meta` value ("" if absent).
  Result<std::string> ReadMeta(const std::string& key);
  // Writes a `meta` value in its own transaction, synced before return. kInternal on a
  // read-only store.
  Status WriteMeta(const std::string& key, const std::string& value);
  // Writes several `meta` values in one transaction (all or none), synced before return.
  Status WriteMeta(const std::map<std::string, std::string>& values);

 private:
  struct Env;
  explicit LmdbLogStore(std::unique_ptr<Env> env);
  std::unique_ptr<Env> env_;
  Durability durability_ = Durability::kSync;
  Lsn last_lsn_ = 0;
};

}  // namespace parley::persist
