#include "tools/log_scan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/events.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"

namespace parley::tools {
namespace {

using persist::LogRecord;

// A one-shard data directory whose log holds `records`.
class LogScanTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(persist::InitDataDir(dir_.path() + "/data", 1).ok()); }

  std::string data() const { return dir_.path() + "/data"; }

  void Append(const std::vector<LogRecord>& records) {
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(data(), 0), {});
    ASSERT_TRUE(store.ok()) << store.error().message;
    Status appended = (*store)->AppendBatch(records);
    ASSERT_TRUE(appended.ok()) << appended.error().details;
  }

  // A user, a workspace, and `n` messages in its #general: LSNs 1..n+2.
  static std::vector<LogRecord> History(int n) {
    std::vector<LogRecord> records;
    records.push_back({1, persist::EncodeEvent(UserRegistered{1, "a@b.c", "A", "s", "h", 1})});
    records.push_back({2, persist::EncodeEvent(WorkspaceCreated{2, "W", 1, 3, 4, 2})});
    for (uint64_t seq = 1; seq <= static_cast<uint64_t>(n); ++seq) {
      const Lsn lsn = seq + 2;
      records.push_back({lsn, persist::EncodeEvent(MessagePosted{3, seq, 100 + seq, 1, "", "m",
                                                                 static_cast<TimeMs>(lsn)})});
    }
    return records;
  }

  persist::TempDir dir_;
};

TEST_F(LogScanTest, ScanReadsEveryRecordAcrossChunksAndResumes) {
  Append(History(9000));
  std::vector<Lsn> seen;
  auto end = ScanShard(data(), 0, 1, [&](Lsn lsn, std::string_view) {
    seen.push_back(lsn);
    return true;
  });
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, 9003u);
  ASSERT_EQ(seen.size(), 9002u);
  EXPECT_EQ(seen.front(), 1u);
  EXPECT_EQ(seen.back(), 9002u);
  seen.clear();
  end = ScanShard(data(), 0, 9001, [&](Lsn lsn, std::string_view) {
    seen.push_back(lsn);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<Lsn>{9001, 9002}));
  EXPECT_EQ(*end, 9003u);
}

TEST_F(LogScanTest, ScanStopsWhenTheCallbackSaysSo) {
  Append(History(10));
  int calls = 0;
  auto end = ScanShard(data(), 0, 1, [&](Lsn, std::string_view) { return ++calls < 3; });
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(*end, 4u);
}

TEST_F(LogScanTest, VerifyPassesAGoodLog) {
  Append(History(50));
  ShardCheck check = VerifyShard(data(), 0, 1);
  EXPECT_EQ(check.problem, "");
  EXPECT_EQ(check.events, 52u);
  EXPECT_EQ(check.first_lsn, 1u);
  EXPECT_EQ(check.last_lsn, 52u);
  EXPECT_TRUE(VerifyDataDir(data(), stdout));
}

TEST_F(LogScanTest, VerifyNamesTheFirstUndecodableRecord) {
  Append(History(5));
  Append({{8, "\x92\x07"}});  // LSN 8: a MessagePosted cut short
  ShardCheck check = VerifyShard(data(), 0, 1);
  EXPECT_EQ(check.events, 7u);
  EXPECT_EQ(check.problem, "lsn 8: corrupt event: truncated");
  EXPECT_FALSE(VerifyDataDir(data(), stdout));
}

TEST_F(LogScanTest, VerifyFindsAnEmptyLogFine) {
  ShardCheck check = VerifyShard(data(), 0, 1);
  EXPECT_EQ(check.problem, "");
  EXPECT_EQ(check.events, 0u);
}

TEST_F(LogScanTest, VerifyRefusesAMissingDirectory) {
  EXPECT_FALSE(VerifyDataDir(dir_.path() + "/nothing", stdout));
  ShardCheck check = VerifyShard(dir_.path() + "/nothing", 0, 1);
  EXPECT_NE(check.problem, "");
}

TEST(TimeTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(1764872401234), "2025-12-04T18:20:01.234Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999Z");
}

TEST(TimeTest, ParsesMillisecondsAndEveryIsoPrecision) {
  EXPECT_EQ(*ParseTime("1764872401234"), 1764872401234);
  EXPECT_EQ(*ParseTime("2025-12-04"), 1764806400000);
  EXPECT_EQ(*ParseTime("2025-12-04T18:20"), 1764872400000);
  EXPECT_EQ(*ParseTime("2025-12-04T18:20:01"), 1764872401000);
  EXPECT_EQ(*ParseTime("2025-12-04T18:20:01.234Z"), 1764872401234);
  EXPECT_EQ(*ParseTime(FormatTime(1764872401234)), 1764872401234);
}

TEST(TimeTest, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "yesterday", "2025-13-01", "2025-02-31", "2025-12-04T25:00",
                          "2025-12-04T18:20:01.2Z", "2025-12-04 18:20", "2025-12-04T18:20+01:00",
                          "12345678901234567890"}) {
    auto t = ParseTime(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace parley::tools
