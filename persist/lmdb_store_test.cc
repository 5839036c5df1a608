#include "persist/lmdb_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "persist/data_dir.h"
#include "persist/test_temp_dir.h"

namespace parley::persist {
namespace {

std::string Payload(Lsn lsn) { return "event-" + std::to_string(lsn); }

// Records first..first+count-1 with recognisable payloads.
std::vector<LogRecord> Batch(Lsn first, size_t count) {
  std::vector<LogRecord> records;
  for (Lsn lsn = first; lsn < first + count; ++lsn) records.push_back({lsn, Payload(lsn)});
  return records;
}

std::vector<std::pair<Lsn, std::string>> ReplayAll(LogStore& store, Lsn from) {
  std::vector<std::pair<Lsn, std::string>> seen;
  Status status = store.Replay(from, [&](Lsn lsn, std::string_view bytes) {
    seen.emplace_back(lsn, std::string(bytes));
    return OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status.error().message;
  return seen;
}

class LmdbStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    Status init = InitDataDir(data_dir_, 1);
    ASSERT_TRUE(init.ok()) << init.error().message;
  }

  std::unique_ptr<LmdbLogStore> OpenShard(LmdbOptions options = {}) {
    auto store = LmdbLogStore::Open(shard_dir_, options);
    EXPECT_TRUE(store.ok()) << store.error().message << " " << store.error().details;
    return store.ok() ? std::move(store).value() : nullptr;
  }

  TempDir tmp_;
  std::string data_dir_ = tmp_.Sub("data");
  std::string shard_dir_ = ShardDir(data_dir_, 0);
};

TEST_F(LmdbStoreTest, NewShardIsEmpty) {
  auto store = OpenShard();
  EXPECT_EQ(store->last_lsn(), 0u);
  EXPECT_TRUE(ReplayAll(*store, 1).empty());
}

TEST_F(LmdbStoreTest, ReopenReplaysEveryBatchInOrder) {
  {
    auto store = OpenShard();
    ASSERT_TRUE(store->AppendBatch(Batch(1, 1)).ok());
    ASSERT_TRUE(store->AppendBatch(Batch(2, 10)).ok());
    ASSERT_TRUE(store->AppendBatch(Batch(12, 100)).ok());
    EXPECT_EQ(store->last_lsn(), 111u);
  }
  auto store = OpenShard();
  EXPECT_EQ(store->last_lsn(), 111u);
  auto seen = ReplayAll(*store, 1);
  ASSERT_EQ(seen.size(), 111u);
  for (Lsn lsn = 1; lsn <= 111; ++lsn) {
    EXPECT_EQ(seen[lsn - 1].first, lsn);
    EXPECT_EQ(seen[lsn - 1].second, Payload(lsn));
  }
}

// Keys are big-endian, so LSNs past 255 and 65535 still sort (and replay) numerically.
TEST_F(LmdbStoreTest, KeyOrderIsNumericAcrossByteBoundaries) {
  auto store = OpenShard();
  ASSERT_TRUE(store->AppendBatch(Batch(1, 70000)).ok());
  auto seen = ReplayAll(*store, 250);
  ASSERT_EQ(seen.size(), 70000u - 249);
  EXPECT_EQ(seen.front().first, 250u);
  EXPECT_EQ(seen[6].first, 256u);
  EXPECT_EQ(seen.back().first, 70000u);
}

TEST_F(LmdbStoreTest, ReplayFromTheMiddleAndPastTheEnd) {
  auto store = OpenShard();
  ASSERT_TRUE(store->AppendBatch(Batch(1, 20)).ok());
  auto from_15 = ReplayAll(*store, 15);
  ASSERT_EQ(from_15.size(), 6u);
  EXPECT_EQ(from_15.front(), std::make_pair(Lsn{15}, Payload(15)));
  EXPECT_EQ(from_15.back().first, 20u);
  EXPECT_EQ(ReplayAll(*store, 0).size(), 20u);  // 0 means from the start
  EXPECT_EQ(ReplayAll(*store, 20).size(), 1u);
  EXPECT_TRUE(ReplayAll(*store, 21).empty());
}

TEST_F(LmdbStoreTest, ReplayStopsAtTheCallbacksFirstError) {
  auto store = OpenShard();
  ASSERT_TRUE(store->AppendBatch(Batch(1, 10)).ok());
  int calls = 0;
  Status status = store->Replay(1, [&](Lsn lsn, std::string_view) -> Status {
    ++calls;
    if (lsn == 4) return MakeError(ErrorCode::kInternal, "corrupt event", "at 4");
    return OkStatus();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().details, "at 4");
  EXPECT_EQ(calls, 4);
}

TEST_F(LmdbStoreTest, NonContiguousBatchIsRejectedAndNothingIsAppended) {
  {
    auto store = OpenShard();
    ASSERT_TRUE(store->AppendBatch(Batch(1, 3)).ok());
    Status gap = store->AppendBatch(Batch(5, 2));
    ASSERT_FALSE(gap.ok());
    EXPECT_EQ(gap.error().code, ErrorCode::kInternal);
    EXPECT_EQ(gap.error().message, "non-contiguous lsn");
    EXPECT_EQ(gap.error().details, "expected 4, got 5");

    std::vector<LogRecord> hole = {{4, "a"}, {6, "b"}};  // good start, gap inside
    Status inner = store->AppendBatch(hole);
    ASSERT_FALSE(inner.ok());
    EXPECT_EQ(inner.error().details, "expected 5, got 6");

    Status replayed = store->AppendBatch(Batch(3, 1));
    ASSERT_FALSE(replayed.ok());
    EXPECT_EQ(replayed.error().details, "expected 4, got 3");
    EXPECT_EQ(store->last_lsn(), 3u);
  }
  auto store = OpenShard();
  EXPECT_EQ(store->last_lsn(), 3u);
  EXPECT_EQ(ReplayAll(*store, 1).size(), 3u);
}

TEST_F(LmdbStoreTest, FirstBatchMustStartAtOne) {
  auto store = OpenShard();
  Status status = store->AppendBatch(Batch(2, 1));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().details, "expected 1, got 2");
}

TEST_F(LmdbStoreTest, EmptyBatchIsANoOp) {
  auto store = OpenShard();
  EXPECT_TRUE(store->AppendBatch({}).ok());
  EXPECT_EQ(store->last_lsn(), 0u);
}

TEST_F(LmdbStoreTest, AsyncDurabilityAppendsAndReopens) {
  LmdbOptions async;
  async.durability = Durability::kAsync;
  {
    auto store = OpenShard(async);
    ASSERT_TRUE(store->AppendBatch(Batch(1, 50)).ok());
  }
  EXPECT_EQ(OpenShard()->last_lsn(), 50u);
}

TEST_F(LmdbStoreTest, ReadOnlyStoreReadsButRefusesAppends) {
  ASSERT_TRUE(OpenShard()->AppendBatch(Batch(1, 2)).ok());
  LmdbOptions read_only;
  read_only.read_only = true;
  auto store = OpenShard(read_only);
  EXPECT_EQ(store->last_lsn(), 2u);
  EXPECT_EQ(ReplayAll(*store, 1).size(), 2u);
  Status append = store->AppendBatch(Batch(3, 1));
  ASSERT_FALSE(append.ok());
  EXPECT_EQ(append.error().message, "log append failed");
  EXPECT_FALSE(store->WriteMeta("k", "v").ok());
}

TEST_F(LmdbStoreTest, MetaWrittenByInit) {
  auto store = OpenShard();
  EXPECT_EQ(*store->ReadMeta("format_version"), "1");
  EXPECT_EQ(*store->ReadMeta("shard_count"), "1");
  EXPECT_EQ(*store->ReadMeta("shard_index"), "0");
  EXPECT_EQ(*store->ReadMeta("created_by"), "parley-admin init");
  EXPECT_EQ(*store->ReadMeta("no_such_key"), "");
}

TEST_F(LmdbStoreTest, WriteMetaPersists) {
  ASSERT_TRUE(OpenShard()->WriteMeta("snapshot_lsn", "42").ok());
  EXPECT_EQ(*OpenShard()->ReadMeta("snapshot_lsn"), "42");
}

// LMDB's locks break if one process opens an environment twice; the store refuses instead.
// A meta page torn by a power cut: LMDB refuses the file, and the error says which page is
// damaged and that the other still holds a transaction, instead of "not an LMDB file".
TEST_F(LmdbStoreTest, DamagedMetaPageIsNamed) {
  {
    auto store = OpenShard();
    ASSERT_TRUE(store->AppendBatch(Batch(1, 3)).ok());
  }
  {
    std::fstream file(shard_dir_ + "/data.mdb", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(sysconf(_SC_PAGESIZE)) + 16);  // meta 1's magic
    file.write("torn", 4);
  }
  auto store = LmdbLogStore::Open(shard_dir_, {});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("meta page 1 of " + shard_dir_ + "/data.mdb is damaged"),
            std::string::npos)
      << store.error().message;
  EXPECT_NE(store.error().message.find("meta page 0 is intact at transaction"), std::string::npos)
      << store.error().message;
}

TEST_F(LmdbStoreTest, SecondOpenInOneProcessIsRefused) {
  auto first = OpenShard();
  auto second = LmdbLogStore::Open(shard_dir_ + "/.", LmdbOptions{});  // same dir, other path
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kInternal);
  EXPECT_NE(second.error().message.find("already open in this process"), std::string::npos);
  first.reset();
  EXPECT_NE(OpenShard(), nullptr);
}

