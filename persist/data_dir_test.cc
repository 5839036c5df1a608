#include "persist/data_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"

namespace parley::persist {
namespace {

namespace fs = std::filesystem;

class DataDirTest : public testing::Test {
 protected:
  void Init(uint32_t shards) {
    Status status = InitDataDir(data_dir_, shards);
    ASSERT_TRUE(status.ok()) << status.error().message;
  }

  // Changes one meta value of shard-K, as a stale or hand-edited directory would have it.
  void SetMeta(uint32_t shard, const std::string& key, const std::string& value) {
    auto store = LmdbLogStore::Open(ShardDir(data_dir_, shard), LmdbOptions{});
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->WriteMeta(key, value).ok());
  }

  // The check fails with `code`, and its message names every `parts` and (unless the fix is
  // another command) the init command.
  void ExpectCheckError(uint32_t expected_shards, ErrorCode code,
                        std::initializer_list<std::string> parts, bool names_init = true) {
    Result<DataDirInfo> info = CheckDataDir(data_dir_, expected_shards);
    ASSERT_FALSE(info.ok());
    const std::string& message = info.error().message;
    EXPECT_EQ(info.error().code, code) << message;
    if (names_init) {
      EXPECT_NE(message.find("parley-admin init"), std::string::npos) << message;
    }
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos) << "no \"" << part << "\" in: " << message;
    }
  }

  TempDir tmp_;
  std::string data_dir_ = tmp_.Sub("data");
};

TEST_F(DataDirTest, ShardDirNaming) {
  EXPECT_EQ(ShardDir("/var/lib/parley", 3), "/var/lib/parley/shard-3");
}

TEST_F(DataDirTest, InitCreatesShardsAndPassesTheCheck) {
  Init(3);
  for (uint32_t shard = 0; shard < 3; ++shard) {
    EXPECT_TRUE(fs::exists(ShardDir(data_dir_, shard) + "/data.mdb"));
  }
  EXPECT_FALSE(fs::exists(ShardDir(data_dir_, 3)));
  Result<DataDirInfo> info = CheckDataDir(data_dir_, 3);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->format_version, kFormatVersion);
  EXPECT_EQ(info->shard_count, 3u);
  Result<DataDirInfo> any_count = CheckDataDir(data_dir_, 0);
  ASSERT_TRUE(any_count.ok());
  EXPECT_EQ(any_count->shard_count, 3u);
}

TEST_F(DataDirTest, InitRecordsShardMeta) {
  Init(2);
  LmdbOptions read_only;
  read_only.read_only = true;
  auto store = LmdbLogStore::Open(ShardDir(data_dir_, 1), read_only);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->ReadMeta("format_version"), "1");
  EXPECT_EQ(*(*store)->ReadMeta("shard_count"), "2");
  EXPECT_EQ(*(*store)->ReadMeta("shard_index"), "1");
  EXPECT_EQ(*(*store)->ReadMeta("created_by"), "parley-admin init");
}

TEST_F(DataDirTest, SecretKeyIs32RandomBytesReadableOnlyByOwner) {
  Init(1);
  const std::string path = data_dir_ + "/secret.key";
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  Result<std::string> key = ReadSecretKey(data_dir_);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->size(), kSecretKeyBytes);
  EXPECT_EQ(*key, ReadFile(path));

  const std::string other_dir = tmp_.Sub("other");
  ASSERT_TRUE(InitDataDir(other_dir, 1).ok());
  EXPECT_NE(*ReadSecretKey(other_dir), *key);
}

TEST_F(DataDirTest, InitTwiceIsAlreadyExists) {
  Init(2);
  const std::string key = *ReadSecretKey(data_dir_);
  Status again = InitDataDir(data_dir_, 2);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("already initialised"), std::string::npos);
  EXPECT_EQ(*ReadSecretKey(data_dir_), key);  // untouched
}

TEST_F(DataDirTest, InitUsesAnExistingEmptyDirectory) {
  fs::create_directory(data_dir_);
  Init(1);
  EXPECT_TRUE(CheckDataDir(data_dir_, 1).ok());
}

TEST_F(DataDirTest, InitCreatesMissingParents) {
  data_dir_ = tmp_.Sub("a/b/data");
  Init(1);
  EXPECT_TRUE(CheckDataDir(data_dir_, 1).ok());
}

TEST_F(DataDirTest, InitRefusesANonEmptyDirectory) {
  fs::create_directory(data_dir_);
  std::ofstream(data_dir_ + "/notes.txt") << "mine";
  Status status = InitDataDir(data_dir_, 1);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("not empty"), std::string::npos);
  EXPECT_FALSE(fs::exists(ShardDir(data_dir_, 0)));
}

