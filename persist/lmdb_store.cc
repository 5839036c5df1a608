// The only file that includes lmdb.h: every LMDB return code becomes an Error here.
#include "persist/lmdb_store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

namespace parley::persist {
namespace {

// A big value read once from end to end (a snapshot of hundreds of megabytes) is mapped in with
// one call instead of one page fault per few pages (each ~10 us on a VM). Only an optimisation:
// kernels before 5.14 refuse MADV_POPULATE_READ, and the reads then fault as before.
void PopulateForRead(const void* data, size_t size) {
#ifdef MADV_POPULATE_READ
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(data) + size;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)data;
  (void)size;
#endif
}

constexpr unsigned kMaxDbs = 4;  // log, meta, snap; one spare
constexpr mdb_mode_t kFileMode = 0600;
constexpr char kLogDb[] = "log";
constexpr char kMetaDb[] = "meta";
constexpr char kSnapDb[] = "snap";
constexpr size_t kKeyBytes = 8;

const char* const kInitHint = "create the data directory with: parley-admin init";

Error LmdbError(std::string message, const char* operation, int rc) {
  return MakeError(ErrorCode::kInternal, std::move(message),
                   std::string(operation) + ": " + mdb_strerror(rc));
}

// LSNs are stored big-endian so LMDB's bytewise key order is LSN order and MDB_APPEND applies.
void EncodeKey(Lsn lsn, unsigned char (&key)[kKeyBytes]) {
  for (size_t i = 0; i < kKeyBytes; ++i) key[i] = static_cast<unsigned char>(lsn >> (56 - 8 * i));
}

Result<Lsn> DecodeKey(const MDB_val& key) {
  if (key.mv_size != kKeyBytes) {
    return MakeError(ErrorCode::kInternal, "corrupt log key",
                     "key of " + std::to_string(key.mv_size) + " bytes");
  }
  uint64_t big_endian;
  std::memcpy(&big_endian, key.mv_data, kKeyBytes);  // one load: replay decodes every key
  return std::endian::native == std::endian::big ? big_endian : __builtin_bswap64(big_endian);
}

MDB_val ValOf(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// LMDB's POSIX locks break if one process opens an environment twice (closing either handle
// drops the other's locks), so every open environment is registered here by its directory's
// device and inode, which also catches the same directory reached through another path.
class EnvClaim {
 public:
  using Key = std::pair<dev_t, ino_t>;

  static Result<EnvClaim> Acquire(const std::string& dir) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) {
      return MakeError(ErrorCode::kUnavailable, "cannot open " + dir + ": " + std::strerror(errno));
    }
    const Key key{st.st_dev, st.st_ino};
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_.insert(key).second) {
      return MakeError(ErrorCode::kInternal,
                       "LMDB environment " + dir + " is already open in this process");
    }
    return EnvClaim(key);
  }

  EnvClaim(EnvClaim&& other) noexcept : key_(std::exchange(other.key_, std::nullopt)) {}
  EnvClaim& operator=(EnvClaim&&) = delete;
  ~EnvClaim() {
    if (!key_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    open_.erase(*key_);
  }

 private:
  explicit EnvClaim(Key key) : key_(key) {}

  static inline std::mutex mutex_;
  static inline std::set<Key> open_;
  std::optional<Key> key_;
};

// Aborts on scope exit unless committed; a write transaction that hit an error must be
// aborted, and mdb_txn_commit frees the handle even when it fails.
class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }

  int Begin(MDB_env* env, unsigned flags) { return mdb_txn_begin(env, nullptr, flags, &txn_); }
  int Commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

// Declared after its Txn so it closes first: a write transaction's cursor must not outlive it.
class Cursor {
 public:
  Cursor() = default;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }

  int Open(const Txn& txn, MDB_dbi dbi) { return mdb_cursor_open(txn.get(), dbi, &cursor_); }
  int Get(MDB_val* key, MDB_val* data, MDB_cursor_op op) {
    return mdb_cursor_get(cursor_, key, data, op);
  }

 private:
  MDB_cursor* cursor_ = nullptr;
};

