#include "persist/torn_write.h"

#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace parley::persist {
namespace {

constexpr size_t kSector = 512;
constexpr size_t kMaxPages = 8;
constexpr MDB_dbi kFreeDbi = 0;  // LMDB's free list: txnid -> [count, pgno...] freed by it

Error LmdbFailure(const std::string& what, int rc) {
  return MakeError(ErrorCode::kInternal, what, mdb_strerror(rc));
}

// What the newest snapshot says about the file, read without a lock file (parleyd is dead).
struct Layout {
  size_t page_size = 0;
  uint64_t last_page = 0;          // the newest snapshot's last used page
  uint64_t newest_meta = 0;        // the meta page (0 or 1) of the newest transaction
  std::vector<uint64_t> reusable;  // free pages the next commit may overwrite
};

Result<Layout> ReadLayout(const std::string& dir) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbFailure("mdb_env_create", rc);
  Layout layout;
  auto fail = [&](const std::string& what, int code) {
    mdb_env_close(env);
    return LmdbFailure(what + " " + dir, code);
  };
  if ((rc = mdb_env_set_mapsize(env, size_t{64} << 30)) != 0) return fail("mapsize", rc);
  if ((rc = mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOLOCK, 0600)) != 0) {
    return fail("mdb_env_open", rc);
  }
  MDB_envinfo info;
  MDB_stat stat;
  mdb_env_info(env, &info);
  mdb_env_stat(env, &stat);
  layout.page_size = stat.ms_psize;
  layout.last_page = info.me_last_pgno;
  layout.newest_meta = info.me_last_txnid % 2;  // mdb_env_write_meta: mm_txnid & 1
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn)) != 0) return fail("txn", rc);
  MDB_cursor* cursor = nullptr;
  if ((rc = mdb_cursor_open(txn, kFreeDbi, &cursor)) != 0) {
    mdb_txn_abort(txn);
    return fail("free list cursor", rc);
  }
  MDB_val key{}, data{};
  while ((rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) == 0) {
    size_t freed_by = 0;
    std::memcpy(&freed_by, key.mv_data, std::min(key.mv_size, sizeof freed_by));
    // Pages the newest transaction freed are still part of the snapshot before it.
    if (freed_by >= info.me_last_txnid) continue;
    std::vector<size_t> ids(data.mv_size / sizeof(size_t));
    std::memcpy(ids.data(), data.mv_data, ids.size() * sizeof(size_t));
    for (size_t i = 1; i < ids.size() && i <= ids[0]; ++i) layout.reusable.push_back(ids[i]);
  }
  mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  if (rc != MDB_NOTFOUND) return LmdbFailure("free list " + dir, rc);
  return layout;
}

// Writes garbage over a random, non-empty subset of the page's sectors (whole == false), or
// over all of them: a device writes sector by sector, and the cut may fall anywhere.
Status Garble(int fd, uint64_t page, size_t page_size, bool whole, std::mt19937_64& rng) {
  std::vector<unsigned char> garbage(kSector);
  const size_t sectors = page_size / kSector;
  size_t forced = rng() % sectors;
  for (size_t s = 0; s < sectors; ++s) {
    if (!whole && s != forced && rng() % 2 == 0) continue;
    for (auto& b : garbage) b = static_cast<unsigned char>(rng());
    off_t at = static_cast<off_t>(page * page_size + s * kSector);
    if (pwrite(fd, garbage.data(), kSector, at) != static_cast<ssize_t>(kSector)) {
      return MakeError(ErrorCode::kInternal, "torn write failed", std::strerror(errno));
    }
  }
  return OkStatus();
}

std::string DataFile(const std::string& shard_dir) { return shard_dir + "/data.mdb"; }

Result<TornWriteReport> TearMeta(const std::string& shard_dir, const Layout& layout,
                                 std::mt19937_64& rng) {
  TornWriteReport report;
  report.meta_offset = layout.newest_meta * layout.page_size;
  report.meta_sector.resize(kSector);
  std::string garbage(kSector, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  int fd = open(DataFile(shard_dir).c_str(), O_RDWR);
  if (fd < 0) return MakeError(ErrorCode::kInternal, "cannot open " + shard_dir, strerror(errno));
  bool ok = pread(fd, report.meta_sector.data(), kSector, static_cast<off_t>(report.meta_offset)) ==
                static_cast<ssize_t>(kSector) &&
            pwrite(fd, garbage.data(), kSector, static_cast<off_t>(report.meta_offset)) ==
                static_cast<ssize_t>(kSector);
  close(fd);
  if (!ok) return MakeError(ErrorCode::kInternal, "torn meta write failed", strerror(errno));
  report.what = "torn meta page " + std::to_string(layout.newest_meta);
  report.pages = 1;
  return report;
}

}  // namespace

Status UndoTornMeta(const std::string& shard_dir, const TornWriteReport& report) {
  int fd = open(DataFile(shard_dir).c_str(), O_WRONLY);
  if (fd < 0) return MakeError(ErrorCode::kInternal, "cannot open " + shard_dir, strerror(errno));
  bool ok = pwrite(fd, report.meta_sector.data(), report.meta_sector.size(),
                   static_cast<off_t>(report.meta_offset)) ==
            static_cast<ssize_t>(report.meta_sector.size());
  close(fd);
  if (!ok) return MakeError(ErrorCode::kInternal, "undo of a torn meta failed", strerror(errno));
  return OkStatus();
}

Result<TornWriteReport> SimulateTornCommit(const std::string& shard_dir, TornCommit kind,
                                           std::mt19937_64& rng) {
  Result<Layout> layout = ReadLayout(shard_dir);
  if (!layout.ok()) return layout.error();
  std::vector<uint64_t> pages;
  TornWriteReport report;
  if (kind == TornCommit::kMeta) return TearMeta(shard_dir, *layout, rng);
  if (kind == TornCommit::kTail) {
    size_t n = 1 + rng() % kMaxPages;
    for (size_t i = 1; i <= n; ++i) pages.push_back(layout->last_page + i);
    report.what = std::to_string(n) + " torn pages past page " + std::to_string(layout->last_page) +
                  " (the file's tail)";
  } else {
    if (layout->reusable.empty()) {
      return MakeError(ErrorCode::kNotFound, "no free page to tear in " + shard_dir);
    }
    std::shuffle(layout->reusable.begin(), layout->reusable.end(), rng);
    size_t n = std::min(layout->reusable.size(), 1 + rng() % kMaxPages);
    pages.assign(layout->reusable.begin(),
                 layout->reusable.begin() + static_cast<std::ptrdiff_t>(n));
    report.what = std::to_string(n) + " torn free pages (of " +
                  std::to_string(layout->reusable.size()) + " reusable)";
  }
  int fd = open(DataFile(shard_dir).c_str(), O_WRONLY);
  if (fd < 0) return MakeError(ErrorCode::kInternal, "cannot open " + shard_dir, strerror(errno));
  for (size_t i = 0; i < pages.size(); ++i) {
    // Writeback order is the kernel's and the device's: any page may be whole or torn.
    bool whole = rng() % 2 == 0;
    if (Status s = Garble(fd, pages[i], layout->page_size, whole, rng); !s.ok()) {
      close(fd);
      return s.error();
    }
  }
  close(fd);
  report.pages = pages.size();
  return report;
}

}  // namespace parley::persist
