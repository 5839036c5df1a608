// Presence and receipts: the rules in decide_presence.cc and their state in state_presence.cc.
#include "core/presence.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/decision_matchers.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;
constexpr TimeMs kAway = kDefaultAwayAfterMs;

class PresenceTest : public DecideFixture {
 protected:
  PresenceTest() : DecideFixture(kNow) {
    alice_ = Register("alice@example.com", "Alice");
    bob_ = Register("bob@example.com", "Bob");
    carol_ = Register("carol@example.com", "Carol");
    stranger_ = Register("stranger@example.com", "Stranger");
    WorkspaceCreated created = Do<WorkspaceCreated>(CreateWorkspace{alice_, "Acme"});
    ws_ = created.workspace_id;
    general_ = created.general_id;
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{alice_, ws_, true});
    Do<WorkspaceJoined>(JoinWorkspace{bob_, ws_});
    Do<WorkspaceJoined>(JoinWorkspace{carol_, ws_});
  }

  UserId Register(std::string email, std::string name) {
    return Do<UserRegistered>(RegisterUser{email, name, "correct horse", "", "h"}).user_id;
  }
  const UserState& User(UserId id) { return *state_.FindUser(id); }
  const ChannelState& Channel(ChannelId id) { return *state_.FindChannel(id); }
  Seq Post(UserId actor, ChannelId channel) {
    return Do<MessagePosted>(PostMessage{actor, channel, "", "hello"}).seq;
  }

  UserId alice_ = 0, bob_ = 0, carol_ = 0, stranger_ = 0;
  WorkspaceId ws_ = 0;
  ChannelId general_ = 0;
};

// ---- The presence state machine ----------------------------------------------------------------

TEST_F(PresenceTest, OfflineWithoutSessionsOnlineWhenActiveAwayAfterThirtyMinutes) {
  const UserState& alice = User(alice_);
  EXPECT_EQ(PresenceOf(alice, {0, kNow}, kNow, kAway), Presence::kOffline);
  EXPECT_EQ(PresenceOf(alice, {1, kNow}, kNow, kAway), Presence::kOnline);
  EXPECT_EQ(PresenceOf(alice, {2, kNow}, kNow + kAway - 1, kAway), Presence::kOnline);
  EXPECT_EQ(PresenceOf(alice, {2, kNow}, kNow + kAway, kAway), Presence::kAway);
  EXPECT_EQ(kAway, 30 * kMinuteMs);
  // Activity brings the user back.
  EXPECT_EQ(PresenceOf(alice, {2, kNow + kAway}, kNow + kAway, kAway), Presence::kOnline);
}

TEST_F(PresenceTest, ManualAwayWinsUntilSetBackToAuto) {
  PresenceChoiceSet e = Do<PresenceChoiceSet>(SetPresenceChoice{alice_, true});
  EXPECT_TRUE(e.away);
  EXPECT_EQ(e.at, kNow);
  EXPECT_TRUE(User(alice_).manual_away);
  EXPECT_EQ(PresenceOf(User(alice_), {1, kNow}, kNow, kAway), Presence::kAway);
  EXPECT_EQ(PresenceOf(User(alice_), {0, kNow}, kNow, kAway), Presence::kOffline);
  EXPECT_TRUE(IsNoOp(Try(SetPresenceChoice{alice_, true})));
  Do<PresenceChoiceSet>(SetPresenceChoice{alice_, false});
  EXPECT_EQ(PresenceOf(User(alice_), {1, kNow}, kNow, kAway), Presence::kOnline);
  EXPECT_TRUE(IsNoOp(Try(SetPresenceChoice{alice_, false})));
  ExpectReplayEqual();
}

TEST_F(PresenceTest, PresenceOfUnknownUserIsNotFound) {
  EXPECT_TRUE(IsError(Try(SetPresenceChoice{987654, true}), ErrorCode::kNotFound, "user_id"));
}