// LMDB 0.9 refuses a file when either of its two meta pages is unreadable, even though the
// other still describes an intact snapshot: what a meta page write torn by a power cut leaves
// (the torn one belongs to the newest commit, which parley acknowledged only if a later flush
// had covered it, so the intact one holds every acknowledged write). LMDB's own message, "not
// an LMDB file", hides that; this names the damaged page and the intact transaction. Empty
// when both look sound or neither does (then LMDB's message stands).
std::string DescribeDamagedMeta(const std::string& dir) {
  // MDB_meta (mdb.c) after the 16-byte page header: magic, version, ..., txnid at 128.
  constexpr size_t kHeader = 16, kTxnidAt = kHeader + 128;
  constexpr uint32_t kMagic = 0xBEEFC0DE, kDataVersion = 1;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));  // LMDB's page size
  int fd = ::open((dir + "/data.mdb").c_str(), O_RDONLY);
  if (fd < 0) return "";
  bool sound[2] = {false, false};
  uint64_t txnid[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    unsigned char meta[kTxnidAt + 8];
    if (::pread(fd, meta, sizeof meta, static_cast<off_t>(i * page)) != sizeof meta) continue;
    uint32_t magic = 0, version = 0;
    std::memcpy(&magic, meta + kHeader, 4);
    std::memcpy(&version, meta + kHeader + 4, 4);
    std::memcpy(&txnid[i], meta + kTxnidAt, 8);
    sound[i] = magic == kMagic && version == kDataVersion;
  }
  ::close(fd);
  if (sound[0] == sound[1]) return "";
  const int good = sound[0] ? 0 : 1;
  return "meta page " + std::to_string(1 - good) + " of " + dir +
         "/data.mdb is damaged (a write torn by a power cut?) while meta page " +
         std::to_string(good) + " is intact at transaction " + std::to_string(txnid[good]) +
         "; LMDB opens no file with a damaged meta page";
}

struct EnvCloser {
  void operator()(MDB_env* env) const { mdb_env_close(env); }
};
using EnvPtr = std::unique_ptr<MDB_env, EnvCloser>;

Result<EnvPtr> OpenEnv(const std::string& dir, unsigned flags, size_t map_size) {
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc != 0) return LmdbError("cannot open " + dir, "mdb_env_create", rc);
  EnvPtr env(raw);  // mdb_env_close is required even when mdb_env_open fails
  if ((rc = mdb_env_set_maxdbs(env.get(), kMaxDbs)) != 0) {
    return LmdbError("cannot open " + dir, "mdb_env_set_maxdbs", rc);
  }
  if ((rc = mdb_env_set_mapsize(env.get(), map_size)) != 0) {
    return LmdbError("cannot open " + dir, "mdb_env_set_mapsize", rc);
  }
  // MDB_NOTLS: read transactions are not tied to the thread that began them (replay, tools and
  // the persist thread may differ).
  if ((rc = mdb_env_open(env.get(), dir.c_str(), flags | MDB_NOTLS, kFileMode)) != 0) {
    if (std::string damaged = DescribeDamagedMeta(dir); rc == MDB_INVALID && !damaged.empty()) {
      return LmdbError(std::move(damaged), "mdb_env_open", rc);
    }
    return LmdbError("cannot open " + dir, "mdb_env_open", rc);
  }
  return env;
}

Result<Lsn> ReadLastLsn(const Txn& txn, MDB_dbi log) {
  Cursor cursor;
  int rc = cursor.Open(txn, log);
  if (rc != 0) return LmdbError("cannot read the log", "mdb_cursor_open", rc);
  MDB_val key{}, data{};
  rc = cursor.Get(&key, &data, MDB_LAST);
  if (rc == MDB_NOTFOUND) return Lsn{0};
  if (rc != 0) return LmdbError("cannot read the log", "mdb_cursor_get", rc);
  return DecodeKey(key);
}

}  // namespace

// mdb_env_close also closes the dbi handles; closing them one by one first gains nothing.
struct LmdbLogStore::Env {
  explicit Env(EnvClaim c) : claim(std::move(c)) {}

  EnvClaim claim;  // released last, after the environment is closed
  EnvPtr env;
  MDB_dbi log = 0;
  MDB_dbi meta = 0;
  MDB_dbi snap = 0;
  bool has_snap = false;  // the `snap` database exists and `snap` is its handle
  bool read_only = false;
};

