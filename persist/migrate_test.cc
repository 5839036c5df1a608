#include "persist/migrate.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"
#include "persist/v0_data_dir.h"

namespace parley::persist {
namespace {

namespace fs = std::filesystem;

std::string Meta(const std::string& data_dir, uint32_t shard, const std::string& key) {
  LmdbOptions options;
  options.read_only = true;
  auto store = LmdbLogStore::Open(ShardDir(data_dir, shard), options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  if (!store.ok()) return "?";
  Result<std::string> value = (*store)->ReadMeta(key);
  return value.ok() ? *value : "?";
}

void SetMeta(const std::string& data_dir, uint32_t shard, const std::string& key,
             const std::string& value) {
  auto store = LmdbLogStore::Open(ShardDir(data_dir, shard), LmdbOptions{});
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->WriteMeta(key, value).ok());
}

std::vector<std::string> Records(const std::string& data_dir, uint32_t shard) {
  LmdbOptions options;
  options.read_only = true;
  auto store = LmdbLogStore::Open(ShardDir(data_dir, shard), options);
  std::vector<std::string> out;
  if (!store.ok()) return out;
  (void)(*store)->Replay(1, [&](Lsn, std::string_view bytes) {
    out.emplace_back(bytes);
    return OkStatus();
  });
  return out;
}

class MigrateTest : public testing::Test {
 protected:
  // A two-shard v0 directory holding the same logs as a v1 one.
  void SetUp() override {
    ASSERT_TRUE(InitDataDir(v1_, 2).ok());
    for (uint32_t k = 0; k < 2; ++k) {
      auto store = LmdbLogStore::Open(ShardDir(v1_, k), LmdbOptions{});
      ASSERT_TRUE(store.ok());
      ASSERT_TRUE((*store)->AppendBatch({{1, "first-" + std::to_string(k)}, {2, "second"}}).ok());
    }
    Status written = WriteV0DataDir(v1_, v0_);
    ASSERT_TRUE(written.ok()) << written.error().message;
  }

  TempDir tmp_;
  std::string v1_ = tmp_.Sub("v1");
  std::string v0_ = tmp_.Sub("v0");
};

TEST_F(MigrateTest, RegistryEndsAtTheCurrentFormatVersion) {
  const auto& steps = MigrationSteps();
  ASSERT_EQ(steps.size(), kFormatVersion);
  for (uint32_t k = 0; k < steps.size(); ++k) EXPECT_EQ(steps[k].from, k);
}

TEST_F(MigrateTest, AVersionZeroDirectoryIsTheDocumentedLayout) {
  EXPECT_EQ(Meta(v0_, 1, "format_version"), "0");
  EXPECT_EQ(Meta(v0_, 1, "shard_count"), "");
  EXPECT_EQ(Meta(v0_, 1, "shard_index"), "");
  Result<DataDirInfo> info = CheckDataDir(v0_, 0);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message.find("parley-admin migrate --data_dir " + v0_), std::string::npos)
      << info.error().message;
}

TEST_F(MigrateTest, UpgradesVersionZeroToOneKeepingTheLogs) {
  std::vector<std::string> told;
  auto actions = Migrate(v0_, MigrationOptions{}, MigrationSteps(), [&](const MigrationAction& a) {
    told.push_back(std::to_string(a.shard) + "@" + std::to_string(a.from));
  });
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  ASSERT_EQ(actions->size(), 2u);
  EXPECT_EQ(told, (std::vector<std::string>{"0@0", "1@0"}));
  Result<DataDirInfo> info = CheckDataDir(v0_, 2);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->format_version, 1u);
  EXPECT_EQ(Meta(v0_, 1, "shard_index"), "1");
  EXPECT_EQ(Meta(v0_, 1, "shard_count"), "2");
  for (uint32_t k = 0; k < 2; ++k) EXPECT_EQ(Records(v0_, k), Records(v1_, k)) << k;
}

TEST_F(MigrateTest, RunningItAgainDoesNothing) {
  ASSERT_TRUE(Migrate(v0_, MigrationOptions{}).ok());
  auto again = Migrate(v0_, MigrationOptions{});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->empty());
}

TEST_F(MigrateTest, DryRunPlansAndChangesNothing) {
  MigrationOptions options;
  options.dry_run = true;
  bool told = false;
  auto actions =
      Migrate(v0_, options, MigrationSteps(), [&](const MigrationAction&) { told = true; });
  ASSERT_TRUE(actions.ok()) << actions.error().message;
  ASSERT_EQ(actions->size(), 2u);
  EXPECT_EQ((*actions)[1].shard, 1u);
  EXPECT_EQ((*actions)[1].summary, MigrationSteps()[0].summary);
  EXPECT_FALSE(told);
  EXPECT_EQ(Meta(v0_, 0, "format_version"), "0");
  EXPECT_EQ(Meta(v0_, 0, "shard_count"), "");
}

