#include "persist/snapshot.h"

#include <gtest/gtest.h>

#include <memory_resource>
#include <random>
#include <string>
#include <vector>

#include "core/replay_scenario.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"

namespace parley::persist {
namespace {

class SnapshotTest : public ::testing::Test, public ReplayScenario {
 protected:
  void SetUp() override {
    RunScenario();
    RunIdentityAndAdminScenario();
    for (const Event& e : log_) {
      ASSERT_TRUE(log_store_.AppendBatch({{log_store_.last_lsn() + 1, EncodeEvent(e)}}).ok());
    }
  }

  // The state after the first k records of the scenario's log.
  ShardState Prefix(size_t k) const {
    ShardState state(kShard, kShards);
    for (size_t i = 0; i < k; ++i) state.Apply(log_[i]);
    return state;
  }

  std::string Encode(const ShardState& state) const {
    return EncodeSnapshot(state, state.version(), 0);
  }

  MemoryLogStore log_store_;
};

// The snapshot's whole point: loading one taken at k and applying the rest of the log ends in
// the very state a full replay builds, byte for byte and by value.
TEST_F(SnapshotTest, SnapshotAtKThenTailEqualsFullReplay) {
  const std::string full = Encode(Replay(log_));
  ASSERT_EQ(full, Encode(live_));
  for (size_t k : {size_t{1}, size_t{5}, log_.size() / 3, log_.size() / 2, log_.size() - 7,
                   log_.size() - 1, log_.size()}) {
    ShardState loaded(kShard, kShards);
    Status decoded = DecodeSnapshot(Encode(Prefix(k)), loaded);
    ASSERT_TRUE(decoded.ok()) << k << ": " << decoded.error().details;
    for (size_t i = k; i < log_.size(); ++i) loaded.Apply(log_[i]);
    EXPECT_EQ(Encode(loaded), full) << "snapshot at " << k;
    EXPECT_TRUE(loaded == live_) << "snapshot at " << k;
  }
}

TEST_F(SnapshotTest, DecodeThenEncodeGivesTheSameBytesAndAnEqualState) {
  const std::string bytes = Encode(live_);
  ShardState decoded(kShard, kShards);
  ASSERT_TRUE(DecodeSnapshot(bytes, decoded).ok());
  EXPECT_TRUE(decoded == live_);
  EXPECT_EQ(Encode(decoded), bytes);
  // Spot checks, so that a state equal by accident (an empty one) cannot pass.
  EXPECT_EQ(decoded.audit().size(), live_.audit().size());
  EXPECT_EQ(decoded.max_minted(), live_.max_minted());
  EXPECT_EQ(decoded.version(), log_.size());
  EXPECT_FALSE(decoded.notify_states().empty());
}

TEST_F(SnapshotTest, DecodedMessagesLiveInTheStatesMemory) {
  std::pmr::monotonic_buffer_resource chunks, texts;
  ShardState decoded(kShard, kShards, &chunks, &texts);
  ASSERT_TRUE(DecodeSnapshot(Encode(live_), decoded).ok());
  size_t messages = 0;
  for (const auto& [id, channel] : decoded.channels()) {
    for (size_t i = 0; i < channel.messages.size(); ++i, ++messages) {
      EXPECT_EQ(channel.messages[i].text.get_allocator().resource(), &texts);
      EXPECT_EQ(channel.messages[i].client_msg_id.get_allocator().resource(), &texts);
    }
  }
  EXPECT_GT(messages, 0u);
  EXPECT_TRUE(decoded == live_);
}

// Unordered containers are written sorted: a state with the same value but other insertion
// histories (and so other iteration orders) encodes the same.
TEST_F(SnapshotTest, EncodingIsAFunctionOfTheValue) {
  ShardState copy = live_;
  ShardState moved(kShard, kShards);
  for (Event e : log_) moved.Apply(std::move(e));
  EXPECT_EQ(Encode(copy), Encode(live_));
  EXPECT_EQ(Encode(moved), Encode(live_));
}

TEST_F(SnapshotTest, EveryPrefixEncodesDifferently) {
  std::string previous = Encode(ShardState(kShard, kShards));
  for (size_t k = 1; k <= log_.size(); ++k) {
    std::string next = Encode(Prefix(k));
    EXPECT_NE(next, previous) << EventName(TagOf(log_[k - 1]));
    previous = std::move(next);
  }
}

TEST_F(SnapshotTest, HeaderNamesShardCountLsnAndHash) {
  std::string bytes = EncodeSnapshot(live_, live_.version(), 0x1234);
  Result<SnapshotHeader> header = DecodeSnapshotHeader(bytes);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->format_version, kSnapshotFormatVersion);
  EXPECT_EQ(header->shard, kShard);
  EXPECT_EQ(header->shard_count, kShards);
  EXPECT_EQ(header->lsn, log_.size());
  EXPECT_EQ(header->record_hash, 0x1234u);
}

TEST_F(SnapshotTest, RefusesAnotherShardOrCountOrVersion) {
  const std::string bytes = Encode(live_);
  ShardState other_shard(kShard + 1, kShards);
  Status st = DecodeSnapshot(bytes, other_shard);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInternal);
  EXPECT_NE(st.error().details.find("shard 1 of 4"), std::string::npos) << st.error().details;
  ShardState other_count(kShard, kShards + 1);
  EXPECT_FALSE(DecodeSnapshot(bytes, other_count).ok());

