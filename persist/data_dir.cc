#include "persist/data_dir.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "persist/lmdb_store.h"

namespace parley::persist {
namespace {

namespace fs = std::filesystem;

constexpr char kSecretKeyFile[] = "/secret.key";
constexpr char kCreatedBy[] = "parley-admin init";

// The command an operator runs to provision `data_dir`. shard_count 0 means "unknown here".
std::string InitCommand(const std::string& data_dir, uint32_t shard_count) {
  return "parley-admin init --data_dir " + data_dir + " --shards " +
         (shard_count == 0 ? std::string("<count>") : std::to_string(shard_count));
}

// For a directory that exists and holds something: init refuses to reuse it.
std::string NewDirHint(uint32_t shard_count) {
  return "initialise a new directory with: " + InitCommand("<new dir>", shard_count);
}

std::string SecretKeyPath(const std::string& data_dir) { return data_dir + kSecretKeyFile; }

Error ErrnoError(ErrorCode code, const std::string& message) {
  return MakeError(code, message + ": " + std::strerror(errno), std::strerror(errno));
}

bool ParseU32(const std::string& text, uint32_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

Status WriteAll(int fd, const unsigned char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(ErrorCode::kInternal, "cannot write the secret key");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return OkStatus();
}

// O_EXCL: an existing key is never overwritten, since that would log out every session.
Status WriteSecretKey(const std::string& data_dir) {
  unsigned char key[kSecretKeyBytes];
  if (RAND_bytes(key, sizeof(key)) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot generate the secret key", "RAND_bytes failed");
  }
  const std::string path = SecretKeyPath(data_dir);
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(key, sizeof(key));
    return ErrnoError(ErrorCode::kInternal, "cannot create " + path);
  }
  Status status = WriteAll(fd, key, sizeof(key));
  OPENSSL_cleanse(key, sizeof(key));
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError(ErrorCode::kInternal, "fsync " + path);
  ::close(fd);
  return status;
}

// kAlreadyExists / kInvalidArgument unless `data_dir` is absent or an empty directory.
Status CheckInitTarget(const std::string& data_dir) {
  if (fs::exists(ShardDir(data_dir, 0))) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "data directory " + data_dir + " is already initialised");
  }
  std::error_code ec;
  const fs::file_status status = fs::status(data_dir, ec);
  if (status.type() == fs::file_type::not_found) return OkStatus();
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "cannot read " + data_dir, ec.message());
  if (!fs::is_directory(status)) {
    return MakeError(ErrorCode::kInvalidArgument, data_dir + " exists and is not a directory");
  }
  if (!fs::is_empty(data_dir, ec) || ec) {
    return MakeError(ErrorCode::kInvalidArgument,
                     data_dir + " exists and is not empty; initialise a new or empty directory");
  }
  return OkStatus();
}

struct ShardMeta {
  uint32_t format_version = 0;
  uint32_t shard_count = 0;
  uint32_t shard_index = 0;
};

// Opens shard-K read-only, reads its meta and closes it again before returning, so the check
// never holds an environment that parleyd is about to open.
Result<ShardMeta> ReadShardMeta(const std::string& data_dir, uint32_t shard, uint32_t hint_shards) {
  const std::string dir = ShardDir(data_dir, shard);
  const std::string fix = "; restore it from a backup, or " + NewDirHint(hint_shards);
  LmdbOptions options;
  options.read_only = true;
  auto store = LmdbLogStore::Open(dir, options);
  if (!store.ok()) {
    return MakeError(store.error().code,
                     "cannot open " + dir + " (" + store.error().message + ")" + fix,
                     store.error().details);
  }
  ShardMeta meta;
  for (auto [key, out] :
       {std::pair{"format_version", &meta.format_version},
        std::pair{"shard_count", &meta.shard_count}, std::pair{"shard_index", &meta.shard_index}}) {
    Result<std::string> text = (*store)->ReadMeta(key);
    if (!text.ok()) return MakeError(text.error().code, text.error().message + fix);
    if (!ParseU32(*text, out)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       dir + " has an invalid meta " + key + " \"" + *text + "\"" + fix, key);
    }
    // Another version's meta may have other keys: the caller reports the version instead.
    if (meta.format_version != kFormatVersion) break;
  }
  return meta;
}

