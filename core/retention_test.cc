// Message retention: SetRetention's rules and the sweep's decision (decide_retention.cc), and
// what an expiry takes out of a channel (state_messages.cc).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/decision_matchers.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;

class RetentionTest : public DecideFixture {
 protected:
  RetentionTest() : DecideFixture(kNow) {
    alice_ = Register("alice@example.com", "alice");
    bob_ = Register("bob@example.com", "bob");
    carol_ = Register("carol@example.com", "carol");
    stranger_ = Register("stranger@example.com", "stranger");
    WorkspaceCreated created = Do<WorkspaceCreated>(CreateWorkspace{alice_, "Acme"});
    ws_ = created.workspace_id;
    general_ = created.general_id;
    random_ = created.random_id;
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{alice_, ws_, true});
    Do<WorkspaceJoined>(JoinWorkspace{bob_, ws_});
    Do<WorkspaceJoined>(JoinWorkspace{carol_, ws_});
    Do<RoleChanged>(SetMemberRole{alice_, ws_, bob_, static_cast<uint8_t>(WorkspaceRole::kAdmin)});
  }

  UserId Register(std::string email, std::string name) {
    return Do<UserRegistered>(RegisterUser{email, name, "correct horse", "", "h"}).user_id;
  }
  const ChannelState& General() { return *state_.FindChannel(general_); }
  Seq Post(UserId actor, std::string text, std::string client_id = "") {
    return Do<MessagePosted>(PostMessage{actor, general_, client_id, text}).seq;
  }
  void SetDays(uint32_t days) { Do<WorkspaceRetentionSet>(SetRetention{alice_, ws_, days}); }
  Decision Sweep() { return Try(ExpireMessages{general_}); }
  std::vector<Seq> HistorySeqs(UserId reader) {
    Result<HistoryPage> page =
        ReadHistory(state_, reader, HistoryQuery{general_, 0, 0, false, 200});
    std::vector<Seq> seqs;
    if (!page.ok()) return seqs;
    for (const StoredMessage* m : page->messages) seqs.push_back(m->seq);
    return seqs;
  }

  UserId alice_ = 0, bob_ = 0, carol_ = 0, stranger_ = 0;
  WorkspaceId ws_ = 0;
  ChannelId general_ = 0, random_ = 0;
};

// ---- SetRetention ------------------------------------------------------------------------------

TEST_F(RetentionTest, OwnerSetsRetentionAndZeroKeepsForever) {
  EXPECT_EQ(state_.FindWorkspace(ws_)->settings.retention_days, 0u);  // the default
  WorkspaceRetentionSet e = Do<WorkspaceRetentionSet>(SetRetention{alice_, ws_, 30});
  EXPECT_EQ(e.workspace_id, ws_);
  EXPECT_EQ(e.days, 30u);
  EXPECT_EQ(e.by, alice_);
  EXPECT_EQ(e.at, kNow);
  EXPECT_EQ(state_.FindWorkspace(ws_)->settings.retention_days, 30u);
  EXPECT_EQ(state_.retained_workspaces(), std::set<WorkspaceId>{ws_});
  EXPECT_TRUE(IsNoOp(Try(SetRetention{alice_, ws_, 30})));
  Do<WorkspaceRetentionSet>(SetRetention{alice_, ws_, 0});
  EXPECT_EQ(state_.FindWorkspace(ws_)->settings.retention_days, 0u);
  EXPECT_TRUE(state_.retained_workspaces().empty());
  ExpectReplayEqual();
}

TEST_F(RetentionTest, AdminsMayOthersMayNot) {
  EXPECT_EQ(Do<WorkspaceRetentionSet>(SetRetention{bob_, ws_, 7}).by, bob_);
  EXPECT_TRUE(IsError(Try(SetRetention{carol_, ws_, 1}), ErrorCode::kForbidden, "workspace_id"));
  // Outsiders are not told the workspace exists.
  EXPECT_TRUE(IsError(Try(SetRetention{stranger_, ws_, 1}), ErrorCode::kNotFound, "workspace_id"));
  EXPECT_TRUE(IsError(Try(SetRetention{alice_, 987654, 1}), ErrorCode::kNotFound, "workspace_id"));
  EXPECT_TRUE(IsError(Try(SetRetention{0, ws_, 1}), ErrorCode::kUnauthenticated, "actor"));
}

TEST_F(RetentionTest, DaysAreBounded) {
  EXPECT_EQ(Do<WorkspaceRetentionSet>(SetRetention{alice_, ws_, 1}).days, 1u);
  EXPECT_EQ(Do<WorkspaceRetentionSet>(SetRetention{alice_, ws_, kMaxRetentionDays}).days, 3650u);
  EXPECT_TRUE(IsError(Try(SetRetention{alice_, ws_, kMaxRetentionDays + 1}),
                      ErrorCode::kInvalidArgument, "retention_days"));
}

