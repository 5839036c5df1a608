#include "core/state.h"

#include <gtest/gtest.h>

#include <memory_resource>
#include <string>
#include <utility>
#include <vector>

#include "core/decide.h"
#include "core/error.h"
#include "core/events.h"

namespace parley {
namespace {

constexpr TimeMs kT = 1'700'000'000'000;
constexpr UserId kAlice = 1001;
constexpr UserId kBob = 1002;

// ---- Stable names -----------------------------------------------------------------------------

TEST(ErrorCodeNameTest, NamesEveryCode) {
  const std::vector<std::pair<ErrorCode, std::string_view>> names = {
      {ErrorCode::kOk, "ok"},
      {ErrorCode::kBadRequest, "bad_request"},
      {ErrorCode::kMalformedFrame, "malformed_frame"},
      {ErrorCode::kFrameTooLarge, "frame_too_large"},
      {ErrorCode::kUnsupportedVersion, "unsupported_version"},
      {ErrorCode::kHelloRequired, "hello_required"},
      {ErrorCode::kUnauthenticated, "unauthenticated"},
      {ErrorCode::kInvalidCredentials, "invalid_credentials"},
      {ErrorCode::kForbidden, "forbidden"},
      {ErrorCode::kNotFound, "not_found"},
      {ErrorCode::kAlreadyExists, "already_exists"},
      {ErrorCode::kInvalidArgument, "invalid_argument"},
      {ErrorCode::kLagged, "lagged"},
      {ErrorCode::kInternal, "internal"},
      {ErrorCode::kUnavailable, "unavailable"},
  };
  for (const auto& [code, name] : names) EXPECT_EQ(ErrorCodeName(code), name);
}

TEST(ErrorCodeNameTest, NamesUnknownValue) {
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(999)), "unknown");
}

TEST(EventTagTest, TagsAndNamesAreStable) {
  struct Case {
    Event event;
    uint16_t tag;
    std::string_view name;
  };
  const std::vector<Case> cases = {
      {UserRegistered{}, 1, "UserRegistered"},   {WorkspaceCreated{}, 2, "WorkspaceCreated"},
      {WorkspaceJoined{}, 3, "WorkspaceJoined"}, {ChannelCreated{}, 4, "ChannelCreated"},
      {ChannelJoined{}, 5, "ChannelJoined"},     {ChannelLeft{}, 6, "ChannelLeft"},
      {MessagePosted{}, 7, "MessagePosted"},
  };
  for (const Case& t : cases) {
    EXPECT_EQ(static_cast<uint16_t>(TagOf(t.event)), t.tag);
    EXPECT_EQ(EventName(TagOf(t.event)), t.name);
  }
}

TEST(EventTagTest, NamesUnknownTag) { EXPECT_EQ(EventName(static_cast<EventTag>(99)), "Unknown"); }

TEST(ClientIdKeyTest, IsLittleEndianAuthorThenClientId) {
  EXPECT_EQ(ClientIdKey(0x0102, "ab"), std::string("\x02\x01\0\0\0\0\0\0ab", 10));
  EXPECT_EQ(ClientIdKey(7, "").size(), 8u);
}

TEST(ClientIdKeyTest, DistinguishesAuthors) {
  EXPECT_NE(ClientIdKey(1, "x"), ClientIdKey(2, "x"));
  EXPECT_NE(ClientIdKey(1, "x"), ClientIdKey(256, "x"));
}

// ---- Apply, event by event --------------------------------------------------------------------

class ShardStateTest : public ::testing::Test {
 protected:
  // Workspace 10 with #general 11 and #random 12, owned by Alice.
  void CreateAcme() { state_.Apply(WorkspaceCreated{10, "Acme", kAlice, 11, 12, kT}); }

  ShardState state_{0, 1};
};

TEST_F(ShardStateTest, EmptyStateFindsNothing) {
  EXPECT_EQ(state_.FindUser(1), nullptr);
  EXPECT_EQ(state_.FindUserByEmail("a@b.c"), nullptr);
  EXPECT_EQ(state_.FindWorkspace(1), nullptr);
  EXPECT_EQ(state_.FindChannel(1), nullptr);
  EXPECT_TRUE(state_.WorkspacesOf(kAlice).empty());
  EXPECT_TRUE(state_.ChannelsOf(kAlice).empty());
  EXPECT_EQ(state_.max_minted(), 0u);
}

