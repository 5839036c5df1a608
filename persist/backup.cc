#include "persist/backup.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "persist/data_dir.h"
#include "persist/lmdb_store.h"

namespace parley::persist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kSecretKeyFile[] = "secret.key";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Iso8601(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

Error ErrnoError(const std::string& message) {
  return MakeError(ErrorCode::kInternal, message + ": " + std::strerror(errno));
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// `dir` absent (created, mode 0700) or an empty directory; anything else is kAlreadyExists.
Status PrepareEmptyDir(const std::string& dir, const char* what) {
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("cannot create " + dir);
    return OkStatus();
  }
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "cannot read " + dir, ec.message());
  if (!fs::is_directory(status) || !fs::is_empty(dir, ec) || ec) {
    return MakeError(ErrorCode::kAlreadyExists, dir + " exists and is not an empty directory; " +
                                                    what + " only into a new or empty one");
  }
  return OkStatus();
}

// Creates `path` (it must not exist) holding `bytes`, mode 0600, flushed to disk.
Status WritePrivateFile(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create " + path);
  Status status = OkStatus();
  while (!bytes.empty() && status.ok()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = ErrnoError("cannot write " + path);
    if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
  }
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError("fsync " + path);
  ::close(fd);
  return status;
}

// The last LSN of the shard environment in `dir` and its last record's size and hash. With
// `pristine` the environment is opened without a lock file (a backup's copy, left as written).
Result<ShardBackup> DescribeShard(const std::string& dir, uint32_t shard, bool pristine) {
  LmdbOptions options;
  options.read_only = true;
  options.no_lock = pristine;
  auto store = LmdbLogStore::Open(dir, options);
  if (!store.ok()) return store.error();
  ShardBackup out;
  out.shard = shard;
  out.last_lsn = (*store)->last_lsn();
  if (out.last_lsn > 0) {
    Status read = (*store)->Scan(out.last_lsn, 1, [&](Lsn, std::string_view bytes) {
      out.last_record_bytes = bytes.size();
      out.last_record_sha256 = Sha256Hex(bytes);
      return OkStatus();
    });
    if (!read.ok()) return read.error();
  }
  std::error_code ec;
  out.file_bytes = fs::file_size(dir + "/data.mdb", ec);
  return out;
}

Result<ShardBackup> BackupShard(const std::string& data_dir, const std::string& to,
                                uint32_t shard) {
  const std::string target = ShardDir(to, shard);
  if (::mkdir(target.c_str(), 0700) != 0) return ErrnoError("cannot create " + target);
  {
    LmdbOptions options;
    options.read_only = true;  // a reader beside parleyd's writer; it never waits for us
    auto source = LmdbLogStore::Open(ShardDir(data_dir, shard), options);
    if (!source.ok()) return source.error();
    if (Status copied = (*source)->CopyTo(target); !copied.ok()) return copied.error();
  }
  if (Status synced = SyncDir(target); !synced.ok()) return synced.error();
  return DescribeShard(target, shard, /*pristine=*/true);
}

json ManifestJson(const BackupManifest& m) {
  json shards = json::array();
  for (const ShardBackup& s : m.shards) {
    shards.push_back({{"shard", s.shard},
                      {"last_lsn", s.last_lsn},
                      {"last_record_bytes", s.last_record_bytes},
                      {"last_record_sha256", s.last_record_sha256},
                      {"file_bytes", s.file_bytes}});
  }
  return {{"manifest_version", m.manifest_version},
          {"format_version", m.format_version},
          {"shard_count", m.shard_count},
          {"started_at_ms", m.started_at_ms},
          {"finished_at_ms", m.finished_at_ms},
          {"finished_at", Iso8601(m.finished_at_ms)},  // for people; not read back
          {"parley_version", m.parley_version},
          {"shards", shards}};
}

