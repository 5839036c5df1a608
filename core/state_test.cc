#include "core/state.h"

#include <gtest/gtest.h>

#include <memory_resource>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/decide.h"
#include "core/error.h"
#include "core/events.h"
#include "core/replay_scenario.h"

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
      {ErrorCode::kRateLimited, "rate_limited"},
      {ErrorCode::kAccountLocked, "account_locked"},
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
      {UserRegistered{}, 1, "UserRegistered"},
      {WorkspaceCreated{}, 2, "WorkspaceCreated"},
      {WorkspaceJoined{}, 3, "WorkspaceJoined"},
      {ChannelCreated{}, 4, "ChannelCreated"},
      {ChannelJoined{}, 5, "ChannelJoined"},
      {ChannelLeft{}, 6, "ChannelLeft"},
      {MessagePosted{}, 7, "MessagePosted"},
      {ProfileUpdated{}, 8, "ProfileUpdated"},
      {PasswordChanged{}, 9, "PasswordChanged"},
      {SessionStarted{}, 10, "SessionStarted"},
      {SessionRefreshed{}, 11, "SessionRefreshed"},
      {SessionRevoked{}, 12, "SessionRevoked"},
      {SignInFailed{}, 13, "SignInFailed"},
      {MfaEnrollStarted{}, 14, "MfaEnrollStarted"},
      {MfaEnabled{}, 15, "MfaEnabled"},
      {MfaDisabled{}, 16, "MfaDisabled"},
      {MfaCodeUsed{}, 17, "MfaCodeUsed"},
      {ApiKeyCreated{}, 18, "ApiKeyCreated"},
      {ApiKeyRevoked{}, 19, "ApiKeyRevoked"},
      {OidcLinked{}, 20, "OidcLinked"},
      {WorkspaceSettingsChanged{}, 21, "WorkspaceSettingsChanged"},
      {InviteCreated{}, 22, "InviteCreated"},
      {InviteRevoked{}, 23, "InviteRevoked"},
      {InviteAccepted{}, 24, "InviteAccepted"},
      {RoleChanged{}, 25, "RoleChanged"},
      {OwnershipTransferred{}, 26, "OwnershipTransferred"},
      {MemberActiveChanged{}, 27, "MemberActiveChanged"},
      {ChannelUpdated{}, 28, "ChannelUpdated"},
      {ChannelMemberAdded{}, 29, "ChannelMemberAdded"},
      {MessageEdited{}, 30, "MessageEdited"},
      {MessageDeleted{}, 31, "MessageDeleted"},
      {ThreadReplyPosted{}, 32, "ThreadReplyPosted"},
      {ThreadFollowChanged{}, 33, "ThreadFollowChanged"},
      {ThreadMarkedRead{}, 34, "ThreadMarkedRead"},
      {ReactionAdded{}, 35, "ReactionAdded"},
      {ReactionRemoved{}, 36, "ReactionRemoved"},
      {PinChanged{}, 37, "PinChanged"},
      {BookmarkAdded{}, 38, "BookmarkAdded"},
      {BookmarkRemoved{}, 39, "BookmarkRemoved"},
      {ChannelDetailsChanged{}, 40, "ChannelDetailsChanged"},
      {ChannelMemberRemoved{}, 41, "ChannelMemberRemoved"},
      {ConversationOpened{}, 42, "ConversationOpened"},
      {ReadMarkerSet{}, 43, "ReadMarkerSet"},
      {NotificationCreated{}, 44, "NotificationCreated"},
      {NotificationsRead{}, 45, "NotificationsRead"},
      {UserFeedNoted{}, 46, "UserFeedNoted"},
      {ChannelNotifyPrefSet{}, 47, "ChannelNotifyPrefSet"},
      {KeywordsSet{}, 48, "KeywordsSet"},
      {DndSet{}, 49, "DndSet"},
      {PresenceChoiceSet{}, 52, "PresenceChoiceSet"},
      {UserStatusSet{}, 53, "UserStatusSet"},
      {LastSeenRecorded{}, 54, "LastSeenRecorded"},
      {ReadReceiptsChanged{}, 55, "ReadReceiptsChanged"},
      {ReceiptsMaxMembersSet{}, 56, "ReceiptsMaxMembersSet"},
      {ReceiptsAdvanced{}, 57, "ReceiptsAdvanced"},
      {SearchRecorded{}, 58, "SearchRecorded"},
      {RecentSearchesCleared{}, 59, "RecentSearchesCleared"},
      {WorkspaceRetentionSet{}, 60, "WorkspaceRetentionSet"},
      {MessagesExpired{}, 61, "MessagesExpired"},
  };
  // Every alternative of Event has a row.
  ASSERT_EQ(cases.size(), std::variant_size_v<Event>);
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
  UserState want;
  want.id = 5;
  want.email = "alice@example.com";
  want.display_name = "Alice";
  want.password_salt = "salt";
  want.password_hash = "hash";
  want.created_at = kT;
  EXPECT_EQ(*user, want);
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
  EXPECT_EQ(ws->members, (std::unordered_map<UserId, MemberState>{
                             {kAlice, MemberState{WorkspaceRole::kOwner, true}}}));
  EXPECT_EQ(ws->settings, WorkspaceSettings{});  // invite-only until an admin opens it
  EXPECT_TRUE(ws->invites.empty());
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
  EXPECT_EQ(state_.FindWorkspace(10)->members.at(kBob),
            (MemberState{WorkspaceRole::kMember, true}));
  EXPECT_TRUE(state_.FindChannel(11)->IsMember(kBob));
  EXPECT_FALSE(state_.FindChannel(12)->IsMember(kBob));
  EXPECT_EQ(state_.WorkspacesOf(kBob), std::vector<WorkspaceId>{10});
  EXPECT_EQ(state_.ChannelsOf(kBob), std::vector<ChannelId>{11});
}