TEST_F(ShardStateTest, UserRegisteredIndexesByIdAndEmail) {
  state_.Apply(UserRegistered{5, "alice@example.com", "Alice", "salt", "hash", kT});
  const UserState* user = state_.FindUser(5);
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(*user, (UserState{5, "alice@example.com", "Alice", "salt", "hash", kT}));
  EXPECT_EQ(state_.FindUserByEmail("alice@example.com"), user);
  EXPECT_EQ(state_.FindUserByEmail("bob@example.com"), nullptr);
  EXPECT_EQ(state_.user_count(), 1u);
}

TEST_F(ShardStateTest, WorkspaceCreatedAddsWorkspaceWithOwner) {
  CreateAcme();
  const WorkspaceState* ws = state_.FindWorkspace(10);
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->name, "Acme");
  EXPECT_EQ(ws->owner_id, kAlice);
  EXPECT_EQ(ws->created_at, kT);
  EXPECT_EQ(ws->members,
            (std::unordered_map<UserId, WorkspaceRole>{{kAlice, WorkspaceRole::kOwner}}));
  EXPECT_EQ(ws->general_id, 11u);
  EXPECT_EQ(ws->random_id, 12u);
  EXPECT_EQ(ws->channels, (std::vector<ChannelId>{11, 12}));
  EXPECT_EQ(ws->channel_by_name,
            (std::unordered_map<std::string, ChannelId>{{"general", 11}, {"random", 12}}));
  EXPECT_EQ(state_.WorkspacesOf(kAlice), std::vector<WorkspaceId>{10});
}

TEST_F(ShardStateTest, WorkspaceCreatedAddsGeneralAndRandomWithOwnerInBoth) {
  CreateAcme();
  const std::vector<std::pair<ChannelId, std::string>> channels = {{11, "general"}, {12, "random"}};
  for (const auto& [id, name] : channels) {
    const ChannelState* channel = state_.FindChannel(id);
    ASSERT_NE(channel, nullptr) << name;
    EXPECT_EQ(channel->name, name);
    EXPECT_EQ(channel->workspace_id, 10u);
    EXPECT_FALSE(channel->is_private);
    EXPECT_EQ(channel->creator_id, kAlice);
    EXPECT_EQ(channel->created_at, kT);
    EXPECT_EQ(channel->members, std::unordered_set<UserId>{kAlice});
    EXPECT_EQ(channel->last_seq(), 0u);
  }
  EXPECT_EQ(state_.ChannelsOf(kAlice), (std::vector<ChannelId>{11, 12}));
  EXPECT_EQ(state_.channel_count(), 2u);
}

TEST_F(ShardStateTest, WorkspaceJoinedAddsMemberAndJoinsGeneralOnly) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kBob, kT});
  EXPECT_EQ(state_.FindWorkspace(10)->members.at(kBob), WorkspaceRole::kMember);
  EXPECT_TRUE(state_.FindChannel(11)->IsMember(kBob));
  EXPECT_FALSE(state_.FindChannel(12)->IsMember(kBob));
  EXPECT_EQ(state_.WorkspacesOf(kBob), std::vector<WorkspaceId>{10});
  EXPECT_EQ(state_.ChannelsOf(kBob), std::vector<ChannelId>{11});
}

TEST_F(ShardStateTest, WorkspaceJoinedNeverDemotesOwner) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kAlice, kT});
  EXPECT_EQ(state_.FindWorkspace(10)->members.at(kAlice), WorkspaceRole::kOwner);
}

TEST_F(ShardStateTest, ChannelCreatedJoinsWorkspaceInCreationOrder) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kBob, kT});
  state_.Apply(ChannelCreated{10, 14, "secret", true, kBob, kT + 1});
  state_.Apply(ChannelCreated{10, 13, "dev", false, kAlice, kT + 2});
  const WorkspaceState& ws = *state_.FindWorkspace(10);
  EXPECT_EQ(ws.channels, (std::vector<ChannelId>{11, 12, 14, 13}));
  EXPECT_EQ(ws.channel_by_name.at("secret"), 14u);
  EXPECT_EQ(ws.channel_by_name.at("dev"), 13u);
  const ChannelState& secret = *state_.FindChannel(14);
  EXPECT_TRUE(secret.is_private);
  EXPECT_EQ(secret.creator_id, kBob);
  EXPECT_EQ(secret.created_at, kT + 1);
  EXPECT_EQ(secret.members, std::unordered_set<UserId>{kBob});
  EXPECT_EQ(state_.ChannelsOf(kBob), (std::vector<ChannelId>{11, 14}));
}