TEST_F(PresenceTest, LastSeenIsRecordedWhenTheLastSessionEnds) {
  EXPECT_EQ(User(bob_).last_seen, 0);
  LastSeenRecorded e = Do<LastSeenRecorded>(RecordLastSeen{bob_});
  EXPECT_EQ(e.at, kNow);
  EXPECT_EQ(User(bob_).last_seen, kNow);
  ExpectReplayEqual();
}

// ---- Custom status ------------------------------------------------------------------------------

TEST_F(PresenceTest, StatusIsTrimmedAndItsEmojiNormalisedLikeAReaction) {
  UserStatusSet e = Do<UserStatusSet>(SetUserStatus{alice_, "  In a meeting ", ":Calendar:", 0});
  EXPECT_EQ(e.text, "In a meeting");
  EXPECT_EQ(e.emoji, "calendar");
  EXPECT_EQ(e.expires_at, 0);
  ShownStatus shown = StatusAt(User(alice_), kNow + 365 * kDayMs);
  EXPECT_EQ(shown.text, "In a meeting");
  EXPECT_EQ(shown.emoji, "calendar");
  // The same again changes nothing.
  EXPECT_TRUE(IsNoOp(Try(SetUserStatus{alice_, "In a meeting", "calendar", 0})));
  // One emoji character is fine too.
  EXPECT_EQ(Do<UserStatusSet>(SetUserStatus{alice_, "", "\xF0\x9F\x8C\xB4", 0}).emoji,
            "\xF0\x9F\x8C\xB4");
  ExpectReplayEqual();
}

TEST_F(PresenceTest, StatusTextIsAtMostOneHundredCharactersOnOneLine) {
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "\xC3\xA9";  // 100 characters, 200 bytes
  EXPECT_EQ(Do<UserStatusSet>(SetUserStatus{alice_, hundred, "", 0}).text, hundred);
  EXPECT_TRUE(IsError(Try(SetUserStatus{alice_, hundred + "x", "", 0}), ErrorCode::kInvalidArgument,
                      "text"));
  EXPECT_TRUE(IsError(Try(SetUserStatus{alice_, "two\nlines", "", 0}), ErrorCode::kInvalidArgument,
                      "text"));
  EXPECT_TRUE(IsError(Try(SetUserStatus{alice_, "bad \xFF utf8", "", 0}),
                      ErrorCode::kInvalidArgument, "text"));
  EXPECT_TRUE(IsError(Try(SetUserStatus{alice_, "ok", "not an emoji", 0}),
                      ErrorCode::kInvalidArgument, "emoji"));
}

TEST_F(PresenceTest, StatusExpiresAndIsListedForTheShardsTimer) {
  TimeMs expires = kNow + 60'000;
  Do<UserStatusSet>(SetUserStatus{alice_, "Lunch", "sandwich", expires});
  EXPECT_EQ(StatusAt(User(alice_), expires - 1).text, "Lunch");
  EXPECT_EQ(StatusAt(User(alice_), expires - 1).expires_at, expires);
  ShownStatus after = StatusAt(User(alice_), expires);
  EXPECT_EQ(after.text, "");
  EXPECT_EQ(after.emoji, "");
  EXPECT_EQ(state_.status_expiries().count({expires, alice_}), 1u);
  // Replacing it drops the old expiry; clearing ignores an expiry.
  Do<UserStatusSet>(SetUserStatus{alice_, "Back soon", "", expires + 1});
  EXPECT_EQ(state_.status_expiries().count({expires, alice_}), 0u);
  EXPECT_EQ(state_.status_expiries().count({expires + 1, alice_}), 1u);
  UserStatusSet cleared = Do<UserStatusSet>(SetUserStatus{alice_, "", "", expires + 5});
  EXPECT_EQ(cleared.expires_at, 0);
  EXPECT_TRUE(state_.status_expiries().empty());
  ExpectReplayEqual();
}