LmdbLogStore::LmdbLogStore(std::unique_ptr<Env> env) : env_(std::move(env)) {}
// A writable store flushes on close, so an offline writer's last commit is durable too.
LmdbLogStore::~LmdbLogStore() {
  if (env_ && env_->env && !env_->read_only) (void)Sync();
}

Status LmdbLogStore::Sync() {
  if (env_->read_only) return OkStatus();
  int rc = mdb_env_sync(env_->env.get(), 1);
  return rc == 0 ? OkStatus() : LmdbError("log sync failed", "mdb_env_sync", rc);
}

Result<std::unique_ptr<LmdbLogStore>> LmdbLogStore::Open(const std::string& dir,
                                                         const LmdbOptions& options) {
  // Checked first: a writable mdb_env_open would silently create an empty environment.
  if (!PathExists(dir + "/data.mdb")) {
    return MakeError(ErrorCode::kUnavailable, "no LMDB environment in " + dir + "; " + kInitHint);
  }
  Result<EnvClaim> claim = EnvClaim::Acquire(dir);
  if (!claim.ok()) return claim.error();
  auto env = std::make_unique<Env>(std::move(claim).value());
  env->read_only = options.read_only;
  // Both modes leave the meta page's flush to the next commit (see Durability); kSync
  // acknowledges only after that flush.
  unsigned flags = MDB_NOMETASYNC;
  if (options.read_only) flags |= MDB_RDONLY;
  if (options.read_only && options.no_lock) flags |= MDB_NOLOCK;
  Result<EnvPtr> opened = OpenEnv(dir, flags, options.map_size_bytes);
  if (!opened.ok()) return opened.error();
  env->env = std::move(opened).value();

  int dead_readers = 0;
  int rc = mdb_reader_check(env->env.get(), &dead_readers);
  if (rc != 0) return LmdbError("cannot open " + dir, "mdb_reader_check", rc);

  Txn txn;
  if ((rc = txn.Begin(env->env.get(), MDB_RDONLY)) != 0) {
    return LmdbError("cannot open " + dir, "mdb_txn_begin", rc);
  }
  for (auto [name, dbi] : {std::pair{kLogDb, &env->log}, std::pair{kMetaDb, &env->meta}}) {
    rc = mdb_dbi_open(txn.get(), name, 0, dbi);
    if (rc == MDB_NOTFOUND) {
      return MakeError(
          ErrorCode::kUnavailable,
          dir + " has no `" + name + "` database, so it is not a parley shard; " + kInitHint);
    }
    if (rc != 0) return LmdbError("cannot open " + dir, "mdb_dbi_open", rc);
  }
  rc = mdb_dbi_open(txn.get(), kSnapDb, 0, &env->snap);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("cannot open " + dir, "mdb_dbi_open", rc);
  env->has_snap = rc == 0;
  Result<Lsn> last = ReadLastLsn(txn, env->log);
  if (!last.ok()) return last.error();
  // Committing (not aborting) the read transaction keeps the dbi handles open.
  if ((rc = txn.Commit()) != 0) return LmdbError("cannot open " + dir, "mdb_txn_commit", rc);

  std::unique_ptr<LmdbLogStore> store(new LmdbLogStore(std::move(env)));
  store->durability_ = options.durability;
  store->last_lsn_ = *last;
  return store;
}

