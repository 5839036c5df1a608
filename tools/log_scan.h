// Reading a data directory's logs from outside parleyd: parley-log and parley-admin verify.
// Everything here is read-only and safe while parleyd serves the same directory: each shard's
// LMDB environment is opened read-only and read in short transactions (LmdbLogStore::Scan), so
// a long read never holds pages the server wants to reuse.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ids.h"

namespace parley::tools {

// Calls fn for each record of shard `shard` with lsn >= from, in LSN order, until the end of the
// log as it was when each chunk was read, or until fn returns false. Returns the LSN after the
// last record seen (where a follower resumes).
Result<Lsn> ScanShard(const std::string& data_dir, uint32_t shard, Lsn from,
                      const std::function<bool(Lsn, std::string_view)>& fn);

// What `verify` found in one shard.
struct ShardCheck {
  uint32_t shard = 0;
  uint64_t events = 0;
  Lsn first_lsn = 0;  // 0: empty log
  Lsn last_lsn = 0;
  std::string problem;  // empty: every check passed
};

// Reads the whole log of one shard and checks that its LSNs run 1, 2, 3... without gaps, that
// every record decodes with this build's codec, and that applying them all in order (what
// parleyd's replay does) completes. Stops at the first problem, naming its LSN.
ShardCheck VerifyShard(const std::string& data_dir, uint32_t shard, uint32_t shard_count);

// Verifies the directory (CheckDataDir: format, shard count, secret key) and then every shard.
// Prints one line per shard to `out` and returns true if everything passed.
bool VerifyDataDir(const std::string& data_dir, std::FILE* out);

// "2026-12-04T18:20:01.234Z" for a time in milliseconds since the epoch (UTC).
std::string FormatTime(TimeMs at);
// Parses milliseconds since the epoch ("1764872401234") or a UTC date and time
// ("2026-12-04", "2026-12-04T18:20", "2026-12-04T18:20:01", "2026-12-04T18:20:01.234Z").
Result<TimeMs> ParseTime(std::string_view text);

}  // namespace parley::tools