// Written last: its presence is what marks the backup complete, so it appears whole or not at
// all (a temporary file, flushed, renamed, and the rename flushed).
Status WriteManifest(const std::string& to, const BackupManifest& m) {
  const std::string path = to + "/" + kManifestFile;
  const std::string tmp = path + ".tmp";
  if (Status written = WritePrivateFile(tmp, ManifestJson(m).dump(2) + "\n"); !written.ok()) {
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("cannot rename " + tmp);
  return SyncDir(to);
}

Error BadManifest(const std::string& path, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, "invalid backup manifest " + path + ": " + why);
}

Result<BackupManifest> ParseManifest(const std::string& path, const json& j) {
  BackupManifest m;
  try {
    m.manifest_version = j.at("manifest_version").get<uint32_t>();
    if (m.manifest_version != kManifestVersion) {
      return BadManifest(path, "manifest_version " + std::to_string(m.manifest_version) +
                                   " is unknown to this parley-admin (it reads " +
                                   std::to_string(kManifestVersion) + ")");
    }
    m.format_version = j.at("format_version").get<uint32_t>();
    m.shard_count = j.at("shard_count").get<uint32_t>();
    m.started_at_ms = j.at("started_at_ms").get<int64_t>();
    m.finished_at_ms = j.at("finished_at_ms").get<int64_t>();
    m.parley_version = j.value("parley_version", "");
    for (const json& s : j.at("shards")) {
      m.shards.push_back(ShardBackup{s.at("shard").get<uint32_t>(), s.at("last_lsn").get<Lsn>(),
                                     s.at("last_record_bytes").get<uint64_t>(),
                                     s.at("last_record_sha256").get<std::string>(),
                                     s.value("file_bytes", uint64_t{0})});
    }
  } catch (const json::exception& e) {
    return BadManifest(path, e.what());
  }
  if (m.format_version == 0 || m.format_version > kFormatVersion) {
    return BadManifest(path, "it is of data format version " + std::to_string(m.format_version) +
                                 "; this parley-admin knows versions up to " +
                                 std::to_string(kFormatVersion) +
                                 " (restore it with the parley release that made it)");
  }
  if (m.shard_count < 1 || m.shard_count > kMaxShards || m.shards.size() != m.shard_count) {
    return BadManifest(path, "shard_count " + std::to_string(m.shard_count) + " with " +
                                 std::to_string(m.shards.size()) + " shard entries");
  }
  for (uint32_t k = 0; k < m.shard_count; ++k) {
    const ShardBackup& s = m.shards[k];
    if (s.shard != k)
      return BadManifest(path, "shard entry " + std::to_string(k) + " is out of order");
    if ((s.last_lsn == 0) != s.last_record_sha256.empty()) {
      return BadManifest(path, "shard " + std::to_string(k) + " has a last_lsn without a hash");
    }
  }
  return m;
}

// Copies a backup's shard file into `dir` (created) and flushes it.
Status CopyShardFile(const std::string& from, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("cannot create " + dir);
  std::error_code ec;
  const std::string target = dir + "/data.mdb";
  fs::copy_file(from, target, ec);
  if (ec) return MakeError(ErrorCode::kInternal, "cannot copy " + from, ec.message());
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write, ec);
  int fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open " + target);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync " + target);
  return SyncDir(dir);
}

Status CheckRestoredShard(const std::string& dir, const ShardBackup& want) {
  Result<ShardBackup> got = DescribeShard(dir, want.shard, /*pristine=*/false);
  if (!got.ok()) return got.error();
  if (got->last_lsn != want.last_lsn || got->last_record_bytes != want.last_record_bytes ||
      got->last_record_sha256 != want.last_record_sha256) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "restored shard " + std::to_string(want.shard) + " ends at LSN " +
                         std::to_string(got->last_lsn) + " (" +
                         std::to_string(got->last_record_bytes) + " bytes) but the manifest says " +
                         std::to_string(want.last_lsn) + " (" +
                         std::to_string(want.last_record_bytes) +
                         " bytes): the backup's shard file does not match its manifest");
  }
  return OkStatus();
}