Status LmdbLogStore::Create(const std::string& dir, const std::map<std::string, std::string>& meta,
                            size_t map_size_bytes) {
  if (PathExists(dir + "/data.mdb")) {
    return MakeError(ErrorCode::kAlreadyExists, dir + " already holds an LMDB environment");
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kInternal, "cannot create " + dir, std::strerror(errno));
  }
  Result<EnvClaim> claim = EnvClaim::Acquire(dir);
  if (!claim.ok()) return claim.error();
  Result<EnvPtr> env = OpenEnv(dir, 0, map_size_bytes);
  if (!env.ok()) return env.error();

  Txn txn;
  int rc = txn.Begin(env->get(), 0);
  if (rc != 0) return LmdbError("cannot create " + dir, "mdb_txn_begin", rc);
  MDB_dbi log = 0, meta_dbi = 0;
  if ((rc = mdb_dbi_open(txn.get(), kLogDb, MDB_CREATE, &log)) != 0 ||
      (rc = mdb_dbi_open(txn.get(), kMetaDb, MDB_CREATE, &meta_dbi)) != 0) {
    return LmdbError("cannot create " + dir, "mdb_dbi_open", rc);
  }
  for (const auto& [key, value] : meta) {
    MDB_val k = ValOf(key), v = ValOf(value);
    if ((rc = mdb_put(txn.get(), meta_dbi, &k, &v, 0)) != 0) {
      return LmdbError("cannot create " + dir, "mdb_put", rc);
    }
  }
  // A synced commit (no MDB_NOMETASYNC here): provisioning is durable before init reports success.
  if ((rc = txn.Commit()) != 0) return LmdbError("cannot create " + dir, "mdb_txn_commit", rc);
  return OkStatus();
}

Status LmdbLogStore::AppendBatch(const std::vector<LogRecord>& records) {
  if (env_->read_only) {
    return MakeError(ErrorCode::kInternal, "log append failed", "the store is open read-only");
  }
  if (records.empty()) return OkStatus();
  Status contiguous = CheckContiguous(last_lsn_, records);
  if (!contiguous.ok()) return contiguous;

  Txn txn;
  int rc = txn.Begin(env_->env.get(), 0);
  if (rc != 0) return LmdbError("log append failed", "mdb_txn_begin", rc);
  for (const LogRecord& record : records) {
    unsigned char key_bytes[kKeyBytes];
    EncodeKey(record.lsn, key_bytes);
    MDB_val key{kKeyBytes, key_bytes};
    MDB_val data = ValOf(record.bytes);
    // MDB_APPEND skips the tree search; LSNs only grow, so the key always sorts last.
    if ((rc = mdb_put(txn.get(), env_->log, &key, &data, MDB_APPEND)) != 0) {
      return LmdbError("log append failed", "mdb_put", rc);
    }
  }
  if ((rc = txn.Commit()) != 0) return LmdbError("log append failed", "mdb_txn_commit", rc);
  last_lsn_ = records.back().lsn;
  return OkStatus();
}

Status LmdbLogStore::Replay(Lsn from, const std::function<Status(Lsn, std::string_view)>& fn) {
  return Scan(from, SIZE_MAX, fn);
}