// ---- The sweep's decision ----------------------------------------------------------------------

TEST_F(RetentionTest, NothingExpiresWithoutRetention) {
  Post(alice_, "old");
  ctx_.now += 10'000 * kDayMs;
  EXPECT_TRUE(IsNoOp(Sweep()));
  EXPECT_TRUE(IsNoOp(Try(ExpireMessages{987654})));  // a channel not held here
}

TEST_F(RetentionTest, ExpiresMessagesAtLeastTheRetentionOld) {
  SetDays(2);
  Post(alice_, "one");
  ctx_.now += kDayMs;
  Post(bob_, "two");
  ctx_.now += kDayMs - 1;
  EXPECT_TRUE(IsNoOp(Sweep()));  // "one" is a millisecond short of two days
  ctx_.now += 1;
  MessagesExpired e = Do<MessagesExpired>(ExpireMessages{general_});
  EXPECT_EQ(e.channel_id, general_);
  EXPECT_EQ(e.from_seq, 1u);
  EXPECT_EQ(e.up_to_seq, 1u);
  EXPECT_EQ(e.at, ctx_.now);
  EXPECT_TRUE(IsNoOp(Sweep()));  // idempotent: decided again, nothing more is due
  ctx_.now += kDayMs;
  e = Do<MessagesExpired>(ExpireMessages{general_});
  EXPECT_EQ(e.from_seq, 2u);
  EXPECT_EQ(e.up_to_seq, 2u);
  EXPECT_EQ(General().expired_up_to, 2u);
  ExpectReplayEqual();
}

TEST_F(RetentionTest, TheRetentionUnitComesFromTheContext) {
  ctx_.retention_unit_ms = 1000;  // parleyd --retention_unit_s=1
  SetDays(3);
  Post(alice_, "soon gone");
  ctx_.now += 2999;
  EXPECT_TRUE(IsNoOp(Sweep()));
  ctx_.now += 1;
  EXPECT_EQ(Do<MessagesExpired>(ExpireMessages{general_}).up_to_seq, 1u);
}

TEST_F(RetentionTest, OneSweepExpiresAtMostABatch) {
  SetDays(1);
  const Seq total = kMaxExpiredPerSweep + 500;
  for (Seq i = 0; i < total; ++i) Post(alice_, "m");
  ctx_.now += kDayMs;
  MessagesExpired first = Do<MessagesExpired>(ExpireMessages{general_});
  EXPECT_EQ(first.from_seq, 1u);
  EXPECT_EQ(first.up_to_seq, kMaxExpiredPerSweep);
  MessagesExpired second = Do<MessagesExpired>(ExpireMessages{general_});
  EXPECT_EQ(second.from_seq, kMaxExpiredPerSweep + 1);
  EXPECT_EQ(second.up_to_seq, total);
  EXPECT_TRUE(IsNoOp(Sweep()));
  ExpectReplayEqual();
}

// Seqs follow posting order; if the clock stepped back, a later message waits for the earlier.
TEST_F(RetentionTest, StopsAtTheFirstMessageNotDue) {
  SetDays(1);
  ctx_.now += 1000;
  Post(alice_, "posted before the clock stepped back");
  ctx_.now -= 1000;
  Post(alice_, "older by the clock");
  ctx_.now += kDayMs;  // the second is due, the first is not
  EXPECT_TRUE(IsNoOp(Sweep()));
  ctx_.now += 1000;
  EXPECT_EQ(Do<MessagesExpired>(ExpireMessages{general_}).up_to_seq, 2u);
}

TEST_F(RetentionTest, SweptChannelsAreThoseOfRetainedWorkspaces) {
  ChannelId dm = Do<ConversationOpened>(OpenConversation{alice_, ws_, {bob_}}).channel_id;
  WorkspaceId other = Do<WorkspaceCreated>(CreateWorkspace{bob_, "Other"}).workspace_id;
  EXPECT_TRUE(ChannelsUnderRetention(state_).empty());
  SetDays(5);
  EXPECT_EQ(ChannelsUnderRetention(state_), (std::vector<ChannelId>{general_, random_, dm}));
  Do<WorkspaceRetentionSet>(SetRetention{bob_, other, 1});
  EXPECT_EQ(ChannelsUnderRetention(state_).size(), 5u);
  SetDays(0);
  EXPECT_EQ(ChannelsUnderRetention(state_).size(), 2u);
}

// ---- What an expiry removes --------------------------------------------------------------------

