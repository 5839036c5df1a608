// The data directory: provisioning is separate from serving. `parley-admin init` creates it;
// parleyd only checks it and refuses to start (naming the init command) when it is missing,
// uninitialised, of another format version or of another shard count.
//
// Layout: DATA/shard-K/ (one LMDB environment per shard, K = 0..N-1) and DATA/secret.key (32
// random bytes that sign session tokens, mode 0600).
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace parley::persist {

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kMaxShards = 64;
inline constexpr size_t kSecretKeyBytes = 32;

struct DataDirInfo {
  uint32_t format_version = 0;
  uint32_t shard_count = 0;
};

std::string ShardDir(const std::string& data_dir, uint32_t shard);

// Creates a new data directory with `shard_count` (1..kMaxShards) shard environments and a fresh
// secret key. kAlreadyExists if DATA already holds a parley data directory; kInvalidArgument if it
// exists and is not empty.
Status InitDataDir(const std::string& data_dir, uint32_t shard_count);

// Checks every shard environment's meta. expected_shards == 0 accepts the recorded count. Errors
// are for operators: they say what is wrong and the exact `parley-admin init` command to run.
// kUnavailable when something is missing (the directory, its initialisation, a shard, the secret
// key); kInvalidArgument when what is there does not match (format version, shard count, shard
// index, key size or mode). Opens each environment read-only and closes it before returning;
// kInternal if this process already has one of them open.
Result<DataDirInfo> CheckDataDir(const std::string& data_dir, uint32_t expected_shards);

// An exclusive flock on DATA/lock, held by a running parleyd and by offline tools that write
// beside the log (parley-admin snapshot), so that such a tool refuses while parleyd runs. The
// kernel drops it when the holder exits, however it exits. Released on destruction.
class DataDirLock {
 public:
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  ~DataDirLock();

 private:
  friend Result<DataDirLock> LockDataDir(const std::string& data_dir);
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};
// kUnavailable ("in use by another process (a running parleyd?)") if another holder has it.
Result<DataDirLock> LockDataDir(const std::string& data_dir);

// Flushes `dir`'s entries (files created or renamed in it) to disk.
Status SyncDir(const std::string& dir);

Result<std::string> ReadSecretKey(const std::string& data_dir);
// The same checks for a key file named by --signing_key_file: 32 bytes, mode 0600.
Result<std::string> ReadKeyFile(const std::string& path);

}  // namespace parley::persist
