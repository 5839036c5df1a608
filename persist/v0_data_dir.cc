#include "persist/v0_data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "persist/data_dir.h"
#include "persist/lmdb_store.h"

namespace parley::persist {
namespace {

// Version 0's meta: no shard_count, no shard_index.
const std::map<std::string, std::string> kV0Meta = {{"format_version", "0"},
                                                    {"created_by", "parley-admin init"}};

Status CopyLog(const std::string& from, const std::string& to) {
  LmdbOptions read_only;
  read_only.read_only = true;
  auto source = LmdbLogStore::Open(from, read_only);
  if (!source.ok()) return source.error();
  if (Status created = LmdbLogStore::Create(to, kV0Meta); !created.ok()) return created;
  auto target = LmdbLogStore::Open(to, LmdbOptions{});
  if (!target.ok()) return target.error();
  std::vector<LogRecord> records;
  Status read = (*source)->Replay(1, [&](Lsn lsn, std::string_view bytes) {
    records.push_back(LogRecord{lsn, std::string(bytes)});
    return OkStatus();
  });
  if (!read.ok()) return read;
  return (*target)->AppendBatch(records);
}

Status WriteKey(const std::string& path, const std::string& key) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kInternal, "cannot create " + path, std::strerror(errno));
  bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
  ::close(fd);
  if (!ok) return MakeError(ErrorCode::kInternal, "cannot write " + path);
  return OkStatus();
}

}  // namespace

Status WriteV0DataDir(const std::string& from, const std::string& v0_dir) {
  Result<DataDirInfo> info = CheckDataDir(from, 0);
  if (!info.ok()) return info.error();
  if (::mkdir(v0_dir.c_str(), 0700) != 0) {
    return MakeError(ErrorCode::kInternal, "cannot create " + v0_dir, std::strerror(errno));
  }
  for (uint32_t k = 0; k < info->shard_count; ++k) {
    if (Status copied = CopyLog(ShardDir(from, k), ShardDir(v0_dir, k)); !copied.ok()) {
      return copied;
    }
  }
  Result<std::string> key = ReadSecretKey(from);
  if (!key.ok()) return key.error();
  return WriteKey(v0_dir + "/secret.key", *key);
}

}  // namespace parley::persist
