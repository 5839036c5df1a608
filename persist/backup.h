// Backup and restore of a data directory (persist/data_dir.h), for `parley-admin backup` and
// `restore`. Layout of a backup directory B:
//
//   B/shard-K/data.mdb   a compacted LMDB copy of shard K (LmdbLogStore::CopyTo)
//   B/secret.key         the data directory's key, mode 0600
//   B/manifest.json      written last, atomically (rename): a backup without it is incomplete
//
// The search index (DATA/search) is derived from the logs and is not copied; parleyd rebuilds it
// at start. Shards are copied one after another, each at one instant of its own: the backup is
// the state of each shard's log at the moment its copy began, not of the whole directory at one
// instant (docs/operations.md, "Backup and restore", says what that means).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ids.h"

namespace parley::persist {

// The manifest's own layout; a restore refuses a manifest_version it does not know.
inline constexpr uint32_t kManifestVersion = 1;
inline constexpr char kManifestFile[] = "manifest.json";

// What a backup holds of one shard: its log up to last_lsn, whose record there is
// last_record_bytes long with that SHA-256 (lowercase hex; empty for an empty log).
struct ShardBackup {
  uint32_t shard = 0;
  Lsn last_lsn = 0;
  uint64_t last_record_bytes = 0;
  std::string last_record_sha256;
  uint64_t file_bytes = 0;  // of the copy's data.mdb
};

struct BackupManifest {
  uint32_t manifest_version = kManifestVersion;
  uint32_t format_version = 0;  // the data directory's (persist/data_dir.h kFormatVersion)
  uint32_t shard_count = 0;
  int64_t started_at_ms = 0;  // Unix epoch milliseconds
  int64_t finished_at_ms = 0;
  std::string parley_version;  // of the parley-admin that wrote it
  std::vector<ShardBackup> shards;
};

// Copies the data directory `data_dir` to a new directory `to` (absent or empty; any other is
// kAlreadyExists). Opens each shard read-only, so it works while parleyd serves (and while it
// does not). `progress` is told about each shard as it is done. Blocks for as long as the copy
// takes. On failure `to` is left without a manifest, which is how restore recognises it.
Result<BackupManifest> Backup(const std::string& data_dir, const std::string& to,
                              const std::function<void(const ShardBackup&)>& progress = {});

// Reads and checks `from`/manifest.json: present (kUnavailable "incomplete" otherwise), valid
// JSON of the known manifest_version, a format version this build knows, one entry per shard
// in order. kInvalidArgument for what is malformed or unknown.
Result<BackupManifest> ReadManifest(const std::string& from);

// Restores the backup `from` into the new data directory `data_dir` (absent or empty, else
// kAlreadyExists): checks the manifest, copies into a sibling temporary directory, checks that
// each restored shard's last LSN and last record match the manifest, and renames it into place,
// so `data_dir` appears only once it is complete. If the backup is of the current format
// version the result must also pass CheckDataDir. parleyd must not be running on `data_dir`.
Result<BackupManifest> Restore(const std::string& from, const std::string& data_dir);

}  // namespace parley::persist