TEST_F(MigrateTest, RefusesANewerVersionThanItKnows) {
  SetMeta(v0_, 1, "format_version", "2");
  auto actions = Migrate(v0_, MigrationOptions{});
  ASSERT_FALSE(actions.ok());
  EXPECT_EQ(actions.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(actions.error().message.find("newer than this parley-admin knows"), std::string::npos)
      << actions.error().message;
  EXPECT_EQ(Meta(v0_, 0, "format_version"), "0");  // refused before touching any shard
}

TEST_F(MigrateTest, RefusesATargetBeyondTheKnownSteps) {
  MigrationOptions options;
  options.to = kFormatVersion + 1;
  auto actions = Migrate(v0_, options);
  ASSERT_FALSE(actions.ok());
  EXPECT_NE(actions.error().message.find("beyond the newest"), std::string::npos);
}

TEST_F(MigrateTest, RefusesADowngrade) {
  std::vector<MigrationStep> steps = MigrationSteps();
  steps.push_back({1, "noop", [](LmdbLogStore&, const ShardPlace&) { return OkStatus(); }});
  SetMeta(v1_, 0, "format_version", "2");
  MigrationOptions options;
  options.to = 1;
  auto actions = Migrate(v1_, options, steps);
  ASSERT_FALSE(actions.ok());
  EXPECT_NE(actions.error().message.find("no downgrades"), std::string::npos);
}

TEST_F(MigrateTest, RefusesADirectoryWithoutShards) {
  fs::create_directory(tmp_.Sub("empty"));
  auto actions = Migrate(tmp_.Sub("empty"), MigrationOptions{});
  ASSERT_FALSE(actions.ok());
  EXPECT_EQ(actions.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(actions.error().message.find("no shard-0"), std::string::npos);
}

// A shard that another process has open (as a running parleyd has) stops the migration before
// anything changes.
TEST_F(MigrateTest, RefusesAShardOpenInAnotherProcess) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto store = LmdbLogStore::Open(ShardDir(v0_, 1), LmdbOptions{});
    char ok = store.ok() ? 'y' : 'n';
    (void)::write(ready[1], &ok, 1);
    ::pause();
    ::_exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');
  auto actions = Migrate(v0_, MigrationOptions{});
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  ASSERT_FALSE(actions.ok());
  EXPECT_EQ(actions.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(actions.error().message.find("shard-1 is open in another process"), std::string::npos)
      << actions.error().message;
  EXPECT_EQ(Meta(v0_, 0, "format_version"), "0");
  // Once it is gone, the migration goes ahead.
  EXPECT_TRUE(Migrate(v0_, MigrationOptions{}).ok());
}

// Steps run version by version; a failing step leaves its shard at the version before it (the
// version is recorded only after a step completes), and a second run carries on from there.
TEST_F(MigrateTest, AFailedStepIsResumedFromTheVersionEachShardRecorded) {
  std::vector<MigrationStep> steps = MigrationSteps();
  bool fail_shard_1 = true;
  std::vector<std::string> ran;
  steps.push_back({1, "mark", [&](LmdbLogStore& shard, const ShardPlace& place) -> Status {
                     ran.push_back(std::to_string(place.shard));
                     if (place.shard == 1 && fail_shard_1) {
                       return MakeError(ErrorCode::kInternal, "disk on fire");
                     }
                     return shard.WriteMeta("mark", "yes");
                   }});
  MigrationOptions options;
  options.to = 2;
  auto first = Migrate(v0_, options, steps);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message, "disk on fire");
  EXPECT_EQ(Meta(v0_, 0, "format_version"), "2");
  EXPECT_EQ(Meta(v0_, 1, "format_version"), "1");  // its 0 -> 1 step completed, 1 -> 2 did not
  fail_shard_1 = false;
  auto second = Migrate(v0_, options, steps);
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].shard, 1u);
  EXPECT_EQ((*second)[0].from, 1u);
  EXPECT_EQ(ran, (std::vector<std::string>{"0", "1", "1"}));
  EXPECT_EQ(Meta(v0_, 1, "mark"), "yes");
  EXPECT_EQ(Meta(v0_, 1, "format_version"), "2");
}

}  // namespace
}  // namespace parley::persist
