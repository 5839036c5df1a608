// ShardIndexer: keeps one shard's search index (a Xapian database in DATA/search/shard-K) in
// step with that shard's log. The index is a derived view: it follows committed log records on
// its own thread, never on the shard's loop, and commits them to Xapian in batches, recording
// the last LSN it indexed (and a hash of that record) with each commit. At open, an index of
// another format, or one that does not match the log (built from another data directory, or
// ahead of a log restored from a backup), is emptied and rebuilt from LSN 1; a missing one is
// created. Either way the server serves meanwhile; SearchService::Ready() says when every
// index has caught up.
//
// Thread contract: Open, then either Start/Stop (the indexing thread) or CatchUp (the calling
// thread, for offline tools). indexed_lsn() and caught_up() from any thread.
#pragma once

#include <xapian.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/events.h"
#include "persist/lmdb_store.h"

namespace parley::search {

// DATA/search/shard-K.
std::string IndexDir(const std::string& data_dir, ShardId shard);

struct IndexerOptions {
  // How long the thread sleeps once it has indexed everything in the log.
  std::chrono::milliseconds idle_poll{100};
  // While the log runs ahead of it, a commit at least this often, so that new messages become
  // searchable within a second under load too.
  std::chrono::milliseconds busy_commit_interval{500};
  size_t records_per_read = 4096;  // log records per read transaction
  size_t changes_per_commit = 50'000;  // or sooner, when this many documents changed
  bool rebuild = false;  // empty the index and rebuild it from LSN 1 whatever it holds
  std::string thread_name = "index";
  // Run the indexing thread under SCHED_IDLE: it takes only CPU time the shards leave, so
  // indexing never slows serving; under a load that saturates the cores the index falls behind
  // and catches up when the load eases.
  bool idle_priority = true;
  // Called on the indexing thread when a read or a commit fails (it is retried a second later:
  // the index falls behind, serving goes on). Must not block.
  std::function<void(const Error&)> on_error;
};

class ShardIndexer {
 public:
  // `log` must outlive the indexer; the indexer only reads it (LmdbLogStore::Scan).
  ShardIndexer(std::string dir, const persist::LmdbLogStore* log, IndexerOptions options = {});
  ~ShardIndexer();  // Stop()s
  ShardIndexer(const ShardIndexer&) = delete;
  ShardIndexer& operator=(const ShardIndexer&) = delete;

  // Opens or creates the index and decides whether it must be rebuilt. kUnavailable when the
  // index is locked by another process (a running parleyd, or parley-admin reindex).
  Status Open();
  // Spawns the indexing thread ("index"). REQUIRES: Open() succeeded.
  void Start();
  // Commits what was indexed and joins the thread. Idempotent.
  void Stop();
  // Indexes every record now in the log and commits, on the calling thread.
  Status CatchUp();

  // The last LSN committed to the index: what searches see.
  Lsn indexed_lsn() const { return indexed_lsn_.load(std::memory_order_acquire); }
  // True once the index has held everything the log held at some moment since Open().
  bool caught_up() const { return caught_up_.load(std::memory_order_acquire); }
  bool rebuilt() const { return rebuilt_; }  // Open() found it missing, stale or of another format
  uint64_t documents() const { return documents_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }

 private:
  void Run();
  // Reads up to options_.records_per_read records after indexed_lsn and indexes them; the
  // number read, or the first error (an undecodable record, a Xapian failure).
  Result<size_t> IndexSome();
  Status Commit();
  // Records applied_lsn_ and its hash in the pending metadata, beside the documents.
  Status NoteApplied();
  void Index(const Event& event);
  // Read-modify-write of the document with this id term, if it is in the index: `change`
  // edits its record and returns whether the document must be rewritten.
  template <class Fn>
  void Update(const std::string& id_term, Fn&& change);
  void Add(const struct DocRecord& record);

  std::string dir_;
  const persist::LmdbLogStore* log_;
  IndexerOptions options_;
  std::unique_ptr<Xapian::WritableDatabase> db_;
  Xapian::TermGenerator generator_;
  Lsn applied_lsn_ = 0;  // the last LSN indexed, committed or not (indexing thread)
  uint64_t applied_hash_ = 0;  // FNV-1a of that record's bytes
  size_t uncommitted_ = 0;  // documents changed since the last commit
  bool rebuilt_ = false;
  std::atomic<Lsn> indexed_lsn_{0};
  std::atomic<bool> caught_up_{false};
  std::atomic<uint64_t> documents_{0};
  std::mutex mu_;
  std::condition_variable wake_;  // Stop() wakes a sleeping indexing thread
  bool stopping_ = false;         // guarded by mu_
  std::thread thread_;
};

}  // namespace parley::search