// The message for a directory (or one shard of it) recorded at `version`, not kFormatVersion.
Error VersionError(const std::string& data_dir, const std::string& what, uint32_t version) {
  const std::string found = what + " is of format version " + std::to_string(version) +
                            "; this parleyd reads version " + std::to_string(kFormatVersion);
  if (version > kFormatVersion) {
    return MakeError(ErrorCode::kInvalidArgument,
                     found +
                         ". It was written by a newer parley: run that release (or restore "
                         "a backup taken before the upgrade)");
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   found +
                       ". Stop parleyd, keep a copy of the directory (cp -a), and upgrade it "
                       "with: parley-admin migrate --data_dir " +
                       data_dir);
}

// Every shard must agree with shard-0 and sit at its own index.
Status CheckShard(const std::string& data_dir, uint32_t shard, const ShardMeta& first) {
  const std::string dir = ShardDir(data_dir, shard);
  if (!fs::exists(dir)) {
    return MakeError(ErrorCode::kUnavailable, "data directory " + data_dir + " records " +
                                                  std::to_string(first.shard_count) +
                                                  " shards but shard-" + std::to_string(shard) +
                                                  " is missing; restore it from a backup, or " +
                                                  NewDirHint(first.shard_count));
  }
  Result<ShardMeta> meta =
      shard == 0 ? Result<ShardMeta>(first) : ReadShardMeta(data_dir, shard, first.shard_count);
  if (!meta.ok()) return meta.error();
  if (meta->format_version < first.format_version) {  // an interrupted migration
    return VersionError(data_dir, dir, meta->format_version);
  }
  if (meta->format_version != first.format_version || meta->shard_count != first.shard_count ||
      meta->shard_index != shard) {
    return MakeError(ErrorCode::kInvalidArgument,
                     dir + " records format version " + std::to_string(meta->format_version) +
                         ", shard_count " + std::to_string(meta->shard_count) +
                         " and shard_index " + std::to_string(meta->shard_index) + "; expected " +
                         std::to_string(first.format_version) + ", " +
                         std::to_string(first.shard_count) + " and " + std::to_string(shard) +
                         " (shard directories were mixed up or copied between data "
                         "directories); restore them from a backup, or " +
                         NewDirHint(first.shard_count));
  }
  return OkStatus();
}

Status CheckFirstShard(const std::string& data_dir, const ShardMeta& meta,
                       uint32_t expected_shards) {
  if (meta.format_version != kFormatVersion) {
    return VersionError(data_dir, "data directory " + data_dir, meta.format_version);
  }
  if (meta.shard_count < 1 || meta.shard_count > kMaxShards) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "data directory " + data_dir + " records an invalid shard count " +
                         std::to_string(meta.shard_count) + "; " + NewDirHint(expected_shards));
  }
  if (expected_shards != 0 && meta.shard_count != expected_shards) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "data directory " + data_dir + " has " + std::to_string(meta.shard_count) +
                         " shards but " + std::to_string(expected_shards) +
                         " were requested; the shard count is fixed at init. Run with " +
                         std::to_string(meta.shard_count) + " shards, or " +
                         NewDirHint(expected_shards));
  }
  return OkStatus();
}

// Before any shard is read: the directory exists and has been initialised.
Status CheckInitialised(const std::string& data_dir, uint32_t expected_shards) {
  std::error_code ec;
  const fs::file_status status = fs::status(data_dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return MakeError(ErrorCode::kUnavailable, "data directory " + data_dir +
                                                  " does not exist; create it with: " +
                                                  InitCommand(data_dir, expected_shards));
  }
  if (ec || !fs::is_directory(status)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     data_dir + " is not a readable directory; " + NewDirHint(expected_shards));
  }
  if (fs::exists(ShardDir(data_dir, 0))) return OkStatus();
  if (fs::is_empty(data_dir, ec)) {
    return MakeError(ErrorCode::kUnavailable, "data directory " + data_dir +
                                                  " is not initialised; initialise it with: " +
                                                  InitCommand(data_dir, expected_shards));
  }
  return MakeError(ErrorCode::kUnavailable,
                   "data directory " + data_dir +
                       " is not initialised (it has no shard-0) and holds other files; move them "
                       "away, then run: " +
                       InitCommand(data_dir, expected_shards));
}

}  // namespace

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(ErrorCode::kInternal, "cannot open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError(ErrorCode::kInternal, "fsync " + dir);
  return OkStatus();
}