  std::string future = bytes;
  future[4] = static_cast<char>(kSnapshotFormatVersion + 1);
  ShardState state(kShard, kShards);
  st = DecodeSnapshot(future, state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().details.find("format version"), std::string::npos);
  EXPECT_FALSE(DecodeSnapshotHeader("PSNP").ok());
  EXPECT_FALSE(DecodeSnapshotHeader(std::string(64, 'x')).ok());
}

// Bad bytes are refused with kInternal, never a crash: every truncation, trailing bytes, and
// random corruption (which may decode to another valid state, or be refused).
TEST_F(SnapshotTest, RefusesTruncatedTrailingAndCorruptBytes) {
  const std::string bytes = Encode(live_);
  for (size_t n = 0; n < bytes.size(); ++n) {
    ShardState state(kShard, kShards);
    Status st = DecodeSnapshot(std::string_view(bytes).substr(0, n), state);
    ASSERT_FALSE(st.ok()) << "prefix of " << n;
    EXPECT_EQ(st.error().code, ErrorCode::kInternal);
  }
  ShardState state(kShard, kShards);
  Status st = DecodeSnapshot(bytes + "x", state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().details.find("trailing"), std::string::npos);

  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string bad = bytes;
    for (int flips = 0; flips < 3; ++flips) {
      size_t at = kSnapshotHeaderBytes + rng() % (bad.size() - kSnapshotHeaderBytes);
      bad[at] = static_cast<char>(rng());
    }
    ShardState target(kShard, kShards);
    (void)DecodeSnapshot(bad, target);
  }
}

// A count far beyond the bytes left is refused before anything is allocated for it.
TEST_F(SnapshotTest, RefusesCountsBeyondTheInput) {
  std::string bytes = Encode(ShardState(kShard, kShards));
  // The body: max_minted (0), then the users map's count, replaced by 2^62.
  bytes.resize(kSnapshotHeaderBytes + 1);
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(0xff));
  bytes.push_back(0x3f);
  ShardState state(kShard, kShards);
  Status st = DecodeSnapshot(bytes, state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().details.find("exceeds"), std::string::npos) << st.error().details;
}

// StoreSnapshot ties a snapshot to the log record at its LSN; LoadNewestSnapshot takes the newest
// one that matches the log and falls back to older ones.
TEST_F(SnapshotTest, StoreAndLoadTheNewestMatchingSnapshot) {
  const size_t a = log_.size() / 2, b = log_.size() - 3;
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(Prefix(a)), 2).ok());
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(Prefix(b)), 2).ok());
  EXPECT_EQ(*log_store_.SnapshotLsns(), (std::vector<Lsn>{b, a}));

  ShardState state(kShard, kShards);
  Result<SnapshotLoad> load = LoadNewestSnapshot(log_store_, state, [] {});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load->lsn, b);
  EXPECT_EQ(load->skipped, 0u);
  EXPECT_TRUE(state == Prefix(b));

  // Keeps the newest `keep`.
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(Prefix(b + 1)), 2).ok());
  EXPECT_EQ(*log_store_.SnapshotLsns(), (std::vector<Lsn>{b + 1, b}));
  // keep 0 counts as 1: the snapshot just written is always kept.
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(live_), 0).ok());
  EXPECT_EQ(*log_store_.SnapshotLsns(), (std::vector<Lsn>{log_.size()}));
}

