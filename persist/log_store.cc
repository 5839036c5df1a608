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

}  // namespace parley::persist