TEST_F(ShardStateTest, ChannelJoinedAndLeftUpdateBothIndexes) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kBob, kT});
  state_.Apply(ChannelJoined{12, kBob, kT});
  EXPECT_TRUE(state_.FindChannel(12)->IsMember(kBob));
  EXPECT_EQ(state_.ChannelsOf(kBob), (std::vector<ChannelId>{11, 12}));
  state_.Apply(ChannelLeft{12, kBob, kT});
  EXPECT_FALSE(state_.FindChannel(12)->IsMember(kBob));
  EXPECT_EQ(state_.ChannelsOf(kBob), std::vector<ChannelId>{11});
}

TEST_F(ShardStateTest, LeavingLastChannelLeavesNoTrace) {
  CreateAcme();
  ShardState before = state_;
  state_.Apply(ChannelCreated{10, 13, "dev", false, kAlice, kT});
  ShardState with_dev = state_;
  state_.Apply(ChannelJoined{13, kBob, kT});
  state_.Apply(ChannelLeft{13, kBob, kT});
  EXPECT_TRUE(state_.ChannelsOf(kBob).empty());
  EXPECT_TRUE(state_ == with_dev);  // the index holds no empty set for Bob
  EXPECT_FALSE(state_ == before);
}

TEST_F(ShardStateTest, MessagePostedAppendsDenseSeqs) {
  CreateAcme();
  state_.Apply(MessagePosted{11, 1, 20, kAlice, "c1", "hello", kT});
  state_.Apply(MessagePosted{11, 2, 21, kAlice, "", "again", kT + 5});
  const ChannelState& general = *state_.FindChannel(11);
  ASSERT_EQ(general.last_seq(), 2u);
  for (size_t i = 0; i < general.messages.size(); ++i) EXPECT_EQ(general.messages[i].seq, i + 1);
  EXPECT_EQ(general.messages[1], (StoredMessage{21, 2, kAlice, "", "again", kT + 5}));
}

TEST_F(ShardStateTest, MessagePostedIndexesOnlyNonEmptyClientIds) {
  CreateAcme();
  state_.Apply(MessagePosted{11, 1, 20, kAlice, "c1", "hello", kT});
  state_.Apply(MessagePosted{11, 2, 21, kAlice, "", "again", kT});
  const ChannelState& general = *state_.FindChannel(11);
  EXPECT_EQ(general.seq_by_client_id,
            (std::unordered_map<std::string, Seq>{{ClientIdKey(kAlice, "c1"), 1}}));
}

TEST_F(ShardStateTest, MembershipQueriesAreAscending) {
  for (WorkspaceId ws : {70, 30, 50}) {
    state_.Apply(WorkspaceCreated{ws, "w", kAlice, ws + 1, ws + 2, kT});
  }
  EXPECT_EQ(state_.WorkspacesOf(kAlice), (std::vector<WorkspaceId>{30, 50, 70}));
  EXPECT_EQ(state_.ChannelsOf(kAlice), (std::vector<ChannelId>{31, 32, 51, 52, 71, 72}));
}

// ---- max_minted -------------------------------------------------------------------------------

constexpr ShardId kShard = 1;
constexpr uint32_t kShards = 4;

uint64_t Ours(uint64_t n) { return MintId(n, kShard, kShards); }
uint64_t Theirs(uint64_t n) { return MintId(n, 2, kShards); }

TEST(MaxMintedTest, FollowsEveryKindOfMintedId) {
  ShardState state(kShard, kShards);
  state.Apply(UserRegistered{Ours(1), "a@b.co", "A", "s", "h", kT});
  EXPECT_EQ(state.max_minted(), 1u);
  state.Apply(WorkspaceCreated{Ours(2), "w", Theirs(90), Ours(3), Ours(4), kT});
  EXPECT_EQ(state.max_minted(), 4u);
  state.Apply(ChannelCreated{Ours(2), Ours(5), "dev", false, Theirs(90), kT});
  EXPECT_EQ(state.max_minted(), 5u);
  state.Apply(MessagePosted{Ours(5), 1, Ours(6), Theirs(90), "", "hi", kT});
  EXPECT_EQ(state.max_minted(), 6u);
}

