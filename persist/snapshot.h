// Snapshots: a shard's whole ShardState at an LSN, as bytes, so that start-up loads it and
// replays only the log after it (docs/operations.md, "Snapshots and recovery"). The members
// written are listed in core/snapshot_fields.h; this file owns the byte format
// (docs/log_format.md, "The `snap` database"). Pure functions, any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/ids.h"
#include "core/state.h"
#include "persist/log_store.h"

namespace parley::persist {

// Bumped whenever the byte format or a member list in core/snapshot_fields.h changes. A
// snapshot of another version is not read (the log is replayed instead), so bumping it never
// loses data: it costs one full replay.
inline constexpr uint32_t kSnapshotFormatVersion = 1;
inline constexpr size_t kSnapshotHeaderBytes = 40;

struct SnapshotHeader {
  uint32_t format_version = 0;
  ShardId shard = 0;
  uint32_t shard_count = 0;
  Lsn lsn = 0;               // the state is the log's first `lsn` records applied
  uint64_t record_hash = 0;  // RecordHash of the record at `lsn` (0 when lsn is 0)
};

// FNV-1a 64 of a log record's bytes: ties a snapshot to the log it was taken from, so that a
// directory whose log lost its tail (an old backup) never loads a snapshot ahead of it.
uint64_t RecordHash(std::string_view record);

// The state as bytes: the header, then every member (core/snapshot_fields.h); unordered
// containers are written in key order, so the bytes are a function of the state's value.
// REQUIRES: state.version() == lsn (one event per record).
std::string EncodeSnapshot(const ShardState& state, Lsn lsn, uint64_t record_hash);

// kInternal (details say why) unless `bytes` starts with a header of kSnapshotFormatVersion.
Result<SnapshotHeader> DecodeSnapshotHeader(std::string_view bytes);

// Fills `state`, which must be freshly constructed (nothing applied), for the shard and shard
// count the header names; its channels' messages go to the state's message memory. kInternal
// with details for bytes this build does not understand: another format version, another shard,
// truncated, trailing or malformed data. Never crashes on bad bytes, and allocates in proportion
// to their size. On error `state` is unspecified: discard it.
Status DecodeSnapshot(std::string_view bytes, ShardState& state);

// Finds the record at the snapshot's LSN in `store`, sets the header's record hash from it and
// stores the snapshot, keeping the newest `keep` (at least 1). kNotFound if the log does not
// reach that LSN. On the thread that owns `store`.
Status StoreSnapshot(LogStore& store, std::string encoded, size_t keep);

// What LoadNewestSnapshot did.
struct SnapshotLoad {
  Lsn lsn = 0;              // 0: none was usable; `state` is untouched
  size_t skipped = 0;       // newer snapshots refused (another header, a record hash mismatch,
  std::string skip_reason;  // undecodable), with the newest one's reason
};

// Loads into `state` (freshly constructed) the newest snapshot in `store` whose header matches
// the state's shard and shard count and this build's format, and whose record hash matches the
// log's record at its LSN; older ones are tried in turn. A snapshot that fails to decode
// leaves `state` unusable, so `make_fresh` is called to reset it before the next attempt.
Result<SnapshotLoad> LoadNewestSnapshot(LogStore& store, ShardState& state,
                                        const std::function<void()>& make_fresh);

}  // namespace parley::persist
