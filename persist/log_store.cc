#include "persist/log_store.h"

#include <algorithm>

namespace parley::persist {

Status CheckContiguous(Lsn last_lsn, const std::vector<LogRecord>& records) {
  Lsn expected = last_lsn + 1;
  for (const LogRecord& record : records) {
    if (record.lsn != expected) {
      return MakeError(
          ErrorCode::kInternal, "non-contiguous lsn",
          "expected " + std::to_string(expected) + ", got " + std::to_string(record.lsn));
    }
    ++expected;
  }
  return OkStatus();
}

Status MemoryLogStore::AppendBatch(const std::vector<LogRecord>& records) {
  Status contiguous = CheckContiguous(last_lsn(), records);
  if (!contiguous.ok()) return contiguous;
  records_.insert(records_.end(), records.begin(), records.end());
  return OkStatus();
}

Status MemoryLogStore::Replay(Lsn from, const std::function<Status(Lsn, std::string_view)>& fn) {
  // records_ holds LSNs 1..n contiguously (AppendBatch enforces it), so LSN k is at index k-1.
  const Lsn first = std::max<Lsn>(from, 1);
  for (size_t i = first - 1; i < records_.size(); ++i) {
    Status status = fn(records_[i].lsn, records_[i].bytes);
    if (!status.ok()) return status;
  }
  return OkStatus();
}

Status LogStore::ReadRecord(Lsn, const std::function<Status(std::string_view)>&) {
  return MakeError(ErrorCode::kInternal, "this log store cannot read single records");
}

Status LogStore::PutSnapshot(Lsn, std::string_view, size_t) {
  return MakeError(ErrorCode::kInternal, "this log store keeps no snapshots");
}

Result<std::vector<Lsn>> LogStore::SnapshotLsns() { return std::vector<Lsn>{}; }

Status LogStore::ReadSnapshot(Lsn lsn, const std::function<Status(std::string_view)>&) {
  return MakeError(ErrorCode::kNotFound, "no snapshot at lsn " + std::to_string(lsn));
}

Status MemoryLogStore::ReadRecord(Lsn lsn, const std::function<Status(std::string_view)>& fn) {
  if (lsn == 0 || lsn > records_.size()) {
    return MakeError(ErrorCode::kNotFound, "no log record at lsn " + std::to_string(lsn));
  }
  return fn(records_[lsn - 1].bytes);
}

Status MemoryLogStore::PutSnapshot(Lsn lsn, std::string_view bytes, size_t keep) {
  snapshots_[lsn] = std::string(bytes);
  while (snapshots_.size() > std::max<size_t>(keep, 1)) snapshots_.erase(snapshots_.begin());
  return OkStatus();
}

Result<std::vector<Lsn>> MemoryLogStore::SnapshotLsns() {
  std::vector<Lsn> lsns;
  for (auto it = snapshots_.rbegin(); it != snapshots_.rend(); ++it) lsns.push_back(it->first);
  return lsns;
}

Status MemoryLogStore::ReadSnapshot(Lsn lsn, const std::function<Status(std::string_view)>& fn) {
  auto it = snapshots_.find(lsn);
  if (it == snapshots_.end()) return LogStore::ReadSnapshot(lsn, fn);
  return fn(it->second);
}

}  // namespace parley::persist