TEST_F(PresenceTest, StatusExpiryMustBeInTheFuture) {
  EXPECT_TRUE(IsError(Try(SetUserStatus{alice_, "Lunch", "", kNow}), ErrorCode::kInvalidArgument,
                      "expires_at"));
  EXPECT_TRUE(IsError(Try(SetUserStatus{alice_, "Lunch", "", -5}), ErrorCode::kInvalidArgument,
                      "expires_at"));
}

// ---- Who may be watched
// ---------------------------------------------------------------------------

TEST_F(PresenceTest, OnlyUsersSharingAWorkspaceAreVisible) {
  std::vector<UserId> asked = {stranger_, carol_, bob_, 424242, bob_};
  EXPECT_EQ(UsersSharingWorkspace(state_, alice_, asked), (std::vector<UserId>{bob_, carol_}));
  EXPECT_TRUE(UsersSharingWorkspace(state_, stranger_, asked).empty());
  Do<MemberActiveChanged>(SetMemberActive{alice_, ws_, carol_, false});
  EXPECT_EQ(UsersSharingWorkspace(state_, alice_, asked), (std::vector<UserId>{bob_}));
}

TEST_F(PresenceTest, PresenceTopicsAreOwnedByTheUsersShardAndNeverRealIds) {
  for (uint32_t shards : {1u, 3u, 7u}) {
    uint64_t topic = PresenceTopic(1234567, shards);
    EXPECT_EQ(OwnerShard(topic, shards), OwnerShard(1234567, shards));
    EXPECT_TRUE(IsPresenceTopic(topic, shards));
    EXPECT_FALSE(IsPresenceTopic(1234567, shards));
  }
}

// ---- Receipts -----------------------------------------------------------------------------------

TEST_F(PresenceTest, ConversationsAlwaysTrackChannelsUpToTheWorkspaceSetting) {
  ChannelId dm = Do<ConversationOpened>(OpenConversation{alice_, ws_, {bob_}}).channel_id;
  EXPECT_TRUE(ReceiptsTracked(state_, Channel(dm)));
  EXPECT_EQ(state_.FindWorkspace(ws_)->settings.receipts_max_members, kDefaultReceiptsMaxMembers);
  EXPECT_TRUE(ReceiptsTracked(state_, Channel(general_)));  // 3 members
  Do<ReceiptsMaxMembersSet>(SetReceiptsMaxMembers{alice_, ws_, 2});
  EXPECT_FALSE(ReceiptsTracked(state_, Channel(general_)));
  EXPECT_TRUE(ReceiptsTracked(state_, Channel(dm)));
  Do<ReceiptsMaxMembersSet>(SetReceiptsMaxMembers{alice_, ws_, 3});
  EXPECT_TRUE(ReceiptsTracked(state_, Channel(general_)));
  Do<ReceiptsMaxMembersSet>(SetReceiptsMaxMembers{alice_, ws_, 0});
  EXPECT_FALSE(ReceiptsTracked(state_, Channel(general_)));
  // The other settings change on their own.
  Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{alice_, ws_, false, false, true});
  EXPECT_EQ(state_.FindWorkspace(ws_)->settings.receipts_max_members, 0u);
  EXPECT_TRUE(IsNoOp(Try(SetReceiptsMaxMembers{alice_, ws_, 0})));
  ExpectReplayEqual();
}

TEST_F(PresenceTest, OnlyAdminsSetTheReceiptsThresholdWithinItsLimit) {
  EXPECT_TRUE(IsError(Try(SetReceiptsMaxMembers{alice_, ws_, kMaxReceiptsMaxMembers + 1}),
                      ErrorCode::kInvalidArgument, "receipts_max_members"));
  Decision by_member = Try(SetReceiptsMaxMembers{bob_, ws_, 10});
  ASSERT_FALSE(by_member.ok());
  EXPECT_EQ(by_member.error().code, ErrorCode::kForbidden);
  Decision by_stranger = Try(SetReceiptsMaxMembers{stranger_, ws_, 10});
  ASSERT_FALSE(by_stranger.ok());
  EXPECT_EQ(by_stranger.error().code, ErrorCode::kNotFound);
}

