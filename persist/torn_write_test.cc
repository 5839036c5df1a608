// The crash checker's torn commits (torn_write.h) are damage LMDB must not notice: after each,
// the environment opens and every committed record replays as written, and the next commits
// (which overwrite the damaged pages) replay too.
#include "persist/torn_write.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"

namespace parley::persist {
namespace {

std::string Payload(Lsn lsn) { return "event-" + std::to_string(lsn) + std::string(200, 'x'); }

class TornWriteTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitDataDir(data_dir_, 1).ok()); }

  // Appends `batches` commits of 50 records each; each commit rewrites the tree's right edge,
  // so older commits leave freed pages behind.
  void Append(int batches) {
    auto store = LmdbLogStore::Open(shard_dir_, {});
    ASSERT_TRUE(store.ok()) << store.error().message;
    for (int b = 0; b < batches; ++b) {
      std::vector<LogRecord> batch;
      for (int i = 0; i < 50; ++i) batch.push_back({++last_, Payload(last_)});
      ASSERT_TRUE((*store)->AppendBatch(batch).ok());
    }
  }

  void ExpectEverythingReplays() {
    auto store = LmdbLogStore::Open(shard_dir_, {});
    ASSERT_TRUE(store.ok()) << store.error().message;
    Lsn expected = 1;
    Status replay = (*store)->Replay(1, [&](Lsn lsn, std::string_view bytes) {
      EXPECT_EQ(lsn, expected++);
      EXPECT_EQ(bytes, Payload(lsn));
      return OkStatus();
    });
    ASSERT_TRUE(replay.ok()) << replay.error().message;
    EXPECT_EQ(expected, last_ + 1);
  }

  TempDir tmp_;
  std::string data_dir_ = tmp_.Sub("data");
  std::string shard_dir_ = ShardDir(data_dir_, 0);
  Lsn last_ = 0;
  std::mt19937_64 rng_{7};
};

TEST_F(TornWriteTest, GarbageTailIsIgnoredAndOverwritten) {
  Append(20);
  auto size = std::filesystem::file_size(shard_dir_ + "/data.mdb");
  for (int round = 0; round < 5; ++round) {
    auto torn = SimulateTornCommit(shard_dir_, TornCommit::kTail, rng_);
    ASSERT_TRUE(torn.ok()) << torn.error().message;
    EXPECT_GE(torn->pages, 1u);
    EXPECT_NE(torn->what.find("tail"), std::string::npos) << torn->what;
    ExpectEverythingReplays();
    Append(5);
    ExpectEverythingReplays();
  }
  EXPECT_GT(std::filesystem::file_size(shard_dir_ + "/data.mdb"), size);
}

TEST_F(TornWriteTest, GarbageInReusableFreePagesIsIgnoredAndOverwritten) {
  Append(20);
  for (int round = 0; round < 5; ++round) {
    auto torn = SimulateTornCommit(shard_dir_, TornCommit::kFreePages, rng_);
    ASSERT_TRUE(torn.ok()) << torn.error().message;
    EXPECT_NE(torn->what.find("free pages"), std::string::npos) << torn->what;
    ExpectEverythingReplays();
    Append(5);
    ExpectEverythingReplays();
  }
}

// The one torn write LMDB cannot read past: the store refuses the file, naming the page; put
// back (a restore), everything replays.
TEST_F(TornWriteTest, TornMetaPageIsRefusedByNameAndUndone) {
  Append(3);
  auto torn = SimulateTornCommit(shard_dir_, TornCommit::kMeta, rng_);
  ASSERT_TRUE(torn.ok()) << torn.error().message;
  auto refused = LmdbLogStore::Open(shard_dir_, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find(torn->what.substr(5) + " of "), std::string::npos)
      << torn->what << " / " << refused.error().message;
  ASSERT_TRUE(UndoTornMeta(shard_dir_, *torn).ok());
  ExpectEverythingReplays();
}

// A fresh environment's one commit freed nothing an older snapshot no longer needs.
TEST_F(TornWriteTest, NoReusableFreePageIsNotFoundAndChangesNothing) {
  std::string before = ReadFile(shard_dir_ + "/data.mdb");
  auto torn = SimulateTornCommit(shard_dir_, TornCommit::kFreePages, rng_);
  ASSERT_FALSE(torn.ok());
  EXPECT_EQ(torn.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ReadFile(shard_dir_ + "/data.mdb"), before);
}

}  // namespace
}  // namespace parley::persist