// A log whose records differ from the one a snapshot was taken after (a restored directory that
// lost its tail, then wrote other events) must not load it.
TEST_F(SnapshotTest, SkipsSnapshotsWhoseRecordDoesNotMatchTheLog) {
  const size_t a = 10, b = log_.size() - 3;
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(Prefix(a)), 2).ok());
  MemoryLogStore other;  // the same history up to b - 1, then another record at b
  for (size_t i = 0; i + 1 < b; ++i) ASSERT_TRUE(other.AppendBatch({{i + 1, EncodeEvent(log_[i])}}).ok());
  ASSERT_TRUE(other.AppendBatch({{b, EncodeEvent(log_[b])}}).ok());
  ASSERT_TRUE(StoreSnapshot(other, Encode(Prefix(b)), 2).ok());
  Status moved = other.ReadSnapshot(b, [&](std::string_view bytes) {
    return log_store_.PutSnapshot(b, bytes, 2);
  });
  ASSERT_TRUE(moved.ok());

  ShardState state(kShard, kShards);
  Result<SnapshotLoad> load = LoadNewestSnapshot(log_store_, state, [] {});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load->lsn, a);
  EXPECT_EQ(load->skipped, 1u);
  EXPECT_NE(load->skip_reason.find("not the one"), std::string::npos) << load->skip_reason;
  EXPECT_TRUE(state == Prefix(a));

  // A log that ends before the snapshot's LSN.
  MemoryLogStore shorter;
  for (size_t i = 0; i < 5; ++i) ASSERT_TRUE(shorter.AppendBatch({{i + 1, EncodeEvent(log_[i])}}).ok());
  ASSERT_TRUE(log_store_.ReadSnapshot(a, [&](std::string_view bytes) {
    return shorter.PutSnapshot(a, bytes, 2);
  }).ok());
  ShardState fresh(kShard, kShards);
  load = LoadNewestSnapshot(shorter, fresh, [] {});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load->lsn, 0u);
  EXPECT_NE(load->skip_reason.find("ends before"), std::string::npos) << load->skip_reason;
}

// An undecodable snapshot is skipped after resetting the state it half filled.
TEST_F(SnapshotTest, SkipsUndecodableSnapshotsAndResetsTheState) {
  const size_t a = 10, b = 20;
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(Prefix(a)), 2).ok());
  std::string good_b;
  ASSERT_TRUE(StoreSnapshot(log_store_, Encode(Prefix(b)), 2).ok());
  ASSERT_TRUE(log_store_.ReadSnapshot(b, [&](std::string_view bytes) {
    good_b = std::string(bytes);
    return OkStatus();
  }).ok());
  good_b.pop_back();  // truncated, header intact
  ASSERT_TRUE(log_store_.PutSnapshot(b, good_b, 2).ok());

  auto state = std::make_unique<ShardState>(kShard, kShards);
  int resets = 0;
  Result<SnapshotLoad> load = LoadNewestSnapshot(log_store_, *state, [&] {
    ++resets;
    *state = ShardState(kShard, kShards);
  });
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load->lsn, a);
  EXPECT_EQ(resets, 1);
  EXPECT_TRUE(*state == Prefix(a));
}

TEST(LmdbSnapshotTest, PutListReadAndKeepTheNewest) {
  TempDir dir;
  ASSERT_TRUE(InitDataDir(dir.Sub("data"), 1).ok());
  std::string shard = ShardDir(dir.Sub("data"), 0);
  {
    auto store = LmdbLogStore::Open(shard, {});
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE((*store)->SnapshotLsns()->empty());  // an environment from before snapshots
    ASSERT_TRUE((*store)->AppendBatch({{1, "one"}, {2, "two"}}).ok());
    std::string big(size_t{3} << 20, 'b');  // several MiB: overflow pages
    ASSERT_TRUE((*store)->PutSnapshot(1, "first", 2).ok());
    ASSERT_TRUE((*store)->PutSnapshot(2, big, 2).ok());
    ASSERT_TRUE((*store)->PutSnapshot(300, "third", 2).ok());
    EXPECT_EQ(*(*store)->SnapshotLsns(), (std::vector<Lsn>{300, 2}));
    std::string seen;
    ASSERT_TRUE((*store)->ReadSnapshot(2, [&](std::string_view b) {
      seen = std::string(b);
      return OkStatus();
    }).ok());
    EXPECT_EQ(seen, big);
    EXPECT_EQ((*store)->ReadSnapshot(1, [](std::string_view) { return OkStatus(); })
                  .error()
                  .code,
              ErrorCode::kNotFound);
    ASSERT_TRUE((*store)->ReadRecord(2, [&](std::string_view b) {
      seen = std::string(b);
      return OkStatus();
    }).ok());
    EXPECT_EQ(seen, "two");
    EXPECT_EQ((*store)->ReadRecord(3, [](std::string_view) { return OkStatus(); }).error().code,
              ErrorCode::kNotFound);
  }
  LmdbOptions read_only;
  read_only.read_only = true;
  auto store = LmdbLogStore::Open(shard, read_only);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->SnapshotLsns(), (std::vector<Lsn>{300, 2}));
  EXPECT_FALSE((*store)->PutSnapshot(301, "x", 2).ok());
}

}  // namespace
}  // namespace parley::persist