TEST(MaxMintedTest, IgnoresIdsOfOtherShardsAndNeverDecreases) {
  ShardState state(kShard, kShards);
  state.Apply(WorkspaceCreated{Ours(7), "w", Theirs(900), Ours(8), Ours(9), kT});
  state.Apply(WorkspaceJoined{Ours(7), Theirs(1000), kT});
  state.Apply(ChannelCreated{Ours(7), Ours(3), "dev", false, Theirs(900), kT});
  state.Apply(MessagePosted{Ours(9), 1, Ours(2), Theirs(1000), "", "hi", kT});
  EXPECT_EQ(state.max_minted(), 9u);
}

// ---- Replay -----------------------------------------------------------------------------------

// Drives a shard through Decide with a live minter, recording its log as a server would.
class ReplayTest : public ::testing::Test {
 protected:
  template <class E>
  E Do(const Command& c) {
    Result<std::optional<Event>> r = Decide(live_, c, ctx_);
    EXPECT_TRUE(r.ok() && r->has_value());
    if (!r.ok() || !r->has_value()) return E{};
    log_.push_back(**r);
    live_.Apply(**r);
    return std::get<E>(**r);
  }

  void RunScenario() {
    Do<UserRegistered>(RegisterUser{"alice@example.com", "Alice", "password1", "s", "h"});
    WorkspaceCreated ws = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"});
    Do<WorkspaceJoined>(JoinWorkspace{kBob, ws.workspace_id});
    ChannelId secret =
        Do<ChannelCreated>(CreateChannel{kAlice, ws.workspace_id, "secret", true}).channel_id;
    Do<ChannelJoined>(JoinChannel{kBob, ws.random_id});
    Do<MessagePosted>(PostMessage{kBob, ws.random_id, "c1", "hi"});
    Do<ChannelLeft>(LeaveChannel{kBob, ws.random_id});
    Do<MessagePosted>(PostMessage{kAlice, secret, "", "psst"});
    Do<MessagePosted>(PostMessage{kBob, ws.general_id, "c1", "hello"});
  }

  static ShardState Replay(const std::vector<Event>& log) {
    ShardState state(kShard, kShards);
    for (const Event& e : log) state.Apply(e);
    return state;
  }

  ShardState live_{kShard, kShards};
  IdMinter ids_{kShard, kShards, 0};
  Context ctx_{kT, &ids_};
  std::vector<Event> log_;
};

TEST_F(ReplayTest, ReplayedStateEqualsLiveState) {
  RunScenario();
  ShardState replayed = Replay(log_);
  EXPECT_TRUE(replayed == live_);
  EXPECT_EQ(replayed.user_count(), 1u);
  EXPECT_EQ(replayed.channel_count(), 3u);
  EXPECT_EQ(replayed.ChannelsOf(kBob), live_.ChannelsOf(kBob));
}

TEST_F(ReplayTest, ReplayRecoversMaxMinted) {
  RunScenario();
  // One user, three workspace ids, one channel, three messages.
  EXPECT_EQ(live_.max_minted(), 8u);
  EXPECT_EQ(Replay(log_).max_minted(), 8u);
}

TEST_F(ReplayTest, RestartedMinterContinuesWhereLiveOneStopped) {
  RunScenario();
  IdMinter restarted(kShard, kShards, Replay(log_).max_minted());
  EXPECT_EQ(restarted.Next(), ids_.Next());
}

// Shard::Replay moves each decoded event into the state; it must end where copying does.
TEST_F(ReplayTest, ApplyingMovedEventsEqualsApplyingCopies) {
  RunScenario();
  ShardState moved(kShard, kShards);
  for (Event e : log_) moved.Apply(std::move(e));
  EXPECT_TRUE(moved == Replay(log_));
  EXPECT_TRUE(moved == live_);
}

// Counts what it hands out, to show where a state's message chunks come from.
class CountingMemory : public std::pmr::memory_resource {
 public:
  size_t allocations = 0;

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    ++allocations;
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

TEST_F(ReplayTest, MessagesLiveInTheGivenMemoryWhichIsNotPartOfTheValue) {
  RunScenario();
  CountingMemory memory;
  ShardState state(kShard, kShards, &memory);
  for (const Event& e : log_) state.Apply(e);
  EXPECT_GT(memory.allocations, 0u);
  EXPECT_TRUE(state == live_);
}

TEST_F(ReplayTest, ReplayingAPrefixGivesADifferentState) {
  RunScenario();
  std::vector<Event> prefix(log_.begin(), log_.end() - 1);
  EXPECT_FALSE(Replay(prefix) == live_);
}

}  // namespace
}  // namespace parley