TEST_F(DataDirTest, InitRefusesShardCountsOutOfRange) {
  for (uint32_t shards : {0u, kMaxShards + 1}) {
    Status status = InitDataDir(data_dir_, shards);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(status.error().message.find(std::to_string(shards)), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(data_dir_));
}

TEST_F(DataDirTest, CheckMissingDirectory) {
  ExpectCheckError(2, ErrorCode::kUnavailable,
                   {"does not exist", "parley-admin init --data_dir " + data_dir_ + " --shards 2"});
}

TEST_F(DataDirTest, CheckEmptyDirectory) {
  fs::create_directory(data_dir_);
  ExpectCheckError(
      2, ErrorCode::kUnavailable,
      {"not initialised", "parley-admin init --data_dir " + data_dir_ + " --shards 2"});
}

TEST_F(DataDirTest, CheckUninitialisedDirectoryWithOtherFiles) {
  fs::create_directory(data_dir_);
  std::ofstream(data_dir_ + "/notes.txt") << "mine";
  ExpectCheckError(0, ErrorCode::kUnavailable, {"not initialised", "holds other files"});
}

TEST_F(DataDirTest, CheckOlderFormatVersionNamesMigrate) {
  Init(2);
  SetMeta(0, "format_version", "0");
  ExpectCheckError(2, ErrorCode::kInvalidArgument,
                   {"of format version 0", "this parleyd reads version 1",
                    "parley-admin migrate --data_dir " + data_dir_},
                   /*names_init=*/false);
}

TEST_F(DataDirTest, CheckNewerFormatVersionNamesTheNewerRelease) {
  Init(2);
  SetMeta(0, "format_version", "2");
  ExpectCheckError(2, ErrorCode::kInvalidArgument,
                   {"of format version 2", "written by a newer parley"}, /*names_init=*/false);
}

// A migration that stopped after shard 0: the shard left behind is named, with the command.
TEST_F(DataDirTest, CheckHalfMigratedDirectoryNamesMigrate) {
  Init(2);
  SetMeta(1, "format_version", "0");
  ExpectCheckError(2, ErrorCode::kInvalidArgument,
                   {"shard-1 is of format version 0", "parley-admin migrate"},
                   /*names_init=*/false);
}

TEST_F(DataDirTest, CheckUnreadableFormatVersion) {
  Init(1);
  SetMeta(0, "format_version", "one");
  ExpectCheckError(1, ErrorCode::kInvalidArgument, {"invalid meta format_version \"one\""});
}

TEST_F(DataDirTest, CheckOtherShardCount) {
  Init(2);
  ExpectCheckError(4, ErrorCode::kInvalidArgument,
                   {"has 2 shards but 4 were requested", "fixed at init", "--shards 4"});
}

TEST_F(DataDirTest, CheckMissingShard) {
  Init(3);
  fs::remove_all(ShardDir(data_dir_, 1));
  ExpectCheckError(0, ErrorCode::kUnavailable,
                   {"records 3 shards but shard-1 is missing", "--shards 3"});
}

TEST_F(DataDirTest, CheckShardWithoutEnvironment) {
  Init(2);
  fs::remove_all(ShardDir(data_dir_, 1));
  fs::create_directory(ShardDir(data_dir_, 1));
  ExpectCheckError(2, ErrorCode::kUnavailable, {"shard-1", "no LMDB environment"});
}

TEST_F(DataDirTest, CheckShardAtTheWrongIndex) {
  Init(2);
  SetMeta(1, "shard_index", "0");
  ExpectCheckError(2, ErrorCode::kInvalidArgument, {"shard-1 records", "shard_index 0"});
}

TEST_F(DataDirTest, CheckShardFromADirectoryWithAnotherCount) {
  Init(2);
  SetMeta(1, "shard_count", "3");
  ExpectCheckError(2, ErrorCode::kInvalidArgument, {"shard_count 3", "expected 1, 2 and 1"});
}

TEST_F(DataDirTest, CheckMissingSecretKey) {
  Init(1);
  fs::remove(data_dir_ + "/secret.key");
  ExpectCheckError(1, ErrorCode::kUnavailable, {"secret.key", "--shards 1"});
}

TEST_F(DataDirTest, CheckSecretKeyOfTheWrongSize) {
  Init(1);
  fs::resize_file(data_dir_ + "/secret.key", 10);
  ExpectCheckError(1, ErrorCode::kInvalidArgument, {"holds 10 bytes, expected 32"});
}

TEST_F(DataDirTest, SecretKeyReadableByOthersIsRefused) {
  Init(1);
  const std::string path = data_dir_ + "/secret.key";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  Result<std::string> key = ReadSecretKey(data_dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message.find("chmod 600 " + path), std::string::npos);
  EXPECT_FALSE(CheckDataDir(data_dir_, 1).ok());
}

// The check opens each environment and closes it again, so the server can open them next.
TEST_F(DataDirTest, CheckLeavesNoEnvironmentOpen) {
  Init(2);
  ASSERT_TRUE(CheckDataDir(data_dir_, 2).ok());
  for (uint32_t shard = 0; shard < 2; ++shard) {
    EXPECT_TRUE(LmdbLogStore::Open(ShardDir(data_dir_, shard), LmdbOptions{}).ok());
  }
}

// One holder at a time (a second open of the file in the same process counts as another
// holder, as flock locks belong to open files); released on destruction.
TEST_F(DataDirTest, LockIsExclusiveUntilReleased) {
  Init(1);
  {
    Result<DataDirLock> first = LockDataDir(data_dir_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    Result<DataDirLock> second = LockDataDir(data_dir_);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(second.error().message.find("in use by another process"), std::string::npos);
    DataDirLock moved = std::move(first).value();
    EXPECT_FALSE(LockDataDir(data_dir_).ok());
  }
  EXPECT_TRUE(LockDataDir(data_dir_).ok());
}

}  // namespace
}  // namespace parley::persist