TEST_F(ShardStateTest, WorkspaceJoinedNeverDemotesOwner) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kAlice, kT});
  EXPECT_EQ(state_.FindWorkspace(10)->members.at(kAlice).role, WorkspaceRole::kOwner);
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

TEST_F(ShardStateTest, LeavingLastChannelLeavesOnlyTheDeparture) {
  CreateAcme();
  ShardState before = state_;
  state_.Apply(ChannelCreated{10, 13, "dev", false, kAlice, kT});
  state_.Apply(ChannelJoined{13, kBob, kT});
  state_.Apply(ChannelLeft{13, kBob, kT});
  EXPECT_TRUE(state_.ChannelsOf(kBob).empty());
  EXPECT_TRUE(state_.AllChannelsOf(kBob).empty());
  // The state now differs from the one before he joined only by what a resume reports (Bob
  // left #dev, and the versions: state_boot.cc).
  EXPECT_EQ(state_.DepartedSince(kBob, 0), std::vector<ChannelId>{13});
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

// ---- Apply: identity and administration -------------------------------------------------------

class IdentityApplyTest : public ShardStateTest {
 protected:
  static constexpr UserId kUser = 5;
  void Register() { state_.Apply(UserRegistered{kUser, "u@example.com", "U", "", "h", kT}); }
  const UserState& user() { return *state_.FindUser(kUser); }
  static SessionStarted Session(uint64_t id, TimeMs at, TimeMs expires_at) {
    return SessionStarted{kUser, id, "r" + std::to_string(id), "dev", "addr", 1, at, expires_at};
  }
};

TEST_F(IdentityApplyTest, SessionStartedAddsSessionAndDropsExpiredOnes) {
  Register();
  state_.Apply(Session(40, kT, kT + 10));
  const SessionState& s = user().sessions.at(40);
  EXPECT_EQ(s.refresh_hash, "r40");
  EXPECT_EQ(s.created_at, kT);
  EXPECT_EQ(s.refreshed_at, kT);
  EXPECT_EQ(s.expires_at, kT + 10);
  state_.Apply(Session(41, kT + 10, kT + 20));  // 40 expires exactly now
  EXPECT_EQ(user().sessions.count(40), 0u);
  EXPECT_EQ(user().sessions.count(41), 1u);
}

TEST_F(IdentityApplyTest, SessionRefreshedRemembersAtMostMaxRotatedHashes) {
  Register();
  state_.Apply(Session(40, kT, kT + 1000));
  const size_t n = kMaxRotatedHashes + 1;
  for (size_t i = 1; i <= n; ++i) {
    TimeMs at = kT + static_cast<TimeMs>(i);
    state_.Apply(SessionRefreshed{kUser, 40, "h" + std::to_string(i), at, at + 1000});
  }
  const SessionState& s = user().sessions.at(40);
  EXPECT_EQ(s.refresh_hash, "h" + std::to_string(n));
  ASSERT_EQ(s.rotated_hashes.size(), kMaxRotatedHashes);
  EXPECT_EQ(s.rotated_hashes.front(), "h1");  // r40, the oldest, was forgotten
  EXPECT_EQ(s.rotated_hashes.back(), "h" + std::to_string(n - 1));
  EXPECT_EQ(s.refreshed_at, kT + static_cast<TimeMs>(n));
  EXPECT_EQ(s.expires_at, kT + static_cast<TimeMs>(n) + 1000);
}

TEST_F(IdentityApplyTest, SignInFailedForgetsFailuresOutsideTheWindowAndALockClearsThem) {
  Register();
  state_.Apply(SignInFailed{kUser, "a", false, kT, 0});
  state_.Apply(SignInFailed{kUser, "a", false, kT + 1, 0});
  state_.Apply(SignInFailed{kUser, "a", true, kT + kLockoutWindowMs, 0});
  EXPECT_EQ(user().recent_failures, (std::vector<TimeMs>{kT + 1, kT + kLockoutWindowMs}));
  EXPECT_EQ(user().locked_until, 0);
  state_.Apply(SignInFailed{kUser, "a", false, kT + 2 * kLockoutWindowMs, kT + 99});
  EXPECT_TRUE(user().recent_failures.empty());
  EXPECT_EQ(user().locked_until, kT + 99);
  state_.Apply(SignInFailed{kUser, "a", false, kT + 3 * kLockoutWindowMs, 0});
  state_.Apply(Session(40, kT + 3 * kLockoutWindowMs, kT + 4 * kLockoutWindowMs));
  EXPECT_TRUE(user().recent_failures.empty());  // a sign-in clears the count
}

TEST_F(IdentityApplyTest, MfaDisabledForgetsEverythingButTheLastStep) {
  Register();
  state_.Apply(MfaEnrollStarted{kUser, "secret", kT});
  EXPECT_EQ(user().mfa.pending_secret, "secret");
  EXPECT_FALSE(user().mfa.enabled);
  state_.Apply(MfaEnabled{kUser, {"a", "b"}, 7, kT});
  EXPECT_EQ(user().mfa, (MfaState{true, "secret", "", {"a", "b"}, 7}));
  state_.Apply(MfaCodeUsed{kUser, 0, 2, kT});
  EXPECT_EQ(user().mfa.recovery_hashes, (std::vector<std::string>{"a", ""}));
  state_.Apply(MfaCodeUsed{kUser, 9, 0, kT});
  state_.Apply(MfaDisabled{kUser, kT});
  EXPECT_EQ(user().mfa, (MfaState{false, "", "", {}, 9}));
}

TEST_F(ShardStateTest, InviteAcceptedJoinsMemberToGeneralAndGuestOnlyToInviteChannels) {
  constexpr UserId kCarol = 1003;
  CreateAcme();
  state_.Apply(ChannelCreated{10, 13, "dev", false, kAlice, kT});
  state_.Apply(InviteCreated{10, 30, "bob@x.co", 2, {13}, "t", kAlice, kT, kT + 100});
  state_.Apply(InviteCreated{10, 31, "carol@x.co", 4, {13}, "u", kAlice, kT, kT + 100});
  state_.Apply(InviteAccepted{10, 30, kBob, kT + 1});
  state_.Apply(InviteAccepted{10, 31, kCarol, kT + 1});
  const WorkspaceState& ws = *state_.FindWorkspace(10);
  EXPECT_TRUE(ws.invites.empty());
  EXPECT_EQ(ws.members.at(kBob), (MemberState{WorkspaceRole::kMember, true}));
  EXPECT_EQ(ws.members.at(kCarol), (MemberState{WorkspaceRole::kGuest, true}));
  EXPECT_EQ(state_.ChannelsOf(kBob), (std::vector<ChannelId>{11, 13}));
  EXPECT_EQ(state_.ChannelsOf(kCarol), (std::vector<ChannelId>{13}));
  EXPECT_EQ(state_.WorkspacesOf(kCarol), (std::vector<WorkspaceId>{10}));
}

TEST_F(ShardStateTest, InviteCreatedDropsExpiredInvites) {
  CreateAcme();
  state_.Apply(InviteCreated{10, 30, "a@x.co", 2, {}, "t", kAlice, kT, kT + 100});
  state_.Apply(InviteCreated{10, 31, "b@x.co", 2, {}, "t", kAlice, kT + 99, kT + 200});
  EXPECT_EQ(state_.FindWorkspace(10)->invites.size(), 2u);
  state_.Apply(InviteCreated{10, 32, "c@x.co", 2, {}, "t", kAlice, kT + 100, kT + 300});
  const auto& invites = state_.FindWorkspace(10)->invites;
  EXPECT_EQ(invites.count(30), 0u);  // expired exactly then
  EXPECT_EQ(invites.count(31), 1u);
  EXPECT_EQ(invites.count(32), 1u);
}

TEST_F(ShardStateTest, DeactivatedMemberKeepsRecordButLeavesMembershipQueries) {
  CreateAcme();
  state_.Apply(WorkspaceCreated{20, "Beta", kBob, 21, 22, kT});
  state_.Apply(WorkspaceJoined{10, kBob, kT});
  state_.Apply(ChannelJoined{12, kBob, kT});
  state_.Apply(MemberActiveChanged{10, kBob, false, kAlice, kT});
  EXPECT_EQ(state_.FindWorkspace(10)->members.at(kBob),
            (MemberState{WorkspaceRole::kMember, false}));
  EXPECT_FALSE(state_.FindWorkspace(10)->IsMember(kBob));
  EXPECT_TRUE(state_.FindChannel(11)->IsMember(kBob));  // kept, for a reactivation
  EXPECT_EQ(state_.WorkspacesOf(kBob), std::vector<WorkspaceId>{20});
  EXPECT_EQ(state_.ChannelsOf(kBob), (std::vector<ChannelId>{21, 22}));
  state_.Apply(MemberActiveChanged{10, kBob, true, kAlice, kT});
  EXPECT_EQ(state_.WorkspacesOf(kBob), (std::vector<WorkspaceId>{10, 20}));
  EXPECT_EQ(state_.ChannelsOf(kBob), (std::vector<ChannelId>{11, 12, 21, 22}));
}

TEST_F(ShardStateTest, RoleChangedAndOwnershipTransferred) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kBob, kT});
  state_.Apply(RoleChanged{10, kBob, static_cast<uint8_t>(WorkspaceRole::kAdmin), kAlice, kT});
  EXPECT_TRUE(state_.FindWorkspace(10)->IsAdmin(kBob));
  state_.Apply(OwnershipTransferred{10, kAlice, kBob, kT});
  const WorkspaceState& ws = *state_.FindWorkspace(10);
  EXPECT_EQ(ws.owner_id, kBob);
  EXPECT_EQ(ws.RoleOf(kBob), WorkspaceRole::kOwner);
  EXPECT_EQ(ws.RoleOf(kAlice), WorkspaceRole::kAdmin);
}