Status LmdbLogStore::Scan(Lsn from, size_t max_records,
                          const std::function<Status(Lsn, std::string_view)>& fn) const {
  Txn txn;
  int rc = txn.Begin(env_->env.get(), MDB_RDONLY);
  if (rc != 0) return LmdbError("log replay failed", "mdb_txn_begin", rc);
  Cursor cursor;
  if ((rc = cursor.Open(txn, env_->log)) != 0) {
    return LmdbError("log replay failed", "mdb_cursor_open", rc);
  }
  Lsn expected = std::max<Lsn>(from, 1);
  unsigned char key_bytes[kKeyBytes];
  EncodeKey(expected, key_bytes);
  MDB_val key{kKeyBytes, key_bytes}, data{};
  size_t seen = 0;
  for (rc = cursor.Get(&key, &data, MDB_SET_RANGE); rc == 0 && seen < max_records;
       rc = cursor.Get(&key, &data, MDB_NEXT), ++expected, ++seen) {
    Result<Lsn> lsn = DecodeKey(key);
    if (!lsn.ok()) return lsn.error();
    if (*lsn != expected) {
      return MakeError(ErrorCode::kInternal, "lsn gap at " + std::to_string(expected),
                       "next stored lsn is " + std::to_string(*lsn));
    }
    Status status =
        fn(*lsn, std::string_view(static_cast<const char*>(data.mv_data), data.mv_size));
    if (!status.ok()) return status;
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("log replay failed", "mdb_cursor_get", rc);
  return OkStatus();
}

Result<std::string> LmdbLogStore::ReadMeta(const std::string& key) {
  Txn txn;
  int rc = txn.Begin(env_->env.get(), MDB_RDONLY);
  if (rc != 0) return LmdbError("cannot read meta", "mdb_txn_begin", rc);
  MDB_val k = ValOf(key), v{};
  rc = mdb_get(txn.get(), env_->meta, &k, &v);
  if (rc == MDB_NOTFOUND) return std::string();
  if (rc != 0) return LmdbError("cannot read meta " + key, "mdb_get", rc);
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

Status LmdbLogStore::WriteMeta(const std::string& key, const std::string& value) {
  return WriteMeta(std::map<std::string, std::string>{{key, value}});
}

Status LmdbLogStore::WriteMeta(const std::map<std::string, std::string>& values) {
  const std::string what =
      "cannot write meta" + (values.size() == 1 ? " " + values.begin()->first : std::string());
  if (env_->read_only) return MakeError(ErrorCode::kInternal, what, "the store is read-only");
  Txn txn;
  int rc = txn.Begin(env_->env.get(), 0);
  if (rc != 0) return LmdbError(what, "mdb_txn_begin", rc);
  for (const auto& [key, value] : values) {
    MDB_val k = ValOf(key), v = ValOf(value);
    if ((rc = mdb_put(txn.get(), env_->meta, &k, &v, 0)) != 0) {
      return LmdbError(what, "mdb_put", rc);
    }
  }
  if ((rc = txn.Commit()) != 0) return LmdbError(what, "mdb_txn_commit", rc);
  return Sync();
}

Status LmdbLogStore::ReadRecord(Lsn lsn, const std::function<Status(std::string_view)>& fn) {
  Txn txn;
  int rc = txn.Begin(env_->env.get(), MDB_RDONLY);
  if (rc != 0) return LmdbError("cannot read the log", "mdb_txn_begin", rc);
  unsigned char key_bytes[kKeyBytes];
  EncodeKey(lsn, key_bytes);
  MDB_val key{kKeyBytes, key_bytes}, data{};
  rc = mdb_get(txn.get(), env_->log, &key, &data);
  if (rc == MDB_NOTFOUND) {
    return MakeError(ErrorCode::kNotFound, "no log record at lsn " + std::to_string(lsn));
  }
  if (rc != 0) return LmdbError("cannot read the log", "mdb_get", rc);
  return fn(std::string_view(static_cast<const char*>(data.mv_data), data.mv_size));
}

Status LmdbLogStore::PutSnapshot(Lsn lsn, std::string_view bytes, size_t keep) {
  if (env_->read_only) {
    return MakeError(ErrorCode::kInternal, "cannot write a snapshot", "the store is read-only");
  }
  Txn txn;
  int rc = txn.Begin(env_->env.get(), 0);
  if (rc != 0) return LmdbError("cannot write a snapshot", "mdb_txn_begin", rc);
  MDB_dbi snap = env_->snap;
  if (!env_->has_snap && (rc = mdb_dbi_open(txn.get(), kSnapDb, MDB_CREATE, &snap)) != 0) {
    return LmdbError("cannot write a snapshot", "mdb_dbi_open", rc);
  }
  unsigned char key_bytes[kKeyBytes];
  EncodeKey(lsn, key_bytes);
  MDB_val key{kKeyBytes, key_bytes};
  MDB_val data = ValOf(bytes);
  if ((rc = mdb_put(txn.get(), snap, &key, &data, 0)) != 0) {
    return LmdbError("cannot write a snapshot", "mdb_put", rc);
  }
  std::vector<Lsn> older;  // past the newest `keep`, newest first
  {
    Cursor cursor;
    if ((rc = cursor.Open(txn, snap)) != 0) {
      return LmdbError("cannot write a snapshot", "mdb_cursor_open", rc);
    }
    size_t seen = 0;
    MDB_val k{}, v{};
    for (rc = cursor.Get(&k, &v, MDB_LAST); rc == 0; rc = cursor.Get(&k, &v, MDB_PREV)) {
      if (++seen <= std::max<size_t>(keep, 1)) continue;
      Result<Lsn> old = DecodeKey(k);
      if (!old.ok()) return old.error();
      older.push_back(*old);
    }
    if (rc != MDB_NOTFOUND) return LmdbError("cannot write a snapshot", "mdb_cursor_get", rc);
  }
  for (Lsn old : older) {
    EncodeKey(old, key_bytes);
    if ((rc = mdb_del(txn.get(), snap, &key, nullptr)) != 0) {
      return LmdbError("cannot write a snapshot", "mdb_del", rc);
    }
  }
  if ((rc = txn.Commit()) != 0) return LmdbError("cannot write a snapshot", "mdb_txn_commit", rc);
  env_->snap = snap;
  env_->has_snap = true;
  return Sync();
}

Result<std::vector<Lsn>> LmdbLogStore::SnapshotLsns() {
  std::vector<Lsn> lsns;
  if (!env_->has_snap) return lsns;
  Txn txn;
  int rc = txn.Begin(env_->env.get(), MDB_RDONLY);
  if (rc != 0) return LmdbError("cannot list snapshots", "mdb_txn_begin", rc);
  Cursor cursor;
  if ((rc = cursor.Open(txn, env_->snap)) != 0) {
    return LmdbError("cannot list snapshots", "mdb_cursor_open", rc);
  }
  MDB_val key{}, data{};
  for (rc = cursor.Get(&key, &data, MDB_LAST); rc == 0; rc = cursor.Get(&key, &data, MDB_PREV)) {
    Result<Lsn> lsn = DecodeKey(key);
    if (!lsn.ok()) return lsn.error();
    lsns.push_back(*lsn);
  }
  if (rc != MDB_NOTFOUND) return LmdbError("cannot list snapshots", "mdb_cursor_get", rc);
  return lsns;
}

Status LmdbLogStore::ReadSnapshot(Lsn lsn, const std::function<Status(std::string_view)>& fn) {
  if (!env_->has_snap) return LogStore::ReadSnapshot(lsn, fn);
  Txn txn;
  int rc = txn.Begin(env_->env.get(), MDB_RDONLY);
  if (rc != 0) return LmdbError("cannot read a snapshot", "mdb_txn_begin", rc);
  unsigned char key_bytes[kKeyBytes];
  EncodeKey(lsn, key_bytes);
  MDB_val key{kKeyBytes, key_bytes}, data{};
  rc = mdb_get(txn.get(), env_->snap, &key, &data);
  if (rc == MDB_NOTFOUND) return LogStore::ReadSnapshot(lsn, fn);
  if (rc != 0) return LmdbError("cannot read a snapshot", "mdb_get", rc);
  PopulateForRead(data.mv_data, data.mv_size);
  return fn(std::string_view(static_cast<const char*>(data.mv_data), data.mv_size));
}

Status LmdbLogStore::CopyTo(const std::string& to_dir) const {
  const std::string path = to_dir + "/data.mdb";
  const std::string what = "cannot copy the log to " + path;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    return MakeError(errno == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kInternal,
                     what + ": " + std::strerror(errno));
  }
  // MDB_CP_COMPACT walks the trees in one read transaction and writes only live pages, so the
  // copy holds no free pages and renumbers nothing a reader sees.
  int rc = mdb_env_copyfd2(env_->env.get(), fd, MDB_CP_COMPACT);
  Status status = rc == 0 ? OkStatus() : LmdbError(what, "mdb_env_copyfd2", rc);
  if (status.ok() && ::fsync(fd) != 0) {
    status = MakeError(ErrorCode::kInternal, what, std::string("fsync: ") + std::strerror(errno));
  }
  ::close(fd);
  return status;
}

Result<bool> LmdbLogStore::OpenElsewhere(const std::string& dir) {
  const std::string path = dir + "/lock.mdb";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return false;
  if (fd < 0) {
    return MakeError(ErrorCode::kInternal, "cannot read " + path + ": " + std::strerror(errno));
  }
  // Every process with the environment open holds a read lock on the lock file's first byte
  // (LMDB's mdb_env_excl_lock); F_GETLK reports another process's lock that a write lock
  // there would conflict with, and never this process's own.
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  int rc = ::fcntl(fd, F_GETLK, &probe);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    return MakeError(ErrorCode::kInternal, "cannot check " + path + ": " + std::strerror(saved));
  }
  return probe.l_type != F_UNLCK;
}

}  // namespace parley::persist