// Restores into `tmp` (an empty directory); the caller renames it into place.
Status RestoreInto(const std::string& from, const BackupManifest& m, const std::string& tmp) {
  for (const ShardBackup& want : m.shards) {
    const std::string file = ShardDir(from, want.shard) + "/data.mdb";
    if (!fs::exists(file)) {
      return MakeError(ErrorCode::kUnavailable, "backup " + from + " lacks " + file);
    }
    if (Status copied = CopyShardFile(file, ShardDir(tmp, want.shard)); !copied.ok()) {
      return copied;
    }
    if (Status checked = CheckRestoredShard(ShardDir(tmp, want.shard), want); !checked.ok()) {
      return checked;
    }
  }
  Result<std::string> key = ReadKeyFile(from + "/" + kSecretKeyFile);
  if (!key.ok()) return key.error();
  if (Status written = WritePrivateFile(tmp + "/" + kSecretKeyFile, *key); !written.ok()) {
    return written;
  }
  if (Status synced = SyncDir(tmp); !synced.ok()) return synced;
  if (m.format_version != kFormatVersion) return OkStatus();  // migrate checks it later
  Result<DataDirInfo> checked = CheckDataDir(tmp, m.shard_count);
  if (!checked.ok()) return checked.error();
  return OkStatus();
}

}  // namespace

Result<BackupManifest> Backup(const std::string& data_dir, const std::string& to,
                              const std::function<void(const ShardBackup&)>& progress) {
  Result<DataDirInfo> info = CheckDataDir(data_dir, 0);
  if (!info.ok()) return info.error();
  if (Status target = PrepareEmptyDir(to, "back up"); !target.ok()) return target.error();
  BackupManifest m;
  m.format_version = info->format_version;
  m.shard_count = info->shard_count;
  m.started_at_ms = NowMs();
  m.parley_version = PARLEY_VERSION;
  for (uint32_t k = 0; k < info->shard_count; ++k) {
    Result<ShardBackup> shard = BackupShard(data_dir, to, k);
    if (!shard.ok()) return shard.error();
    if (progress) progress(*shard);
    m.shards.push_back(std::move(shard).value());
  }
  Result<std::string> key = ReadSecretKey(data_dir);
  if (!key.ok()) return key.error();
  if (Status written = WritePrivateFile(to + "/" + kSecretKeyFile, *key); !written.ok()) {
    return written.error();
  }
  m.finished_at_ms = NowMs();
  if (Status written = WriteManifest(to, m); !written.ok()) return written.error();
  return m;
}

Result<BackupManifest> ReadManifest(const std::string& from) {
  const std::string path = from + "/" + kManifestFile;
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kUnavailable,
                     "incomplete backup " + from + ": it has no " + kManifestFile +
                         " (the backup did not finish, or this is not a backup directory)");
  }
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return BadManifest(path, "not a JSON object");
  return ParseManifest(path, j);
}

Result<BackupManifest> Restore(const std::string& from, const std::string& data_dir) {
  Result<BackupManifest> m = ReadManifest(from);
  if (!m.ok()) return m.error();
  std::error_code ec;
  if (fs::exists(data_dir, ec) &&
      (!fs::is_directory(data_dir, ec) || !fs::is_empty(data_dir, ec))) {
    return MakeError(ErrorCode::kAlreadyExists,
                     data_dir +
                         " exists and is not an empty "
                         "directory; restore only into a new or empty one");
  }
  std::string pattern = fs::absolute(data_dir).lexically_normal().string();
  while (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
  pattern += ".restoring-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return ErrnoError("cannot create " + pattern);
  const std::string tmp = pattern;
  Status restored = RestoreInto(from, *m, tmp);
  // rename(2) replaces an empty directory, so an empty `data_dir` is taken over in one step.
  if (restored.ok() && ::rename(tmp.c_str(), data_dir.c_str()) != 0) {
    restored = ErrnoError("cannot rename " + tmp + " to " + data_dir);
  }
  if (!restored.ok()) {
    fs::remove_all(tmp, ec);
    return restored.error();
  }
  if (Status synced = SyncDir(fs::path(tmp).parent_path().string()); !synced.ok()) {
    return synced.error();
  }
  return m;
}

}  // namespace parley::persist