TEST_F(ShardStateTest, MessageEditedAndDeletedKeepTheSeq) {
  CreateAcme();
  state_.Apply(MessagePosted{11, 1, 20, kAlice, "c1", "helo", kT});
  state_.Apply(MessagePosted{11, 2, 21, kAlice, "", "again", kT});
  state_.Apply(MessageEdited{11, 1, "hello", kAlice, kT + 7});
  const ChannelState& general = *state_.FindChannel(11);
  EXPECT_EQ(general.messages[0], (StoredMessage{20, 1, kAlice, "c1", "hello", kT, kT + 7, false}));
  state_.Apply(MessageDeleted{11, 1, kAlice, kT + 8});
  EXPECT_EQ(general.messages[0], (StoredMessage{20, 1, kAlice, "c1", "", kT, kT + 7, true}));
  EXPECT_EQ(general.last_seq(), 2u);
  EXPECT_EQ(FindPosted(general, kAlice, "c1"), std::optional<Seq>(1));  // a retry stays answered
}

TEST_F(ShardStateTest, ChannelUpdatedAndMemberAdded) {
  CreateAcme();
  state_.Apply(WorkspaceJoined{10, kBob, kT});
  state_.Apply(ChannelUpdated{12, true, true, kAlice, kT});
  EXPECT_TRUE(state_.FindChannel(12)->archived);
  EXPECT_TRUE(state_.FindChannel(12)->announcement);
  state_.Apply(ChannelMemberAdded{12, kBob, kAlice, kT});
  EXPECT_TRUE(state_.FindChannel(12)->IsMember(kBob));
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
  state.Apply(SessionStarted{Ours(1), Ours(7), "r", "", "", 1, kT, kT + 1000});
  EXPECT_EQ(state.max_minted(), 7u);
  state.Apply(ApiKeyCreated{Ours(1), Ours(8), "ci", kScopeRead, "k", 0, kT});
  EXPECT_EQ(state.max_minted(), 8u);
  state.Apply(InviteCreated{Ours(2), Ours(9), "b@c.co", 2, {}, "t", Theirs(90), kT, kT + 1000});
  EXPECT_EQ(state.max_minted(), 9u);
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

// The scenario and its log: core/replay_scenario.h.
class ReplayTest : public ::testing::Test, public ReplayScenario {};

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
  CountingMemory memory, texts;
  ShardState state(kShard, kShards, &memory, &texts);
  for (const Event& e : log_) state.Apply(e);
  EXPECT_GT(memory.allocations, 0u);
  size_t messages = 0;
  for (const auto& [id, channel] : state.channels()) {
    for (size_t i = 0; i < channel.messages.size(); ++i, ++messages) {
      EXPECT_EQ(channel.messages[i].text.get_allocator().resource(), &texts);
      EXPECT_EQ(channel.messages[i].client_msg_id.get_allocator().resource(), &texts);
    }
  }
  EXPECT_GT(messages, 0u);
  EXPECT_TRUE(state == live_);
}