std::string ShardDir(const std::string& data_dir, uint32_t shard) {
  return data_dir + "/shard-" + std::to_string(shard);
}

Status InitDataDir(const std::string& data_dir, uint32_t shard_count) {
  if (shard_count < 1 || shard_count > kMaxShards) {
    return MakeError(ErrorCode::kInvalidArgument, "shard count " + std::to_string(shard_count) +
                                                      " is out of range 1.." +
                                                      std::to_string(kMaxShards));
  }
  Status target = CheckInitTarget(data_dir);
  if (!target.ok()) return target;
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return MakeError(ErrorCode::kInternal, "cannot create " + data_dir, ec.message());

  for (uint32_t shard = 0; shard < shard_count; ++shard) {
    const std::map<std::string, std::string> meta = {
        {"format_version", std::to_string(kFormatVersion)},
        {"shard_count", std::to_string(shard_count)},
        {"shard_index", std::to_string(shard)},
        {"created_by", kCreatedBy},
    };
    Status created = LmdbLogStore::Create(ShardDir(data_dir, shard), meta);
    if (!created.ok()) return created;
  }
  Status key = WriteSecretKey(data_dir);
  if (!key.ok()) return key;
  return SyncDir(data_dir);
}

Result<DataDirInfo> CheckDataDir(const std::string& data_dir, uint32_t expected_shards) {
  Status initialised = CheckInitialised(data_dir, expected_shards);
  if (!initialised.ok()) return initialised.error();
  Result<ShardMeta> first = ReadShardMeta(data_dir, 0, expected_shards);
  if (!first.ok()) return first.error();
  Status valid = CheckFirstShard(data_dir, *first, expected_shards);
  if (!valid.ok()) return valid.error();
  for (uint32_t shard = 0; shard < first->shard_count; ++shard) {
    Status checked = CheckShard(data_dir, shard, *first);
    if (!checked.ok()) return checked.error();
  }
  Result<std::string> key = ReadSecretKey(data_dir);
  if (!key.ok()) {
    const Error& e = key.error();
    if (e.details == "mode") return e;  // its message already names the chmod to run
    return MakeError(e.code,
                     e.message + "; restore it from a backup, or " + NewDirHint(first->shard_count),
                     e.details);
  }
  return DataDirInfo{first->format_version, first->shard_count};
}

Result<std::string> ReadSecretKey(const std::string& data_dir) {
  return ReadKeyFile(SecretKeyPath(data_dir));
}

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot read " + path + ": " + std::strerror(errno),
                     "missing");
  }
  struct stat st;
  std::string key(kSecretKeyBytes, '\0');
  Error error;
  bool ok = false;
  if (::fstat(fd, &st) != 0) {
    error = ErrnoError(ErrorCode::kUnavailable, "cannot stat " + path);
  } else if (st.st_size != static_cast<off_t>(kSecretKeyBytes)) {
    error = MakeError(ErrorCode::kInvalidArgument,
                      path + " holds " + std::to_string(st.st_size) + " bytes, expected " +
                          std::to_string(kSecretKeyBytes),
                      "size");
  } else if ((st.st_mode & 077) != 0) {
    // Like ssh with a private key: anyone who reads it can forge session tokens.
    error = MakeError(ErrorCode::kInvalidArgument,
                      path + " is readable by other users; run: chmod 600 " + path, "mode");
  } else if (::pread(fd, key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) {
    error = ErrnoError(ErrorCode::kUnavailable, "cannot read " + path);
  } else {
    ok = true;
  }
  ::close(fd);
  if (!ok) return error;
  return key;
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<DataDirLock> LockDataDir(const std::string& data_dir) {
  const std::string path = data_dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(ErrorCode::kUnavailable, "cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return MakeError(ErrorCode::kUnavailable,
                       data_dir + " is in use by another process (a running parleyd?)");
    }
    return MakeError(ErrorCode::kUnavailable, "cannot lock " + path, std::strerror(err));
  }
  return DataDirLock(fd);
}

}  // namespace parley::persist