TEST_F(RetentionTest, ExpiredMessagesLeaveHistoryAndSeqsAreNotReused) {
  SetDays(1);
  Post(alice_, "a");
  Post(bob_, "b");
  ctx_.now += kDayMs;
  Seq kept = Post(bob_, "c");
  Do<MessagesExpired>(ExpireMessages{general_});
  EXPECT_EQ(HistorySeqs(alice_), std::vector<Seq>{kept});
  // Paging below the expired range finds nothing; top-level history skips them too.
  Result<HistoryPage> below =
      ReadHistory(state_, alice_, HistoryQuery{general_, kept, 0, false, 10});
  ASSERT_TRUE(below.ok());
  EXPECT_TRUE(below->messages.empty());
  EXPECT_FALSE(below->has_more);
  EXPECT_EQ(Post(alice_, "d"), kept + 1);
  EXPECT_EQ(HistorySeqs(alice_), (std::vector<Seq>{kept, kept + 1}));
  EXPECT_EQ(General().messages[0].text, "");
  EXPECT_TRUE(General().messages[0].deleted);
}

TEST_F(RetentionTest, ExpiryTakesReactionsPinsEditsMentionsAndClientIds) {
  SetDays(1);
  Seq old = Post(bob_, "hey <@" + std::to_string(alice_) + "> and <!channel>", "cid-1");
  Do<MessageEdited>(EditMessage{bob_, general_, old, "hey <@" + std::to_string(alice_) + ">"});
  Do<ReactionAdded>(AddReaction{alice_, general_, old, "tada"});
  Do<PinChanged>(SetPinned{alice_, general_, old, true});
  ctx_.now += kDayMs;
  Seq fresh = Post(carol_, "fresh");
  Do<PinChanged>(SetPinned{alice_, general_, fresh, true});
  EXPECT_EQ(UnreadOf(General(), alice_).mentions, 1u);
  Do<MessagesExpired>(ExpireMessages{general_});
  const ChannelState& c = General();
  EXPECT_TRUE(c.reactions.empty());
  EXPECT_TRUE(c.edits.empty());
  ASSERT_EQ(c.pins.size(), 1u);
  EXPECT_EQ(c.pins[0].seq, fresh);
  EXPECT_TRUE(c.mention_seqs.empty());
  EXPECT_TRUE(c.channel_mention_seqs.empty());
  EXPECT_TRUE(c.seq_by_client_id.empty());
  EXPECT_EQ(UnreadOf(c, alice_).unread, 1u);  // only "fresh"
  EXPECT_EQ(UnreadOf(c, alice_).mentions, 0u);
  ExpectReplayEqual();
}

TEST_F(RetentionTest, ExpiredMessagesCannotBeChanged) {
  SetDays(1);
  Seq old = Post(alice_, "old");
  ctx_.now += kDayMs;
  Do<MessagesExpired>(ExpireMessages{general_});
  EXPECT_TRUE(IsError(Try(AddReaction{bob_, general_, old, "tada"}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(SetPinned{bob_, general_, old, true}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(EditMessage{alice_, general_, old, "new"}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(DeleteMessage{alice_, general_, old}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(PostReply{bob_, general_, old, "", "late", false}),
                      ErrorCode::kNotFound, "thread_seq"));
}

// A thread goes with its parent; its newer replies stay in the channel until their own turn.
TEST_F(RetentionTest, AThreadGoesWithItsParent) {
  SetDays(1);
  Seq parent = Post(alice_, "parent");
  ctx_.now += kDayMs / 2;
  Seq reply = Do<ThreadReplyPosted>(PostReply{bob_, general_, parent, "", "reply", false}).seq;
  ctx_.now += kDayMs / 2;
  EXPECT_EQ(Do<MessagesExpired>(ExpireMessages{general_}).up_to_seq, parent);
  EXPECT_TRUE(General().threads.empty());
  EXPECT_TRUE(UnreadThreadsOf(state_, alice_).empty());
  EXPECT_TRUE(IsError(ReadThread(state_, alice_, ThreadQuery{general_, parent, 0, 0}),
                      ErrorCode::kNotFound, "thread_seq"));
  EXPECT_EQ(HistorySeqs(alice_), std::vector<Seq>{reply});
  ctx_.now += kDayMs / 2;
  EXPECT_EQ(Do<MessagesExpired>(ExpireMessages{general_}).up_to_seq, reply);
  EXPECT_TRUE(HistorySeqs(alice_).empty());
  ExpectReplayEqual();
}

// The same record applied twice (a batch retried after a crash) changes nothing the second time
// but the shard's version count.
TEST_F(RetentionTest, ApplyingAnExpiryAgainChangesNothing) {
  SetDays(1);
  Post(alice_, "a");
  ctx_.now += kDayMs;
  Post(alice_, "b");
  MessagesExpired e = Do<MessagesExpired>(ExpireMessages{general_});
  const ChannelState before = General();
  auto unchanged = [&] {
    ChannelState now = General();
    now.version = before.version;
    return now == before;
  };
  state_.Apply(Event(e));
  EXPECT_TRUE(unchanged());
  // A stale range (below what already expired) is ignored too.
  state_.Apply(Event(MessagesExpired{general_, 1, 1, ctx_.now}));
  EXPECT_TRUE(unchanged());
  EXPECT_EQ(General().expired_up_to, 1u);
}

}  // namespace
}  // namespace parley
