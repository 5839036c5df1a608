#include "persist/backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"

namespace parley::persist {
namespace {

namespace fs = std::filesystem;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Every record of shard-K, as (lsn, bytes) in order.
std::vector<std::string> Records(const std::string& data_dir, uint32_t shard) {
  LmdbOptions options;
  options.read_only = true;
  auto store = LmdbLogStore::Open(ShardDir(data_dir, shard), options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  std::vector<std::string> out;
  if (!store.ok()) return out;
  Status read = (*store)->Replay(1, [&](Lsn lsn, std::string_view bytes) {
    out.push_back(std::to_string(lsn) + ":" + std::string(bytes));
    return OkStatus();
  });
  EXPECT_TRUE(read.ok());
  return out;
}

class BackupTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitDataDir(data_, 2).ok());
    Append(0, {"a", "bb", "ccc"});
    Append(1, {"only one"});
  }

  void Append(uint32_t shard, const std::vector<std::string>& texts) {
    auto store = LmdbLogStore::Open(ShardDir(data_, shard), LmdbOptions{});
    ASSERT_TRUE(store.ok()) << store.error().message;
    std::vector<LogRecord> records;
    for (const std::string& t : texts)
      records.push_back({(*store)->last_lsn() + 1 + records.size(), t});
    ASSERT_TRUE((*store)->AppendBatch(records).ok());
  }

  BackupManifest BackUp() {
    Result<BackupManifest> m = Backup(data_, backup_);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? *m : BackupManifest{};
  }

  // Restore fails with `code` and a message holding `part`, and creates no data directory.
  void ExpectRestoreError(ErrorCode code, const std::string& part) {
    Result<BackupManifest> m = Restore(backup_, restored_);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, code) << m.error().message;
    EXPECT_NE(m.error().message.find(part), std::string::npos) << m.error().message;
    EXPECT_FALSE(fs::exists(restored_));
    for (const auto& entry : fs::directory_iterator(tmp_.path())) {
      EXPECT_EQ(entry.path().filename().string().find(".restoring"), std::string::npos)
          << "left behind: " << entry.path();
    }
  }

  TempDir tmp_;
  std::string data_ = tmp_.Sub("data");
  std::string backup_ = tmp_.Sub("backup");
  std::string restored_ = tmp_.Sub("restored");
};

TEST_F(BackupTest, ManifestRecordsEachShardsLastRecord) {
  BackupManifest m = BackUp();
  EXPECT_EQ(m.manifest_version, kManifestVersion);
  EXPECT_EQ(m.format_version, kFormatVersion);
  EXPECT_EQ(m.shard_count, 2u);
  EXPECT_LE(m.started_at_ms, m.finished_at_ms);
  EXPECT_FALSE(m.parley_version.empty());
  ASSERT_EQ(m.shards.size(), 2u);
  EXPECT_EQ(m.shards[0].last_lsn, 3u);
  EXPECT_EQ(m.shards[0].last_record_bytes, 3u);
  // sha256("ccc")
  EXPECT_EQ(m.shards[0].last_record_sha256,
            "64daa44ad493ff28a96effab6e77f1732a3d97d83241581b37dbd70a7a4900fe");
  EXPECT_EQ(m.shards[1].last_lsn, 1u);
  EXPECT_GT(m.shards[1].file_bytes, 0u);
  // The file says the same.
  Result<BackupManifest> read = ReadManifest(backup_);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->shards[0].last_record_sha256, m.shards[0].last_record_sha256);
  EXPECT_EQ(read->started_at_ms, m.started_at_ms);
}