TEST_F(PresenceTest, ReceiptsAdvanceMonotonicallyAndReadImpliesDelivered) {
  ChannelId dm = Do<ConversationOpened>(OpenConversation{alice_, ws_, {bob_}}).channel_id;
  for (int i = 0; i < 3; ++i) Post(alice_, dm);
  ReceiptsAdvanced e = Do<ReceiptsAdvanced>(AdvanceReceipts{dm, {{bob_, 2, 0}, {stranger_, 3, 3}}});
  EXPECT_EQ(e.user_ids, (std::vector<uint64_t>{bob_}));  // non-members are dropped
  EXPECT_EQ(e.delivered, (std::vector<uint64_t>{2}));
  EXPECT_EQ(e.read, (std::vector<uint64_t>{0}));
  EXPECT_TRUE(IsNoOp(Try(AdvanceReceipts{dm, {{bob_, 1, 0}}})));  // never backwards
  Do<ReceiptsAdvanced>(AdvanceReceipts{dm, {{bob_, 0, 3}}});
  EXPECT_EQ(Channel(dm).receipts.at(bob_), (ReceiptState{3, 3}));
  // Beyond the newest message is clamped.
  EXPECT_TRUE(IsNoOp(Try(AdvanceReceipts{dm, {{bob_, 99, 99}}})));
  ExpectReplayEqual();
}

TEST_F(PresenceTest, UntrackedChannelsKeepNoReceipts) {
  Do<ReceiptsMaxMembersSet>(SetReceiptsMaxMembers{alice_, ws_, 2});
  Seq seq = Post(alice_, general_);
  EXPECT_TRUE(IsNoOp(Try(AdvanceReceipts{general_, {{bob_, seq, seq}}})));
  Result<MessageReceipts> listed = ListMessageReceipts(state_, alice_, general_, seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE(listed->tracked);
  EXPECT_TRUE(listed->delivered_to.empty());
}

TEST_F(PresenceTest, ListingAMessagesReceiptsLeavesTheAuthorOut) {
  ChannelId group =
      Do<ConversationOpened>(OpenConversation{alice_, ws_, {bob_, carol_}}).channel_id;
  Seq first = Post(alice_, group);
  Seq second = Post(alice_, group);
  Do<ReceiptsAdvanced>(
      AdvanceReceipts{group, {{bob_, second, first}, {carol_, first, 0}, {alice_, second, 0}}});
  Result<MessageReceipts> r1 = ListMessageReceipts(state_, bob_, group, first);
  ASSERT_TRUE(r1.ok());
  EXPECT_TRUE(r1->tracked);
  EXPECT_EQ(r1->author_id, alice_);
  EXPECT_EQ(r1->delivered_to, (std::vector<UserId>{bob_, carol_}));
  EXPECT_EQ(r1->read_by, (std::vector<UserId>{bob_}));
  Result<MessageReceipts> r2 = ListMessageReceipts(state_, alice_, group, second);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->delivered_to, (std::vector<UserId>{bob_}));
  EXPECT_TRUE(r2->read_by.empty());
  EXPECT_TRUE(IsError(ListMessageReceipts(state_, alice_, group, 99), ErrorCode::kNotFound, "seq"));
  EXPECT_FALSE(ListMessageReceipts(state_, stranger_, group, first).ok());
}

TEST_F(PresenceTest, SendingReadReceiptsIsOnUntilTurnedOff) {
  EXPECT_TRUE(User(bob_).send_read_receipts);
  EXPECT_TRUE(IsNoOp(Try(SetReadReceipts{bob_, true})));
  ReadReceiptsChanged e = Do<ReadReceiptsChanged>(SetReadReceipts{bob_, false});
  EXPECT_FALSE(e.send_read_receipts);
  EXPECT_FALSE(User(bob_).send_read_receipts);
  Do<ReadReceiptsChanged>(SetReadReceipts{bob_, true});
  EXPECT_TRUE(User(bob_).send_read_receipts);
  ExpectReplayEqual();
}

}  // namespace
}  // namespace parley