TEST_F(ReplayTest, EditsAndDeletesKeepTextsInTheGivenMemory) {
  CountingMemory texts;
  ShardState state(kShard, kShards, std::pmr::get_default_resource(), &texts);
  RunScenario();
  for (const Event& e : log_) state.Apply(e);
  const size_t before = texts.allocations;
  const auto& [channel_id, channel] = *std::find_if(
      state.channels().begin(), state.channels().end(),
      [](const auto& entry) { return !entry.second.messages.empty(); });
  const std::string long_text(300, 'e');  // past the in-place capacity: it must be allocated
  state.Apply(MessageEdited{channel_id, 1, long_text, channel.messages[0].author_id, 1});
  EXPECT_EQ(std::string_view(channel.messages[0].text), long_text);
  EXPECT_EQ(channel.messages[0].text.get_allocator().resource(), &texts);
  EXPECT_GT(texts.allocations, before);
  state.Apply(MessageDeleted{channel_id, 1, channel.messages[0].author_id, 2});
  EXPECT_TRUE(channel.messages[0].text.empty());
  EXPECT_EQ(channel.messages[0].text.get_allocator().resource(), &texts);
}

TEST_F(ReplayTest, ScenarioCoversEveryEventKind) {
  RunScenario();
  RunIdentityAndAdminScenario();
  std::set<EventTag> tags;
  for (const Event& e : log_) tags.insert(TagOf(e));
  std::vector<std::string_view> missing;
#define PARLEY_CHECK_TAG(Type) \
  if (tags.count(EventTag::k##Type) == 0) missing.push_back(#Type);
  PARLEY_EVENT_TYPES(PARLEY_CHECK_TAG)
#undef PARLEY_CHECK_TAG
  EXPECT_TRUE(missing.empty()) << testing::PrintToString(missing);
  EXPECT_EQ(tags.size(), std::variant_size_v<Event>);
}

TEST_F(ReplayTest, ReplayOfEveryEventKindEqualsLiveState) {
  RunScenario();
  RunIdentityAndAdminScenario();
  ShardState replayed = Replay(log_);
  EXPECT_TRUE(replayed == live_);
  // The parts operator== covers, spot-checked so that a state that compares equal by accident
  // (an empty one, say) cannot pass.
  EXPECT_EQ(replayed.audit(), live_.audit());
  // Password change, 2 sign-ins, token reuse, logout, 5 failures and a lock, MFA on and off, key
  // created and revoked, invite accepted, role, deactivation, ownership.
  EXPECT_EQ(live_.audit().size(), 19u);
  const UserState& user = *replayed.FindUser(std::get<UserRegistered>(log_.front()).user_id);
  EXPECT_EQ(user, *live_.FindUser(user.id));
  EXPECT_TRUE(user.sessions.empty());
  EXPECT_EQ(user.mfa.last_step, 101u);
  EXPECT_EQ(user.api_keys.size(), 1u);
  EXPECT_GT(user.locked_until, 0);
  EXPECT_EQ(user.recent_searches, (std::vector<RecentSearch>{{"from:@bob has:link", ctx_.now}}));
  EXPECT_EQ(*replayed.FindWorkspace(std::get<WorkspaceCreated>(log_[1]).workspace_id),
            *live_.FindWorkspace(std::get<WorkspaceCreated>(log_[1]).workspace_id));
  EXPECT_EQ(replayed.max_minted(), live_.max_minted());
}

TEST_F(ReplayTest, MovedReplayOfEveryEventKindEqualsLiveState) {
  RunScenario();
  RunIdentityAndAdminScenario();
  ShardState moved(kShard, kShards);
  for (Event e : log_) moved.Apply(std::move(e));
  EXPECT_TRUE(moved == live_);
}

// operator== sees the effect of every event: no event kind changes only something it ignores.
TEST_F(ReplayTest, EveryEventOfEveryKindChangesTheState) {
  RunScenario();
  RunIdentityAndAdminScenario();
  ShardState state(kShard, kShards);
  for (const Event& e : log_) {
    ShardState before = state;
    state.Apply(e);
    EXPECT_FALSE(state == before) << EventName(TagOf(e));
  }
}

TEST_F(ReplayTest, ReplayingAPrefixGivesADifferentState) {
  RunScenario();
  std::vector<Event> prefix(log_.begin(), log_.end() - 1);
  EXPECT_FALSE(Replay(prefix) == live_);
}

}  // namespace
}  // namespace parley