TEST_F(BackupTest, CopiesLogsAndKeyButNotTheSearchIndex) {
  fs::create_directories(data_ + "/search/shard-0");
  WriteFile(data_ + "/search/shard-0/index", "derived");
  BackUp();
  EXPECT_FALSE(fs::exists(backup_ + "/search"));
  EXPECT_FALSE(fs::exists(ShardDir(backup_, 0) + "/lock.mdb"));  // the copy is left as written
  EXPECT_EQ(ReadFile(backup_ + "/secret.key"), ReadFile(data_ + "/secret.key"));
  struct stat st;
  ASSERT_EQ(::stat((backup_ + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((backup_ + "/manifest.json").c_str(), &st), 0);
  EXPECT_FALSE(fs::exists(backup_ + "/manifest.json.tmp"));
}

TEST_F(BackupTest, RefusesANonEmptyTarget) {
  fs::create_directory(backup_);
  WriteFile(backup_ + "/old", "x");
  Result<BackupManifest> m = Backup(data_, backup_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(m.error().message.find("not an empty directory"), std::string::npos);
  EXPECT_EQ(ReadFile(backup_ + "/old"), "x");
}

TEST_F(BackupTest, AcceptsAnEmptyTargetDirectory) {
  fs::create_directory(backup_);
  BackUp();
  EXPECT_TRUE(fs::exists(backup_ + "/manifest.json"));
}

TEST_F(BackupTest, RefusesAnUninitialisedDataDirectory) {
  Result<BackupManifest> m = Backup(tmp_.Sub("nothing"), backup_);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("parley-admin init"), std::string::npos);
  EXPECT_FALSE(fs::exists(backup_));
}

TEST_F(BackupTest, RestoreGivesTheSameLogsAndKey) {
  BackUp();
  Append(0, {"after the backup"});
  Result<BackupManifest> m = Restore(backup_, restored_);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(Records(restored_, 0), (std::vector<std::string>{"1:a", "2:bb", "3:ccc"}));
  EXPECT_EQ(Records(restored_, 1), (std::vector<std::string>{"1:only one"}));
  EXPECT_EQ(ReadFile(restored_ + "/secret.key"), ReadFile(data_ + "/secret.key"));
  Result<DataDirInfo> info = CheckDataDir(restored_, 2);
  EXPECT_TRUE(info.ok()) << info.error().message;
}

TEST_F(BackupTest, RestoreIntoAnEmptyDirectory) {
  BackUp();
  fs::create_directory(restored_);
  Result<BackupManifest> m = Restore(backup_, restored_);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(CheckDataDir(restored_, 2).ok());
}

TEST_F(BackupTest, RestoreRefusesANonEmptyTarget) {
  BackUp();
  Result<BackupManifest> m = Restore(backup_, data_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(m.error().message.find("not an empty directory"), std::string::npos);
  EXPECT_EQ(Records(data_, 1), (std::vector<std::string>{"1:only one"}));
}

TEST_F(BackupTest, RestoreRefusesABackupWithoutManifest) {
  BackUp();
  fs::remove(backup_ + "/manifest.json");
  ExpectRestoreError(ErrorCode::kUnavailable, "incomplete backup");
}

TEST_F(BackupTest, RestoreRefusesAManifestThatIsNotJson) {
  BackUp();
  WriteFile(backup_ + "/manifest.json", "{\"manifest_version\": 1,");
  ExpectRestoreError(ErrorCode::kInvalidArgument, "not a JSON object");
}

class BadManifestTest : public BackupTest,
                        public testing::WithParamInterface<std::pair<const char*, const char*>> {};

// Each edit of a good manifest (a JSON pointer and a value) and the error it must give.
TEST_P(BadManifestTest, RestoreRefusesIt) {
  BackUp();
  auto j = nlohmann::json::parse(ReadFile(backup_ + "/manifest.json"));
  auto [pointer, value] = GetParam();
  j[nlohmann::json::json_pointer(pointer)] = nlohmann::json::parse(value);
  WriteFile(backup_ + "/manifest.json", j.dump());
  std::string want = std::string(pointer) == "/manifest_version" ? "manifest_version 7"
                     : std::string(pointer) == "/format_version" ? "format version 9"
                     : std::string(pointer) == "/shard_count"    ? "shard_count 3 with 2"
                     : std::string(pointer) == "/shards/1/shard" ? "out of order"
                                                                 : "shard 0";
  ExpectRestoreError(ErrorCode::kInvalidArgument, want);
}

INSTANTIATE_TEST_SUITE_P(Edits, BadManifestTest,
                         testing::Values(std::pair{"/manifest_version", "7"},
                                         std::pair{"/format_version", "9"},
                                         std::pair{"/shard_count", "3"},
                                         std::pair{"/shards/1/shard", "0"},
                                         std::pair{"/shards/0/last_lsn", "2"}));

TEST_F(BackupTest, RestoreRefusesAManifestWithAMissingField) {
  BackUp();
  auto j = nlohmann::json::parse(ReadFile(backup_ + "/manifest.json"));
  j.erase("shards");
  WriteFile(backup_ + "/manifest.json", j.dump());
  ExpectRestoreError(ErrorCode::kInvalidArgument, "invalid backup manifest");
}

TEST_F(BackupTest, RestoreRefusesAMissingShardFile) {
  BackUp();
  fs::remove(ShardDir(backup_, 1) + "/data.mdb");
  ExpectRestoreError(ErrorCode::kUnavailable, "lacks");
}

}  // namespace
}  // namespace parley::persist