TEST_F(LmdbStoreTest, MapFullFailsTheBatchAndKeepsTheStoreUsable) {
  const std::string dir = tmp_.Sub("small");
  ASSERT_TRUE(LmdbLogStore::Create(dir, {{"format_version", "1"}}, 1 << 20).ok());
  LmdbOptions small;
  small.map_size_bytes = 1 << 20;
  auto store = LmdbLogStore::Open(dir, small);
  ASSERT_TRUE(store.ok()) << store.error().message;
  Status full = (*store)->AppendBatch({{1, std::string(2 << 20, 'x')}});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kInternal);
  EXPECT_EQ(full.error().message, "log append failed");
  EXPECT_NE(full.error().details.find("MDB_MAP_FULL"), std::string::npos) << full.error().details;
  EXPECT_EQ((*store)->last_lsn(), 0u);
  EXPECT_TRUE((*store)->AppendBatch(Batch(1, 1)).ok());
  EXPECT_EQ(ReplayAll(**store, 1).size(), 1u);
}

TEST(LmdbStoreOpenTest, MissingEnvironmentNamesTheInitCommand) {
  TempDir tmp;
  for (const std::string& dir : {tmp.Sub("absent"), tmp.path()}) {
    auto store = LmdbLogStore::Open(dir, LmdbOptions{});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(store.error().message.find("parley-admin init"), std::string::npos);
  }
  // Opening never provisions: the empty directory is still empty.
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

TEST(LmdbStoreOpenTest, GarbageDataFileIsAnErrorNotACrash) {
  TempDir tmp;
  std::ofstream(tmp.Sub("data.mdb")) << std::string(10000, 'z');
  auto store = LmdbLogStore::Open(tmp.path(), LmdbOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kInternal);
  EXPECT_NE(store.error().details.find("mdb_env_open"), std::string::npos);
}

TEST(LmdbStoreCreateTest, CreateRefusesAnExistingEnvironment) {
  TempDir tmp;
  const std::string dir = tmp.Sub("env");
  ASSERT_TRUE(LmdbLogStore::Create(dir, {}).ok());
  Status again = LmdbLogStore::Create(dir, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace parley::persist
