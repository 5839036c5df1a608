#include "persist/group_committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"

namespace parley::persist {
namespace {

std::string Payload(Lsn lsn) { return "record-" + std::to_string(lsn); }

// Lets the test thread wait for something the persist thread does, without sleeping: every
// callback notifies, and the waiter re-checks its condition.
class Signal {
 public:
  void Notify() {
    { std::lock_guard<std::mutex> lock(mutex_); }
    cv_.notify_all();
  }
  template <class Predicate>
  bool WaitUntil(Predicate done) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), done);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
};

// Checks that `store` holds exactly LSNs 1..count with the payloads the tests append.
void ExpectLog(LogStore& store, Lsn count) {
  EXPECT_EQ(store.last_lsn(), count);
  Lsn expected = 1;
  Status status = store.Replay(1, [&](Lsn lsn, std::string_view bytes) {
    EXPECT_EQ(lsn, expected);
    EXPECT_EQ(bytes, Payload(lsn));
    ++expected;
    return OkStatus();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(expected, count + 1);
}

// Fails every append, counting the attempts.
class FailingLogStore : public LogStore {
 public:
  explicit FailingLogStore(std::atomic<int>* calls) : calls_(calls) {}
  Status AppendBatch(const std::vector<LogRecord>&) override {
    calls_->fetch_add(1);
    return MakeError(ErrorCode::kInternal, "log append failed", "mdb_put: MDB_MAP_FULL");
  }
  Lsn last_lsn() const override { return 0; }
  Status Replay(Lsn, const std::function<Status(Lsn, std::string_view)>&) override {
    return OkStatus();
  }

 private:
  std::atomic<int>* calls_;
};

class GroupCommitterTest : public testing::Test {
 protected:
  // A committer over a MemoryLogStore that the test can still inspect (after Stop()).
  std::unique_ptr<GroupCommitter> MakeCommitter(std::unique_ptr<LogStore> store = nullptr) {
    if (store == nullptr) store = std::make_unique<MemoryLogStore>();
    store_ = store.get();
    return std::make_unique<GroupCommitter>(
        std::move(store),
        [this] {
          durable_calls_.fetch_add(1);
          signal_.Notify();
        },
        [this](const Error& error) {
          {
            std::lock_guard<std::mutex> lock(fatal_mutex_);
            fatal_.push_back(error);
          }
          signal_.Notify();
        });
  }

  // Appends `count` records, handing them over every `per_flush`.
  static void AppendAndFlush(GroupCommitter& committer, size_t count, size_t per_flush) {
    for (size_t i = 0; i < count; ++i) {
      const Lsn lsn = committer.last_appended() + 1;
      EXPECT_EQ(committer.Append(Payload(lsn)), lsn);
      if ((i + 1) % per_flush == 0) committer.Flush();
    }
    committer.Flush();
  }

  LogStore* store_ = nullptr;
  std::atomic<int> durable_calls_{0};
  Signal signal_;
  std::mutex fatal_mutex_;
  std::vector<Error> fatal_;
};

TEST_F(GroupCommitterTest, CommitsEverythingAcrossManyFlushes) {
  auto committer = MakeCommitter();
  committer->Start();
  AppendAndFlush(*committer, 1000, 7);
  ASSERT_TRUE(signal_.WaitUntil([&] { return committer->durable_lsn() == 1000; }));
  EXPECT_GE(durable_calls_.load(), 1);
  EXPECT_LE(durable_calls_.load(), 143);  // at most one commit per Flush
  EXPECT_EQ(committer->stats().records.load(), 1000u);
  EXPECT_EQ(committer->stats().batches.load(), static_cast<uint64_t>(durable_calls_.load()));
  EXPECT_GE(committer->stats().max_batch.load(), 7u);
  committer->Stop();
  ExpectLog(*store_, 1000);
}

// The histograms /metrics exports: one observation per batch, the sizes adding up to the
// records, and the last LSN written.
TEST_F(GroupCommitterTest, HistogramsCountEveryBatch) {
  auto committer = MakeCommitter();
  committer->Start();
  AppendAndFlush(*committer, 300, 10);
  ASSERT_TRUE(signal_.WaitUntil([&] { return committer->durable_lsn() == 300; }));
  committer->Stop();
  const CommitStats& stats = committer->stats();
  EXPECT_EQ(stats.batch_records.count(), stats.batches.load());
  EXPECT_EQ(stats.batch_records.sum(), 300u);
  EXPECT_EQ(stats.commit_ns.count(), stats.batches.load());
  uint64_t in_buckets = 0;
  for (size_t i = 0; i <= stats.batch_records.bounds().size(); ++i) {
    in_buckets += stats.batch_records.bucket(i);
  }
  EXPECT_EQ(in_buckets, stats.batches.load());
  EXPECT_EQ(stats.batch_records.bucket(0), 0u);  // batches of 10 or more never land in le=1
  EXPECT_EQ(stats.committed_lsn.load(), 300u);
}

TEST_F(GroupCommitterTest, StopDrainsEverythingHandedOver) {
  auto committer = MakeCommitter();
  committer->Start();
  AppendAndFlush(*committer, 100, 1);
  committer->Stop();
  EXPECT_EQ(committer->durable_lsn(), 100u);
  ExpectLog(*store_, 100);
}

// A job (a snapshot's write) runs on the persist thread once the records appended before it are
// in the store, and between commits.
TEST_F(GroupCommitterTest, JobRunsOnceEarlierRecordsAreCommitted) {
  auto committer = MakeCommitter();
  committer->Start();
  AppendAndFlush(*committer, 50, 7);
  std::atomic<Lsn> seen{0};
  std::thread::id ran_on;
  committer->RunAfterCommit([&](LogStore& store) {
    ran_on = std::this_thread::get_id();
    seen = store.last_lsn();
    signal_.Notify();
  });
  ASSERT_TRUE(signal_.WaitUntil([&] { return seen.load() != 0; }));
  EXPECT_EQ(seen.load(), 50u);
  EXPECT_NE(ran_on, std::this_thread::get_id());
  AppendAndFlush(*committer, 10, 3);
  committer->Stop();
  ExpectLog(*store_, 60);
}

// Jobs queued before Stop() run before it returns, after every record appended before them,
// including ones never flushed.
TEST_F(GroupCommitterTest, StopRunsQueuedJobsAfterTheirRecords) {
  auto committer = MakeCommitter();
  committer->Start();
  for (int i = 0; i < 5; ++i) committer->Append(Payload(committer->last_appended() + 1));
  std::vector<Lsn> seen;
  committer->RunAfterCommit([&](LogStore& store) { seen.push_back(store.last_lsn()); });
  committer->Append(Payload(committer->last_appended() + 1));
  committer->RunAfterCommit([&](LogStore& store) { seen.push_back(store.last_lsn()); });
  committer->Stop();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[0], 5u);
  EXPECT_EQ(seen[1], 6u);
}

TEST_F(GroupCommitterTest, StopCommitsRecordsNeverFlushed) {
  auto committer = MakeCommitter();
  committer->Start();
  for (Lsn lsn = 1; lsn <= 5; ++lsn) committer->Append(Payload(lsn));
  committer->Stop();
  EXPECT_EQ(committer->durable_lsn(), 5u);
  ExpectLog(*store_, 5);
}

TEST_F(GroupCommitterTest, StopIsIdempotentAndFineWithoutStart) {
  auto idle = MakeCommitter();
  idle->Stop();
  idle->Stop();
  auto committer = MakeCommitter();
  committer->Start();
  AppendAndFlush(*committer, 3, 1);
  committer->Stop();
  committer->Stop();
  EXPECT_EQ(committer->durable_lsn(), 3u);
}

TEST_F(GroupCommitterTest, LsnsContinueAnExistingLog) {
  auto store = std::make_unique<MemoryLogStore>();
  ASSERT_TRUE(store->AppendBatch({{1, Payload(1)}, {2, Payload(2)}, {3, Payload(3)}}).ok());
  auto committer = MakeCommitter(std::move(store));
  EXPECT_EQ(committer->durable_lsn(), 3u);
  EXPECT_EQ(committer->last_appended(), 3u);
  committer->Start();
  EXPECT_EQ(committer->Append(Payload(4)), 4u);
  committer->Stop();
  ExpectLog(*store_, 4);
}

// The hand-off queue holds 1024 batches. With the persist thread not yet running, the 1025th
// Flush finds it full: the shard must not block, and the records must still be committed later.
TEST_F(GroupCommitterTest, FullQueueKeepsRecordsPendingUntilThereIsRoom) {
  auto committer = MakeCommitter();
  AppendAndFlush(*committer, 1100, 1);
  EXPECT_EQ(committer->durable_lsn(), 0u);
  committer->Start();
  committer->Append(Payload(1101));
  committer->Flush();  // 1025..1101 go as soon as the queue has room, at the latest at Stop()
  committer->Stop();
  EXPECT_EQ(committer->durable_lsn(), 1101u);
  ExpectLog(*store_, 1101);
}

// A store like LmdbLogStore under kSync: a commit becomes durable when the next commit's flush
// or a Sync() covers it. Tracks what a power loss would keep.
class DeferredFlushStore : public MemoryLogStore {
 public:
  Status AppendBatch(const std::vector<LogRecord>& records) override {
    Status s = MemoryLogStore::AppendBatch(records);
    flushed_.store(committed_);  // this commit's flush covers the previous commit
    committed_ = last_lsn();
    return s;
  }
  bool durable_on_commit() const override { return false; }
  Status Sync() override {
    syncs_.fetch_add(1);
    flushed_.store(committed_);
    return OkStatus();
  }
  Lsn flushed() const { return flushed_.load(); }
  int syncs() const { return syncs_.load(); }

 private:
  Lsn committed_ = 0;  // persist thread only
  std::atomic<Lsn> flushed_{0};
  std::atomic<int> syncs_{0};
};

// Commits through a DeferredFlushStore; counts publications of an LSN no flush covered yet.
struct DeferredFixture {
  DeferredFlushStore* store = new DeferredFlushStore();
  std::atomic<int> early{0};
  GroupCommitter* self = nullptr;
  GroupCommitter committer{std::unique_ptr<LogStore>(store),
                           [this] {
                             if (self->durable_lsn() > store->flushed()) early.fetch_add(1);
                           },
                           [](const Error&) {}};
  DeferredFixture() { self = &committer; }

  // Waits (at most 3 s) for `lsn` to be published; returns the durable LSN then.
  Lsn AwaitDurable(Lsn lsn) {
    for (int i = 0; i < 3000 && committer.durable_lsn() < lsn; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return committer.durable_lsn();
  }
};

TEST_F(GroupCommitterTest, DeferredFlushPublishesOnlyWhatAFlushCovered) {
  DeferredFixture f;
  f.committer.Start();
  AppendAndFlush(f.committer, 5000, 7);
  EXPECT_EQ(f.AwaitDurable(5000), 5000u);
  EXPECT_EQ(f.early.load(), 0);
  EXPECT_GE(f.store->syncs(), 1);  // the last commit had nothing after it
  f.committer.Stop();
  ExpectLog(*f.store, 5000);
}

TEST_F(GroupCommitterTest, DeferredFlushSyncsALoneCommit) {
  DeferredFixture f;
  f.committer.Start();
  AppendAndFlush(f.committer, 1, 1);
  EXPECT_EQ(f.AwaitDurable(1), 1u);
  EXPECT_EQ(f.store->syncs(), 1);
  EXPECT_EQ(f.early.load(), 0);
  f.committer.Stop();
}

TEST_F(GroupCommitterTest, FailedCommitCallsOnFatalAndStopsCommitting) {
  std::atomic<int> append_calls{0};
  auto committer = MakeCommitter(std::make_unique<FailingLogStore>(&append_calls));
  committer->Start();
  AppendAndFlush(*committer, 1, 1);
  ASSERT_TRUE(signal_.WaitUntil([&] {
    std::lock_guard<std::mutex> lock(fatal_mutex_);
    return !fatal_.empty();
  }));
  AppendAndFlush(*committer, 10, 1);
  committer->Stop();
  ASSERT_EQ(fatal_.size(), 1u);
  EXPECT_EQ(fatal_[0].code, ErrorCode::kInternal);
  EXPECT_EQ(fatal_[0].details, "mdb_put: MDB_MAP_FULL");
  EXPECT_EQ(append_calls.load(), 1);  // the log cannot catch up any more: nothing else is tried
  EXPECT_EQ(committer->durable_lsn(), 0u);
  EXPECT_EQ(durable_calls_.load(), 0);
}

TEST_F(GroupCommitterTest, CommitsToLmdbAndSurvivesReopen) {
  TempDir tmp;
  const std::string data_dir = tmp.Sub("data");
  ASSERT_TRUE(InitDataDir(data_dir, 1).ok());
  {
    auto store = LmdbLogStore::Open(ShardDir(data_dir, 0), LmdbOptions{});
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto committer = MakeCommitter(std::move(store).value());
    committer->Start();
    AppendAndFlush(*committer, 500, 13);
    ASSERT_TRUE(signal_.WaitUntil([&] { return committer->durable_lsn() == 500; }));
    committer->Stop();
    EXPECT_EQ(committer->stats().records.load(), 500u);
  }
  auto reopened = LmdbLogStore::Open(ShardDir(data_dir, 0), LmdbOptions{});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  ExpectLog(**reopened, 500);
}

}  // namespace
}  // namespace parley::persist
