// LmdbLogStore: LogStore over one LMDB environment (a shard's directory DATA/shard-K). Named
// databases: `log` (8-byte big-endian LSN -> encoded event, appended with MDB_APPEND) and `meta`
// (format_version, shard_count, shard_index). The only file in the tree that includes lmdb.h.
#pragma once

#include <memory>
#include <string>

#include "persist/log_store.h"

namespace parley::persist {

enum class Durability {
  kSync,   // every commit fsyncs data and meta pages: an acknowledged write survives power loss
  kAsync,  // MDB_NOMETASYNC: survives a process crash; a power loss may undo the last commit
};

struct LmdbOptions {
  Durability durability = Durability::kSync;
  size_t map_size_bytes = size_t{64} << 30;  // sparse; the log can grow to this
  bool read_only = false;  // for offline tools
};

class LmdbLogStore : public LogStore {
 public:
  // Opens an existing environment created by InitDataDir (persist/data_dir.h). Runs
  // mdb_reader_check to clear stale readers.
  static Result<std::unique_ptr<LmdbLogStore>> Open(const std::string& dir,
                                                    const LmdbOptions& options);
  ~LmdbLogStore() override;

  Status AppendBatch(const std::vector<LogRecord>& records) override;
  Lsn last_lsn() const override { return last_lsn_; }
  Status Replay(Lsn from, const std::function<Status(Lsn, std::string_view)>& fn) override;

  // Reads a `meta` value ("" if absent).
  Result<std::string> ReadMeta(const std::string& key);

 private:
  struct Env;
  explicit LmdbLogStore(std::unique_ptr<Env> env);
  std::unique_ptr<Env> env_;
  Lsn last_lsn_ = 0;
};

}  // namespace parley::persist
