// GroupCommitter: a shard's persist thread. The shard appends encoded events during a loop turn
// and hands the batch over with Flush(); the persist thread commits everything handed over since
// its last commit as one transaction, publishes durable_lsn(), then calls on_durable so the shard
// wakes and acknowledges. While one batch commits the next one fills. The shard never waits on
// the disk. With a store whose commit is made durable by the following flush (LmdbLogStore under
// kSync), a batch is published once the next commit's flush covers it, or, when nothing else
// is waiting, after an explicit Sync(): one flush per commit while busy.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "persist/histogram.h"
#include "persist/log_store.h"
#include "persist/spsc_queue.h"

namespace parley::persist {

// Written by the persist thread only; read from any thread.
struct CommitStats {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> max_batch{0};
  Histogram batch_records{kBatchBounds};  // records per committed batch
  Histogram commit_ns{kLatencyBoundsNs};  // time of each batch's AppendBatch
  std::atomic<Lsn> committed_lsn{0};      // the last LSN written (durable once flushed)
};

class GroupCommitter {
 public:
  // on_durable runs on the persist thread after every commit; it must not block (it writes the
  // shard's wake-up eventfd). on_fatal runs on the persist thread if a commit fails: the
  // in-memory state is then ahead of the log, so the process must stop (replay restores it).
  // `stats`, if given, must outlive the committer (its owner exports them); else it keeps its
  // own.
  GroupCommitter(std::unique_ptr<LogStore> store, std::function<void()> on_durable,
                 std::function<void(const Error&)> on_fatal, CommitStats* stats = nullptr);
  ~GroupCommitter();  // Stop()s

  // Spawns the persist thread (named "persist"). Call once.
  void Start();
  // Hands over whatever is still pending (waiting for queue room if needed), lets the persist
  // thread commit everything handed over, then joins it. Shard thread (or owner) only; may
  // block for the final commits. Idempotent; a no-op if Start() was never called.
  void Stop();

  // Shard thread only. Assigns the next LSN and buffers the record.
  Lsn Append(std::string bytes);
  // Shard thread only. Hands the buffered records to the persist thread (no-op when none).
  // Never blocks: if the hand-off queue is full the records stay buffered for the next Flush().
  void Flush();

  // Shard thread only. Runs `job` on the persist thread, with the store, once every record
  // appended so far is committed; between commits, so it may write to the store (a snapshot)
  // without racing them, and commits wait while it runs. Jobs still waiting at Stop() run
  // before it returns; after a failed commit they are dropped.
  void RunAfterCommit(std::function<void(LogStore&)> job);

  Lsn last_appended() const { return next_lsn_ - 1; }
  Lsn durable_lsn() const { return durable_lsn_.load(std::memory_order_acquire); }
  const CommitStats& stats() const { return *stats_; }

 private:
  void Run();
  // Persist thread. One AppendBatch for the whole batch; false (after on_fatal) if it failed.
  // With a store that is not durable_on_commit(), the batch's last LSN waits in *unsynced until
  // the next commit's flush or SyncCommitted() covers it.
  bool Commit(const std::vector<LogRecord>& batch, Lsn* unsynced);
  bool SyncCommitted(Lsn* unsynced);
  void PublishDurable(Lsn lsn);
  // Persist thread. Runs the jobs whose records are all committed; false if there were none.
  bool RunJobs();

  std::unique_ptr<LogStore> store_;
  std::function<void()> on_durable_;
  std::function<void(const Error&)> on_fatal_;
  Lsn next_lsn_;
  std::vector<LogRecord> pending_;  // shard thread
  SpscQueue<std::vector<LogRecord>> handoff_{1024};
  std::atomic<uint64_t> handed_{0};  // bumped and notified on every Flush
  std::atomic<bool> stopping_{false};
  std::atomic<Lsn> durable_lsn_{0};
  CommitStats own_stats_;
  CommitStats* stats_;
  std::mutex jobs_mu_;  // held only to add or take jobs
  std::vector<std::pair<Lsn, std::function<void(LogStore&)>>> jobs_;
  std::thread thread_;
};

}  // namespace parley::persist
