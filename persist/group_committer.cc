#include "persist/group_committer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

namespace parley::persist {

GroupCommitter::GroupCommitter(std::unique_ptr<LogStore> store, std::function<void()> on_durable,
                               std::function<void(const Error&)> on_fatal, CommitStats* stats)
    : store_(std::move(store)),
      on_durable_(std::move(on_durable)),
      on_fatal_(std::move(on_fatal)),
      next_lsn_(store_->last_lsn() + 1),
      durable_lsn_(store_->last_lsn()),
      stats_(stats != nullptr ? stats : &own_stats_) {
  stats_->committed_lsn.store(store_->last_lsn(), std::memory_order_relaxed);
}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void GroupCommitter::Stop() {
  if (!thread_.joinable()) return;
  // Records appended but not yet handed over (never flushed, or left behind by a full queue)
  // are already applied to the shard's state, so they are committed too. The persist thread
  // keeps draining the queue, so this wait for room ends.
  while (!pending_.empty()) {
    Flush();
    if (!pending_.empty()) std::this_thread::yield();
  }
  stopping_.store(true, std::memory_order_release);
  handed_.fetch_add(1, std::memory_order_release);
  handed_.notify_one();
  thread_.join();
}

Lsn GroupCommitter::Append(std::string bytes) {
  const Lsn lsn = next_lsn_++;
  pending_.push_back(LogRecord{lsn, std::move(bytes)});
  return lsn;
}

void GroupCommitter::Flush() {
  if (pending_.empty()) return;
  // A full queue means the disk is behind by 1024 batches; the records stay in pending_ and go
  // with the next Flush, because the shard thread must never block here.
  if (!handoff_.TryPush(pending_)) return;
  pending_.clear();  // moved-from: make "empty" a guarantee, not an accident
  handed_.fetch_add(1, std::memory_order_release);
  handed_.notify_one();
}

void GroupCommitter::RunAfterCommit(std::function<void(LogStore&)> job) {
  Flush();
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.emplace_back(last_appended(), std::move(job));
  }
  handed_.fetch_add(1, std::memory_order_release);
  handed_.notify_one();
}

bool GroupCommitter::RunJobs() {
  std::vector<std::pair<Lsn, std::function<void(LogStore&)>>> due;
  {
    std::lock_guard lock(jobs_mu_);
    // In order of LSN: a job waits for records the shard has not yet handed over.
    auto ready = std::find_if(jobs_.begin(), jobs_.end(),
                              [&](const auto& job) { return job.first > store_->last_lsn(); });
    due.assign(std::make_move_iterator(jobs_.begin()), std::make_move_iterator(ready));
    jobs_.erase(jobs_.begin(), ready);
  }
  for (auto& [lsn, job] : due) job(*store_);
  return !due.empty();
}

void GroupCommitter::Run() {
  pthread_setname_np(pthread_self(), "persist");
  bool failed = false;
  Lsn unsynced = 0;  // committed, not yet covered by a flush
  for (;;) {
    // Read both before popping: a Flush that lands after the pop bumps handed_ past `seen`, so
    // the wait below returns at once; and every batch pushed before Stop() set stopping_ is
    // visible to the pop once `stopping` was read true.
    const uint64_t seen = handed_.load(std::memory_order_acquire);
    const bool stopping = stopping_.load(std::memory_order_acquire);
    std::vector<LogRecord> batch;
    while (std::optional<std::vector<LogRecord>> handed = handoff_.TryPop()) {
      if (batch.empty()) {
        batch = std::move(*handed);
      } else {
        batch.insert(batch.end(), std::make_move_iterator(handed->begin()),
                     std::make_move_iterator(handed->end()));
      }
    }
    if (!batch.empty()) {
      // After a failure the log can no longer follow the shard's state; batches are still
      // drained (so Stop() can hand over the rest) but dropped.
      if (!failed) failed = !Commit(batch, &unsynced);
      continue;
    }
    if (unsynced != 0 && !failed) {  // nothing more to commit: flush the last one on its own
      failed = !SyncCommitted(&unsynced);
      continue;
    }
    if (!failed && RunJobs()) continue;
    if (stopping) return;
    handed_.wait(seen, std::memory_order_acquire);
  }
}

bool GroupCommitter::Commit(const std::vector<LogRecord>& batch, Lsn* unsynced) {
  const auto started = std::chrono::steady_clock::now();
  Status status = store_->AppendBatch(batch);
  if (!status.ok()) {
    if (on_fatal_) on_fatal_(status.error());
    return false;
  }
  stats_->commit_ns.Observe(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                           started)
          .count()));
  stats_->batch_records.Observe(batch.size());
  stats_->committed_lsn.store(batch.back().lsn, std::memory_order_relaxed);
  stats_->batches.fetch_add(1, std::memory_order_relaxed);
  stats_->records.fetch_add(batch.size(), std::memory_order_relaxed);
  if (batch.size() > stats_->max_batch.load(std::memory_order_relaxed)) {
    stats_->max_batch.store(batch.size(), std::memory_order_relaxed);  // only this thread writes
  }
  Lsn durable = batch.back().lsn;
  if (!store_->durable_on_commit()) {
    // This commit's flush covered the previous commit; this one waits for the next flush.
    std::swap(durable, *unsynced);
    if (durable == 0) return true;
  }
  PublishDurable(durable);
  return true;
}

bool GroupCommitter::SyncCommitted(Lsn* unsynced) {
  Status status = store_->Sync();
  if (!status.ok()) {
    if (on_fatal_) on_fatal_(status.error());
    return false;
  }
  PublishDurable(std::exchange(*unsynced, 0));
  return true;
}

void GroupCommitter::PublishDurable(Lsn lsn) {
  durable_lsn_.store(lsn, std::memory_order_release);
  if (on_durable_) on_durable_();
}

}  // namespace parley::persist
