// LogStore: one shard's durable, append-only event log, keyed by LSN (1, 2, 3, ... no gaps).
// Implementations: LmdbLogStore (persist/lmdb_store.h) and MemoryLogStore (tests). A store is used
// by one thread at a time: the shard thread replays it before serving, then only the shard's
// GroupCommitter thread appends.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ids.h"

namespace parley::persist {

struct LogRecord {
  Lsn lsn = 0;
  std::string bytes;  // an encoded event (persist/codec.h)
};

class LogStore {
 public:
  virtual ~LogStore() = default;

  // Appends the records in one transaction. Durable on return if durable_on_commit(); otherwise
  // once the next AppendBatch or Sync() returns. REQUIRES: records[0].lsn == last_lsn() + 1 and
  // LSNs contiguous. On error nothing is appended.
  virtual Status AppendBatch(const std::vector<LogRecord>& records) = 0;

  // False for a store that defers part of a commit's flush to the next one (LmdbLogStore under
  // Durability::kSync: one disk flush per commit instead of two); its writer must call Sync()
  // before treating the last commit as durable.
  virtual bool durable_on_commit() const { return true; }
  // Makes every commit so far durable.
  virtual Status Sync() { return OkStatus(); }

  // The highest LSN appended, 0 for an empty log.
  virtual Lsn last_lsn() const = 0;

  // Calls fn for every record with lsn >= from, in LSN order; stops at and returns fn's first
  // error. A gap in LSNs is reported as kInternal ("lsn gap").
  virtual Status Replay(Lsn from, const std::function<Status(Lsn, std::string_view)>& fn) = 0;

  // Calls fn with the record at `lsn`; kNotFound if the log does not hold it.
  virtual Status ReadRecord(Lsn lsn, const std::function<Status(std::string_view)>& fn);

  // Snapshots kept beside the log (persist/snapshot.h), by the LSN they were taken at. The
  // defaults are a store without snapshots: none listed, and PutSnapshot refused.
  // Stores `bytes` as the snapshot at `lsn`, then deletes all but the newest `keep`.
  virtual Status PutSnapshot(Lsn lsn, std::string_view bytes, size_t keep);
  // The LSNs of the stored snapshots, newest first.
  virtual Result<std::vector<Lsn>> SnapshotLsns();
  // Calls fn with the snapshot at `lsn` (the view is valid only during the call); kNotFound if
  // there is none.
  virtual Status ReadSnapshot(Lsn lsn, const std::function<Status(std::string_view)>& fn);
};

// OK if `records` continue a log whose highest LSN is `last_lsn`, with no gaps; otherwise
// kInternal "non-contiguous lsn". Every AppendBatch runs it before writing anything.
Status CheckContiguous(Lsn last_lsn, const std::vector<LogRecord>& records);

class MemoryLogStore : public LogStore {
 public:
  Status AppendBatch(const std::vector<LogRecord>& records) override;
  Lsn last_lsn() const override { return records_.empty() ? 0 : records_.back().lsn; }
  Status Replay(Lsn from, const std::function<Status(Lsn, std::string_view)>& fn) override;
  Status ReadRecord(Lsn lsn, const std::function<Status(std::string_view)>& fn) override;
  Status PutSnapshot(Lsn lsn, std::string_view bytes, size_t keep) override;
  Result<std::vector<Lsn>> SnapshotLsns() override;
  Status ReadSnapshot(Lsn lsn, const std::function<Status(std::string_view)>& fn) override;

 private:
  std::vector<LogRecord> records_;
  std::map<Lsn, std::string> snapshots_;
};

}  // namespace parley::persist
