// Decide and apply for the chat product's message features: threads, following and reading
// them, the timeline, reactions, pins, bookmarks, edits and deletions, and mention indexing.
// Every test drives the state through Decide, records the log, and most end by checking that
// replaying the log into a fresh state gives an equal one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/decide.h"
#include "core/decision_matchers.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;
constexpr UserId kAlice = 1001;  // owns the workspace (an admin)
constexpr UserId kBob = 1002;    // member of the workspace and of #dev
constexpr UserId kCarol = 1003;  // member of the workspace, not of #dev
constexpr UserId kDave = 1004;   // member of #dev

class MessagesTest : public DecideFixture {
 protected:
  MessagesTest() : DecideFixture(kNow) {}

  void SetUp() override {
    ws_ = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"});
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, ws_.workspace_id, true});
    for (UserId user : {kBob, kCarol, kDave}) {
      Do<WorkspaceJoined>(JoinWorkspace{user, ws_.workspace_id});
    }
    dev_ = Do<ChannelCreated>(CreateChannel{kAlice, ws_.workspace_id, "dev"}).channel_id;
    Do<ChannelJoined>(JoinChannel{kBob, dev_});
    Do<ChannelJoined>(JoinChannel{kDave, dev_});
  }

  Seq Post(UserId actor, const std::string& text, std::string client_id = "") {
    return Do<MessagePosted>(PostMessage{actor, dev_, std::move(client_id), text}).seq;
  }
  Seq Reply(UserId actor, Seq thread, const std::string& text, bool also = false) {
    return Do<ThreadReplyPosted>(PostReply{actor, dev_, thread, "", text, also}).seq;
  }

  const ChannelState& Dev() const { return *state_.FindChannel(dev_); }
  const ThreadState& Thread(Seq seq) const { return Dev().threads.at(seq); }
  const StoredMessage& Message(Seq seq) const { return Dev().messages[seq - 1]; }

  std::vector<Seq> Seqs(const Result<HistoryPage>& page) {
    std::vector<Seq> out;
    EXPECT_TRUE(page.ok());
    if (!page.ok()) return out;
    for (const StoredMessage* m : page->messages) out.push_back(m->seq);
    return out;
  }
  Result<HistoryPage> Timeline(Seq before, Seq after, uint32_t limit) {
    return ReadHistory(state_, kBob, HistoryQuery{dev_, before, after, after > 0, limit, true});
  }

  WorkspaceCreated ws_;
  ChannelId dev_ = 0;
};

// ---- Threads ----------------------------------------------------------------------------------

TEST_F(MessagesTest, ReplyTakesTheNextSeqAndSummarisesTheThread) {
  Seq parent = Post(kAlice, "lunch?");
  ctx_.now += 10;
  ThreadReplyPosted r1 = Do<ThreadReplyPosted>(PostReply{kBob, dev_, parent, "c1", "yes", false});
  EXPECT_EQ(r1.seq, parent + 1);
  EXPECT_EQ(r1.thread_seq, parent);
  EXPECT_EQ(r1.author_id, kBob);
  EXPECT_EQ(r1.at, kNow + 10);
  EXPECT_NE(r1.message_id, 0u);
  ctx_.now += 10;
  Seq r2 = Reply(kDave, parent, "me too");
  Seq r3 = Reply(kBob, parent, "12:30");
  EXPECT_EQ(r3, r2 + 1);
  const ThreadState& t = Thread(parent);
  EXPECT_EQ(t.replies, (std::vector<Seq>{r1.seq, r2, r3}));
  EXPECT_EQ(t.participants, (std::vector<UserId>{kBob, kDave}));  // first reply first
  EXPECT_EQ(t.last_reply_at, kNow + 20);
  EXPECT_EQ(Message(r2).thread_seq, parent);
  EXPECT_FALSE(Message(r2).also_to_channel);
  EXPECT_EQ(Dev().last_seq(), r3);
  // Sync reads the stream without gaps: replies included.
  Result<HistoryPage> all = ReadHistory(state_, kBob, HistoryQuery{dev_, 0, 0, true, 0, false});
  EXPECT_EQ(Seqs(all), (std::vector<Seq>{parent, r1.seq, r2, r3}));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, RepliesFollowTheirThreadAndMentionedMembersToo) {
  Seq parent = Post(kAlice, "design review");
  Reply(kBob, parent, "ping <@1004> and <@1003>");  // Dave is in #dev, Carol is not
  const ThreadState& t = Thread(parent);
  EXPECT_EQ(t.followers, (std::unordered_set<UserId>{kAlice, kBob, kDave}));
  EXPECT_EQ(t.read_up_to.at(kBob), parent + 1);  // one's own reply is read
  EXPECT_EQ(t.read_up_to.count(kAlice), 0u);
  ExpectReplayEqual();
}

TEST_F(MessagesTest, ReplyIsRefusedWhereAPostWouldBe) {
  Seq parent = Post(kAlice, "top");
  EXPECT_TRUE(IsError(Try(PostReply{kCarol, dev_, parent, "", "hi"}), ErrorCode::kForbidden,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(PostReply{kNoId, dev_, parent, "", "hi"}),
                      ErrorCode::kUnauthenticated, "actor"));
  EXPECT_TRUE(IsError(Try(PostReply{kBob, 999'999, parent, "", "hi"}), ErrorCode::kNotFound,
                      "channel_id"));
  ChannelId secret =
      Do<ChannelCreated>(CreateChannel{kAlice, ws_.workspace_id, "secret", true}).channel_id;
  Seq hidden = Do<MessagePosted>(PostMessage{kAlice, secret, "", "psst"}).seq;
  EXPECT_TRUE(IsError(Try(PostReply{kBob, secret, hidden, "", "hi"}), ErrorCode::kNotFound,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, parent, "", " \n"}),
                      ErrorCode::kInvalidArgument, "text"));
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, parent, std::string(65, 'c'), "hi"}),
                      ErrorCode::kInvalidArgument, "client_msg_id"));
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, std::nullopt, true});  // announcement
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, parent, "", "hi"}), ErrorCode::kForbidden,
                      "channel_id"));
  Reply(kAlice, parent, "admins may");
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, true, false});  // archived
  EXPECT_TRUE(IsError(Try(PostReply{kAlice, dev_, parent, "", "hi"}), ErrorCode::kForbidden,
                      "channel_id"));
}

TEST_F(MessagesTest, ReplyNeedsALiveTopLevelMessage) {
  Seq parent = Post(kAlice, "top");
  Seq reply = Reply(kBob, parent, "first");
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, reply, "", "nested"}),
                      ErrorCode::kInvalidArgument, "thread_seq"));
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, 0, "", "x"}), ErrorCode::kInvalidArgument,
                      "thread_seq"));
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, 99, "", "x"}), ErrorCode::kNotFound,
                      "thread_seq"));
  Seq gone = Post(kBob, "oops");
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, gone});
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, gone, "", "x"}), ErrorCode::kNotFound,
                      "thread_seq"));
}

TEST_F(MessagesTest, ClientIdsDeduplicateAcrossPostsAndReplies) {
  Seq parent = Post(kBob, "top", "c-1");
  EXPECT_EQ(FindPosted(Dev(), kBob, "c-1"), parent);
  EXPECT_TRUE(IsError(Try(PostReply{kBob, dev_, parent, "c-1", "again"}),
                      ErrorCode::kAlreadyExists, "client_msg_id"));
  Seq reply = Do<ThreadReplyPosted>(PostReply{kBob, dev_, parent, "c-2", "reply"}).seq;
  EXPECT_EQ(FindPosted(Dev(), kBob, "c-2"), reply);
  EXPECT_TRUE(IsError(Try(PostMessage{kBob, dev_, "c-2", "again"}), ErrorCode::kAlreadyExists,
                      "client_msg_id"));
  EXPECT_FALSE(FindPosted(Dev(), kDave, "c-2").has_value());  // per author
}

TEST_F(MessagesTest, ThreadPagesAfterASeq) {
  Seq parent = Post(kAlice, "top");
  std::vector<Seq> replies;
  for (int i = 0; i < 5; ++i) {
    Post(kDave, "noise");  // interleaved top-level messages are not in the thread
    replies.push_back(Reply(kBob, parent, "r" + std::to_string(i)));
  }
  Result<ThreadPage> page = ReadThread(state_, kDave, ThreadQuery{dev_, parent, 0, 2});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->parent, &Message(parent));
  EXPECT_EQ(page->thread, &Thread(parent));
  ASSERT_EQ(page->replies.size(), 2u);
  EXPECT_EQ(page->replies[0]->seq, replies[0]);
  EXPECT_EQ(page->replies[1]->seq, replies[1]);
  EXPECT_TRUE(page->has_more);
  page = ReadThread(state_, kDave, ThreadQuery{dev_, parent, replies[1], 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->replies.size(), 2u);
  EXPECT_EQ(page->replies[0]->seq, replies[2]);
  EXPECT_TRUE(page->has_more);
  page = ReadThread(state_, kDave, ThreadQuery{dev_, parent, replies[3], 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->replies.size(), 1u);
  EXPECT_EQ(page->replies[0]->seq, replies[4]);
  EXPECT_FALSE(page->has_more);
  page = ReadThread(state_, kDave, ThreadQuery{dev_, parent, replies[4], 0});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->replies.empty());
  EXPECT_FALSE(page->has_more);
}

TEST_F(MessagesTest, ReadThreadChecksAccessAndArguments) {
  Seq parent = Post(kAlice, "top");
  Seq lone = Post(kAlice, "no replies");
  Seq reply = Reply(kBob, parent, "r");
  Result<ThreadPage> empty = ReadThread(state_, kBob, ThreadQuery{dev_, lone, 0, 0});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->thread, nullptr);
  EXPECT_TRUE(empty->replies.empty());
  EXPECT_TRUE(IsError(ReadThread(state_, kCarol, ThreadQuery{dev_, parent, 0, 0}),
                      ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(IsError(ReadThread(state_, 4242, ThreadQuery{dev_, parent, 0, 0}),
                      ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(ReadThread(state_, kBob, ThreadQuery{dev_, parent, 0, 201}),
                      ErrorCode::kInvalidArgument, "limit"));
  EXPECT_TRUE(IsError(ReadThread(state_, kBob, ThreadQuery{dev_, reply, 0, 0}),
                      ErrorCode::kInvalidArgument, "thread_seq"));
  EXPECT_TRUE(IsError(ReadThread(state_, kBob, ThreadQuery{dev_, 0, 0, 0}), ErrorCode::kNotFound,
                      "thread_seq"));
  EXPECT_TRUE(IsError(ReadThread(state_, kBob, ThreadQuery{dev_, 77, 0, 0}),
                      ErrorCode::kNotFound, "thread_seq"));
}

// A deleted parent is a tombstone that still holds its thread.
TEST_F(MessagesTest, DeletingTheParentKeepsTheThreadReachable) {
  Seq parent = Post(kAlice, "top");
  Seq reply = Reply(kBob, parent, "r");
  Do<MessageDeleted>(DeleteMessage{kAlice, dev_, parent});
  Result<ThreadPage> page = ReadThread(state_, kBob, ThreadQuery{dev_, parent, 0, 0});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->parent->deleted);
  EXPECT_EQ(page->parent->text, "");
  ASSERT_EQ(page->replies.size(), 1u);
  EXPECT_EQ(page->replies[0]->seq, reply);
  EXPECT_EQ(Thread(parent).replies.size(), 1u);
  // A deleted reply stays in its thread as a tombstone.
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, reply});
  page = ReadThread(state_, kBob, ThreadQuery{dev_, parent, 0, 0});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->replies.size(), 1u);
  EXPECT_TRUE(page->replies[0]->deleted);
  ExpectReplayEqual();
}

// ---- Timeline ---------------------------------------------------------------------------------

TEST_F(MessagesTest, TimelineIsEverySeqUntilTheFirstReplyKeptOutOfIt) {
  Seq a = Post(kAlice, "a");
  Seq b = Reply(kBob, a, "to channel too", /*also=*/true);
  EXPECT_FALSE(Dev().has_replies);  // also sent to the channel: still every seq
  EXPECT_TRUE(Dev().timeline.empty());
  Seq c = Post(kBob, "c");
  Seq d = Reply(kBob, a, "thread only");
  EXPECT_TRUE(Dev().has_replies);
  EXPECT_EQ(Dev().timeline, (std::vector<Seq>{a, b, c}));
  Seq e = Reply(kDave, a, "also", true);
  Seq f = Post(kAlice, "f");
  Reply(kDave, c, "thread only");
  EXPECT_EQ(Dev().timeline, (std::vector<Seq>{a, b, c, e, f}));
  EXPECT_EQ(Seqs(Timeline(0, 0, 0)), (std::vector<Seq>{a, b, c, e, f}));
  EXPECT_EQ(Seqs(ReadHistory(state_, kBob, HistoryQuery{dev_, 0, 0, false, 0, false})).size(), 7u);
  EXPECT_NE(d, 0u);
  ExpectReplayEqual();
}

TEST_F(MessagesTest, TimelinePagesBothWays) {
  std::vector<Seq> top;
  for (int i = 0; i < 6; ++i) {
    Seq s = Post(kAlice, "m" + std::to_string(i));
    top.push_back(s);
    Reply(kBob, s, "r");
  }
  // Newest first below `before`: the newest 4 of 6, then the 2 left.
  Result<HistoryPage> page = Timeline(0, 0, 4);
  EXPECT_EQ(Seqs(page), (std::vector<Seq>{top[2], top[3], top[4], top[5]}));
  EXPECT_TRUE(page->has_more);
  EXPECT_EQ(page->last_seq, Dev().last_seq());
  page = Timeline(top[2], 0, 4);
  EXPECT_EQ(Seqs(page), (std::vector<Seq>{top[0], top[1]}));
  EXPECT_FALSE(page->has_more);
  // Oldest first after `after`, which need not be in the timeline (a reply's seq).
  page = Timeline(0, top[0] + 1, 3);
  EXPECT_EQ(Seqs(page), (std::vector<Seq>{top[1], top[2], top[3]}));
  EXPECT_TRUE(page->has_more);
  page = Timeline(0, top[3], 3);
  EXPECT_EQ(Seqs(page), (std::vector<Seq>{top[4], top[5]}));
  EXPECT_FALSE(page->has_more);
  // Both bounds: strictly between them.
  page = ReadHistory(state_, kBob, HistoryQuery{dev_, top[4], top[1], true, 10, true});
  EXPECT_EQ(Seqs(page), (std::vector<Seq>{top[2], top[3]}));
  EXPECT_FALSE(page->has_more);
  EXPECT_TRUE(Seqs(Timeline(0, Dev().last_seq(), 10)).empty());
  EXPECT_TRUE(IsError(Timeline(0, 0, 201), ErrorCode::kInvalidArgument, "limit"));
}

// ---- Following and reading threads ------------------------------------------------------------

TEST_F(MessagesTest, FollowingByHandIsIdempotent) {
  Seq parent = Post(kAlice, "top");
  ThreadFollowChanged f = Do<ThreadFollowChanged>(SetThreadFollow{kDave, dev_, parent, true});
  EXPECT_EQ(f.user_id, kDave);
  EXPECT_TRUE(f.following);
  EXPECT_EQ(f.thread_seq, parent);
  EXPECT_TRUE(IsNoOp(Try(SetThreadFollow{kDave, dev_, parent, true})));
  Reply(kBob, parent, "r");
  EXPECT_EQ(Thread(parent).followers, (std::unordered_set<UserId>{kAlice, kBob, kDave}));
  Do<ThreadFollowChanged>(SetThreadFollow{kAlice, dev_, parent, false});
  EXPECT_TRUE(IsNoOp(Try(SetThreadFollow{kAlice, dev_, parent, false})));
  EXPECT_TRUE(IsNoOp(Try(SetThreadFollow{kBob, dev_, Post(kBob, "x"), false})));
  EXPECT_EQ(Thread(parent).followers, (std::unordered_set<UserId>{kBob, kDave}));
  EXPECT_TRUE(IsError(Try(SetThreadFollow{kCarol, dev_, parent, true}), ErrorCode::kForbidden,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(SetThreadFollow{kBob, dev_, parent + 1, true}),
                      ErrorCode::kInvalidArgument, "thread_seq"));
  EXPECT_TRUE(IsError(Try(SetThreadFollow{kBob, dev_, 500, true}), ErrorCode::kNotFound,
                      "thread_seq"));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, MarkThreadReadReadsUpToTheLastReply) {
  Seq parent = Post(kAlice, "top");
  EXPECT_TRUE(IsNoOp(Try(MarkThreadRead{kAlice, dev_, parent})));  // no replies yet
  Reply(kBob, parent, "r1");
  Seq r2 = Reply(kDave, parent, "r2");
  ThreadMarkedRead m = Do<ThreadMarkedRead>(MarkThreadRead{kAlice, dev_, parent});
  EXPECT_EQ(m.read_seq, r2);
  EXPECT_EQ(Thread(parent).read_up_to.at(kAlice), r2);
  EXPECT_TRUE(IsNoOp(Try(MarkThreadRead{kAlice, dev_, parent})));
  EXPECT_TRUE(IsNoOp(Try(MarkThreadRead{kDave, dev_, parent})));  // their reply is the last
  EXPECT_TRUE(IsError(Try(MarkThreadRead{kCarol, dev_, parent}), ErrorCode::kForbidden,
                      "channel_id"));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, UnreadThreadsAreFollowedOnesWithNewRepliesByOthers) {
  Seq older = Post(kAlice, "older");
  Seq newer = Post(kAlice, "newer");
  Seq quiet = Post(kAlice, "quiet");
  ctx_.now += 100;
  Reply(kBob, older, "r1");
  ctx_.now += 100;
  Reply(kBob, newer, "r1");
  Reply(kDave, newer, "r2");
  ctx_.now += 100;
  Reply(kAlice, quiet, "my own reply");  // Alice's own: read
  std::vector<UnreadThread> unread = UnreadThreadsOf(state_, kAlice);
  ASSERT_EQ(unread.size(), 2u);
  EXPECT_EQ(unread[0].thread_seq, newer);  // newest reply first
  EXPECT_EQ(unread[0].unread_replies, 2u);
  EXPECT_EQ(unread[0].last_reply_at, kNow + 200);
  EXPECT_EQ(unread[0].channel_id, dev_);
  EXPECT_EQ(unread[1].thread_seq, older);
  EXPECT_EQ(unread[1].unread_replies, 1u);
  // Bob replied in both: only Dave's reply after his is unread for him.
  unread = UnreadThreadsOf(state_, kBob);
  ASSERT_EQ(unread.size(), 1u);
  EXPECT_EQ(unread[0].thread_seq, newer);
  EXPECT_EQ(unread[0].unread_replies, 1u);
  // Reading, replying and unfollowing each take a thread off the list.
  Do<ThreadMarkedRead>(MarkThreadRead{kAlice, dev_, newer});
  Reply(kAlice, older, "answering");
  unread = UnreadThreadsOf(state_, kAlice);
  EXPECT_TRUE(unread.empty());
  Reply(kDave, older, "again");
  EXPECT_EQ(UnreadThreadsOf(state_, kAlice).size(), 1u);
  Do<ThreadFollowChanged>(SetThreadFollow{kAlice, dev_, older, false});
  EXPECT_TRUE(UnreadThreadsOf(state_, kAlice).empty());
  EXPECT_TRUE(UnreadThreadsOf(state_, kCarol).empty());  // follows nothing
  ExpectReplayEqual();
}

TEST_F(MessagesTest, DeletedRepliesAreNotUnread) {
  Seq parent = Post(kAlice, "top");
  Seq reply = Reply(kBob, parent, "r");
  ASSERT_EQ(UnreadThreadsOf(state_, kAlice).size(), 1u);
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, reply});
  EXPECT_TRUE(UnreadThreadsOf(state_, kAlice).empty());
}

// ---- Reactions --------------------------------------------------------------------------------

TEST_F(MessagesTest, ReactionsAggregatePerEmojiInOrderOfFirstUse) {
  Seq seq = Post(kAlice, "ship it");
  ReactionAdded r = Do<ReactionAdded>(AddReaction{kBob, dev_, seq, ":ThumbsUp:"});
  EXPECT_EQ(r.emoji, "thumbsup");
  EXPECT_EQ(r.user_id, kBob);
  Do<ReactionAdded>(AddReaction{kDave, dev_, seq, "\xf0\x9f\x8e\x89"});  // U+1F389
  Do<ReactionAdded>(AddReaction{kAlice, dev_, seq, "thumbsup"});
  EXPECT_TRUE(IsNoOp(Try(AddReaction{kBob, dev_, seq, "thumbsup"})));
  EXPECT_TRUE(IsNoOp(Try(AddReaction{kBob, dev_, seq, ":THUMBSUP:"})));
  const std::vector<ReactionState>& list = Dev().reactions.at(seq);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (ReactionState{"thumbsup", {kBob, kAlice}}));
  EXPECT_EQ(list[1], (ReactionState{"\xf0\x9f\x8e\x89", {kDave}}));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, RemovingTheLastReactionOfAnEmojiDropsIt) {
  Seq seq = Post(kAlice, "x");
  Do<ReactionAdded>(AddReaction{kBob, dev_, seq, "eyes"});
  Do<ReactionAdded>(AddReaction{kBob, dev_, seq, "+1"});
  EXPECT_TRUE(IsNoOp(Try(RemoveReaction{kDave, dev_, seq, "eyes"})));
  EXPECT_TRUE(IsNoOp(Try(RemoveReaction{kBob, dev_, seq, "tada"})));
  ReactionRemoved r = Do<ReactionRemoved>(RemoveReaction{kBob, dev_, seq, ":Eyes:"});
  EXPECT_EQ(r.emoji, "eyes");
  ASSERT_EQ(Dev().reactions.at(seq).size(), 1u);
  EXPECT_EQ(Dev().reactions.at(seq)[0].emoji, "+1");
  Do<ReactionRemoved>(RemoveReaction{kBob, dev_, seq, "+1"});
  EXPECT_EQ(Dev().reactions.count(seq), 0u);  // nothing left behind
  EXPECT_TRUE(IsNoOp(Try(RemoveReaction{kBob, dev_, seq, "+1"})));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, EmojiMustBeANameOrOneEmojiCharacter) {
  Seq seq = Post(kAlice, "x");
  const std::vector<std::string> bad = {
      "", "::", ":thumbsup", "thumbs up", "smile!", std::string(65, 'a'),
      ":" + std::string(65, 'a') + ":", "\xf0\x9f\x8e\x89 ", "a\xf0\x9f\x8e\x89",
      "\xff\xfe", "\xc2\x85",           // invalid UTF-8; a C1 control
      "\xe2\x80\x83",                   // EM SPACE
      std::string(17, '\x01'),
      [] { std::string s; for (int i = 0; i < 17; ++i) s += "\xf0\x9f\x8e\x89"; return s; }(),
  };
  for (const std::string& emoji : bad) {
    EXPECT_TRUE(IsError(Try(AddReaction{kBob, dev_, seq, emoji}), ErrorCode::kInvalidArgument,
                        "emoji"))
        << emoji;
    EXPECT_TRUE(IsError(Try(RemoveReaction{kBob, dev_, seq, emoji}),
                        ErrorCode::kInvalidArgument, "emoji"))
        << emoji;
  }
  const std::vector<std::pair<std::string, std::string>> good = {
      {"a", "a"}, {":a:", "a"}, {std::string(64, 'z'), std::string(64, 'z')},
      {":+1:", "+1"}, {"-1", "-1"}, {"white_check_mark", "white_check_mark"},
      {"\xe2\x9c\x85", "\xe2\x9c\x85"},  // U+2705
      // A family: several code points joined by ZWJ is still one emoji.
      {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
       "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"},
  };
  for (const auto& [raw, stored] : good) {
    EXPECT_EQ(Do<ReactionAdded>(AddReaction{kBob, dev_, seq, raw}).emoji, stored) << raw;
    Do<ReactionRemoved>(RemoveReaction{kBob, dev_, seq, stored});
  }
}

TEST_F(MessagesTest, AtMostFiftyDistinctEmojiPerMessage) {
  Seq seq = Post(kAlice, "x");
  for (size_t i = 0; i < kMaxDistinctReactions; ++i) {
    Do<ReactionAdded>(AddReaction{kBob, dev_, seq, "e" + std::to_string(i)});
  }
  EXPECT_TRUE(IsError(Try(AddReaction{kBob, dev_, seq, "one_more"}), ErrorCode::kInvalidArgument,
                      "emoji"));
  Do<ReactionAdded>(AddReaction{kDave, dev_, seq, "e7"});  // an existing one is fine
  EXPECT_EQ(Dev().reactions.at(seq).size(), kMaxDistinctReactions);
  Do<ReactionRemoved>(RemoveReaction{kBob, dev_, seq, "e0"});
  Do<ReactionAdded>(AddReaction{kBob, dev_, seq, "one_more"});  // room again
}

TEST_F(MessagesTest, ReactionsNeedAMemberALiveMessageAndAWritableChannel) {
  Seq seq = Post(kAlice, "x");
  EXPECT_TRUE(IsError(Try(AddReaction{kCarol, dev_, seq, "a"}), ErrorCode::kForbidden,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(AddReaction{4242, dev_, seq, "a"}), ErrorCode::kNotFound,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(AddReaction{kBob, dev_, 0, "a"}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(AddReaction{kBob, dev_, 9, "a"}), ErrorCode::kNotFound, "seq"));
  Do<ReactionAdded>(AddReaction{kBob, dev_, seq, "a"});
  Do<MessageDeleted>(DeleteMessage{kAlice, dev_, seq});
  EXPECT_EQ(Dev().reactions.count(seq), 0u);  // deleting drops them
  EXPECT_TRUE(IsError(Try(AddReaction{kBob, dev_, seq, "a"}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(RemoveReaction{kBob, dev_, seq, "a"}), ErrorCode::kNotFound, "seq"));
  Seq other = Post(kAlice, "y");
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, true, std::nullopt});
  EXPECT_TRUE(IsError(Try(AddReaction{kBob, dev_, other, "a"}), ErrorCode::kForbidden,
                      "channel_id"));
  ExpectReplayEqual();
}

// ---- Pins -------------------------------------------------------------------------------------

TEST_F(MessagesTest, AnyMemberPinsAndUnpinsIdempotently) {
  Seq a = Post(kAlice, "a");
  Seq b = Post(kAlice, "b");
  PinChanged p = Do<PinChanged>(SetPinned{kBob, dev_, a, true});
  EXPECT_TRUE(p.pinned);
  EXPECT_EQ(p.by, kBob);
  ctx_.now += 5;
  Do<PinChanged>(SetPinned{kDave, dev_, b, true});
  EXPECT_TRUE(IsNoOp(Try(SetPinned{kAlice, dev_, a, true})));
  EXPECT_EQ(Dev().pins, (std::vector<PinState>{{a, kBob, kNow}, {b, kDave, kNow + 5}}));
  Do<PinChanged>(SetPinned{kAlice, dev_, a, false});
  EXPECT_TRUE(IsNoOp(Try(SetPinned{kAlice, dev_, a, false})));
  EXPECT_EQ(Dev().pins, (std::vector<PinState>{{b, kDave, kNow + 5}}));
  EXPECT_TRUE(IsError(Try(SetPinned{kCarol, dev_, b, false}), ErrorCode::kForbidden,
                      "channel_id"));
  // Deleting unpins, and a deleted message cannot be pinned.
  Do<MessageDeleted>(DeleteMessage{kAlice, dev_, b});
  EXPECT_TRUE(Dev().pins.empty());
  EXPECT_TRUE(IsError(Try(SetPinned{kBob, dev_, b, true}), ErrorCode::kNotFound, "seq"));
  EXPECT_TRUE(IsError(Try(SetPinned{kBob, dev_, 99, true}), ErrorCode::kNotFound, "seq"));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, AtMostAHundredPins) {
  for (size_t i = 0; i < kMaxPins; ++i) {
    Do<PinChanged>(SetPinned{kBob, dev_, Post(kBob, "m"), true});
  }
  Seq extra = Post(kBob, "one more");
  EXPECT_TRUE(IsError(Try(SetPinned{kBob, dev_, extra, true}), ErrorCode::kInvalidArgument,
                      "seq"));
  Do<PinChanged>(SetPinned{kBob, dev_, 1, false});
  Do<PinChanged>(SetPinned{kBob, dev_, extra, true});
  EXPECT_EQ(Dev().pins.size(), kMaxPins);
}

// ---- Bookmarks --------------------------------------------------------------------------------

TEST_F(MessagesTest, BookmarksAreAddedWithAFreshIdAndRemovedByTheirAdderOrAnAdmin) {
  BookmarkAdded a = Do<BookmarkAdded>(AddBookmark{kBob, dev_, "  Runbook ", "https://x.io/r"});
  EXPECT_EQ(a.title, "Runbook");
  EXPECT_EQ(a.url, "https://x.io/r");
  EXPECT_NE(a.bookmark_id, 0u);
  BookmarkAdded b = Do<BookmarkAdded>(AddBookmark{kDave, dev_, "Board", "http://b.example"});
  EXPECT_GT(b.bookmark_id, a.bookmark_id);  // creation order is id order
  EXPECT_EQ(Dev().bookmarks.at(a.bookmark_id),
            (BookmarkState{a.bookmark_id, "Runbook", "https://x.io/r", kBob, kNow}));
  EXPECT_TRUE(IsError(Try(RemoveBookmark{kDave, dev_, a.bookmark_id}), ErrorCode::kForbidden,
                      "bookmark_id"));
  EXPECT_TRUE(IsError(Try(RemoveBookmark{kBob, dev_, 12345}), ErrorCode::kNotFound,
                      "bookmark_id"));
  EXPECT_TRUE(IsError(Try(RemoveBookmark{kCarol, dev_, a.bookmark_id}), ErrorCode::kForbidden,
                      "channel_id"));
  Do<BookmarkRemoved>(RemoveBookmark{kBob, dev_, a.bookmark_id});
  Do<BookmarkRemoved>(RemoveBookmark{kAlice, dev_, b.bookmark_id});  // an admin
  EXPECT_TRUE(Dev().bookmarks.empty());
  EXPECT_TRUE(IsError(Try(RemoveBookmark{kBob, dev_, a.bookmark_id}), ErrorCode::kNotFound,
                      "bookmark_id"));
  // Ids minted here survive a restart: the replayed state resumes after them.
  ShardState replayed(0, 1);
  for (const Event& e : log_) replayed.Apply(e);
  EXPECT_EQ(replayed.max_minted(), state_.max_minted());
  ExpectReplayEqual();
}

TEST_F(MessagesTest, BookmarkTitlesAndUrlsAreValidated) {
  struct Case {
    std::string title, url, field;
  };
  const std::vector<Case> cases = {
      {"", "https://a.io", "title"},
      {"   ", "https://a.io", "title"},
      {std::string(121, 't'), "https://a.io", "title"},
      {"tab\there", "https://a.io", "title"},
      {"\xff", "https://a.io", "title"},
      {"ok", "", "url"},
      {"ok", "ftp://a.io", "url"},
      {"ok", "javascript:alert(1)", "url"},
      {"ok", "https://", "url"},
      {"ok", "https:///path", "url"},
      {"ok", "http://user@/x", "url"},
      {"ok", "https://a.io/with space", "url"},
      {"ok", "https://a.io/\x01", "url"},
      {"ok", "https://a.io/\xff", "url"},
      {"ok", "https://a.io/" + std::string(2048, 'p'), "url"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(IsError(Try(AddBookmark{kBob, dev_, c.title, c.url}),
                        ErrorCode::kInvalidArgument, c.field))
        << c.title << " " << c.url;
  }
  EXPECT_EQ(Do<BookmarkAdded>(AddBookmark{kBob, dev_, std::string(120, 't'), "HTTPS://A.io:8443"})
                .url,
            "HTTPS://A.io:8443");
  Do<BookmarkAdded>(AddBookmark{kBob, dev_, "caf\xc3\xa9", "https://[::1]:80/?q=1#frag"});
  Do<BookmarkAdded>(AddBookmark{kBob, dev_, "max", "https://a.io/" + std::string(2035, 'p')});
}

TEST_F(MessagesTest, AtMostAHundredBookmarksAndNoneInArchivedChannels) {
  for (size_t i = 0; i < kMaxBookmarks; ++i) {
    Do<BookmarkAdded>(AddBookmark{kBob, dev_, "b", "https://a.io"});
  }
  EXPECT_TRUE(IsError(Try(AddBookmark{kBob, dev_, "b", "https://a.io"}),
                      ErrorCode::kInvalidArgument, "channel_id"));
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, true, std::nullopt});
  EXPECT_TRUE(IsError(Try(RemoveBookmark{kBob, dev_, Dev().bookmarks.begin()->first}),
                      ErrorCode::kForbidden, "channel_id"));
}

// ---- Edits and deletions ----------------------------------------------------------------------

TEST_F(MessagesTest, EditsKeepTheirHistoryOldestFirst) {
  Seq seq = Post(kBob, "v0");
  for (int i = 1; i <= 3; ++i) {
    ctx_.now += 1000;
    Do<MessageEdited>(EditMessage{kBob, dev_, seq, "v" + std::to_string(i)});
  }
  EXPECT_EQ(Message(seq).text, "v3");
  EXPECT_EQ(Message(seq).edited_at, kNow + 3000);
  EXPECT_EQ(Dev().edits.at(seq), (std::vector<EditRecord>{
                                     {"v0", kNow + 1000}, {"v1", kNow + 2000}, {"v2", kNow + 3000}}));
  EXPECT_TRUE(IsNoOp(Try(EditMessage{kBob, dev_, seq, "v3"})));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, EditHistoryKeepsTheNewestFifty) {
  ctx_.edit_window_ms = kDayMs;
  Seq seq = Post(kBob, "v0");
  for (size_t i = 1; i <= kMaxEditHistory + 5; ++i) {
    Do<MessageEdited>(EditMessage{kBob, dev_, seq, "v" + std::to_string(i)});
  }
  const std::vector<EditRecord>& history = Dev().edits.at(seq);
  ASSERT_EQ(history.size(), kMaxEditHistory);
  EXPECT_EQ(history.front().text, "v5");
  EXPECT_EQ(history.back().text, "v" + std::to_string(kMaxEditHistory + 4));
  ExpectReplayEqual();
}

TEST_F(MessagesTest, TheEditWindowComesFromTheContextAndIsNamed) {
  Seq seq = Post(kBob, "v0");
  ctx_.edit_window_ms = 90'000;
  ctx_.now += 90'000;
  Do<MessageEdited>(EditMessage{kBob, dev_, seq, "at the limit"});
  ctx_.now += 1;
  Decision late = Try(EditMessage{kBob, dev_, seq, "too late"});
  ASSERT_TRUE(IsError(late, ErrorCode::kForbidden, "seq"));
  EXPECT_NE(late.error().message.find("90 seconds"), std::string::npos) << late.error().message;
  ctx_.edit_window_ms = 5 * kMinuteMs;
  late = Try(EditMessage{kBob, dev_, Post(kBob, "x"), "fine"});
  EXPECT_TRUE(late.ok());
  ctx_.now += 5 * kMinuteMs + 1;
  late = Try(EditMessage{kBob, dev_, seq, "too late"});
  ASSERT_TRUE(IsError(late, ErrorCode::kForbidden, "seq"));
  EXPECT_NE(late.error().message.find("5 minutes"), std::string::npos) << late.error().message;
}

TEST_F(MessagesTest, DeletedMessagesCannotBeEditedAndLoseTheirHistory) {
  Seq seq = Post(kBob, "v0");
  Do<MessageEdited>(EditMessage{kBob, dev_, seq, "v1"});
  Do<PinChanged>(SetPinned{kBob, dev_, seq, true});
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, seq});
  EXPECT_TRUE(IsError(Try(EditMessage{kBob, dev_, seq, "v2"}), ErrorCode::kNotFound, "seq"));
  EXPECT_EQ(Dev().edits.count(seq), 0u);
  EXPECT_TRUE(Dev().pins.empty());
  EXPECT_TRUE(Message(seq).deleted);
  ExpectReplayEqual();
}

// ---- Mentions ---------------------------------------------------------------------------------

TEST_F(MessagesTest, PostsAndRepliesIndexMentionsOfMembers) {
  Seq a = Post(kAlice, "hey <@1002> and <@1003>");  // Carol is not in #dev
  Seq b = Post(kAlice, "<!here> standup");
  Seq c = Reply(kDave, a, "<@1002> <@1002> <!channel>");
  Seq d = Post(kAlice, "<!everyone> <@1004>");
  EXPECT_EQ(Dev().mention_seqs.at(kBob), (std::vector<Seq>{a, c}));
  EXPECT_EQ(Dev().mention_seqs.at(kDave), (std::vector<Seq>{d}));
  EXPECT_EQ(Dev().mention_seqs.count(kCarol), 0u);
  EXPECT_EQ(Dev().channel_mention_seqs, (std::vector<Seq>{b, c, d}));
  EXPECT_EQ(UnknownMentions(Dev(), "<@1003> <@1002> <@77> <@1003>"),
            (std::vector<UserId>{77, kCarol}));
  EXPECT_TRUE(UnknownMentions(Dev(), "<@1002> <!here> no one").empty());
  ExpectReplayEqual();
}

TEST_F(MessagesTest, EditsReindexMentionsExactly) {
  Seq a = Post(kAlice, "<@1002>");
  Seq b = Post(kAlice, "plain");
  Seq c = Post(kAlice, "<@1002> <!here>");
  Do<MessageEdited>(EditMessage{kAlice, dev_, b, "now <@1002> and <@1004> <!channel>"});
  EXPECT_EQ(Dev().mention_seqs.at(kBob), (std::vector<Seq>{a, b, c}));  // sorted, not appended
  EXPECT_EQ(Dev().mention_seqs.at(kDave), (std::vector<Seq>{b}));
  EXPECT_EQ(Dev().channel_mention_seqs, (std::vector<Seq>{b, c}));
  Do<MessageEdited>(EditMessage{kAlice, dev_, b, "never mind"});
  EXPECT_EQ(Dev().mention_seqs.at(kBob), (std::vector<Seq>{a, c}));
  EXPECT_EQ(Dev().mention_seqs.count(kDave), 0u);  // no empty list left
  EXPECT_EQ(Dev().channel_mention_seqs, (std::vector<Seq>{c}));
  Do<MessageEdited>(EditMessage{kAlice, dev_, a, "<@1002> still"});  // unchanged mentions
  EXPECT_EQ(Dev().mention_seqs.at(kBob), (std::vector<Seq>{a, c}));
  Do<MessageDeleted>(DeleteMessage{kAlice, dev_, c});
  EXPECT_EQ(Dev().mention_seqs.at(kBob), (std::vector<Seq>{a}));
  EXPECT_TRUE(Dev().channel_mention_seqs.empty());
  Do<MessageDeleted>(DeleteMessage{kAlice, dev_, a});
  EXPECT_TRUE(Dev().mention_seqs.empty());
  ExpectReplayEqual();
}

// Everything above at once, interleaved, with a reply that changes membership in between.
TEST_F(MessagesTest, ReplayOfAMixedLogEqualsTheLiveState) {
  Seq a = Post(kAlice, "<@1002> kickoff");
  Reply(kBob, a, "on it <@1004>", true);
  Do<ReactionAdded>(AddReaction{kDave, dev_, a, "rocket"});
  Do<PinChanged>(SetPinned{kBob, dev_, a, true});
  Do<BookmarkAdded>(AddBookmark{kBob, dev_, "Spec", "https://spec.example"});
  Do<ChannelLeft>(LeaveChannel{kDave, dev_});
  Seq r = Reply(kAlice, a, "<@1004> left");
  Do<ThreadFollowChanged>(SetThreadFollow{kBob, dev_, a, false});
  Do<ThreadMarkedRead>(MarkThreadRead{kBob, dev_, a});
  Do<MessageEdited>(EditMessage{kAlice, dev_, r, "edited"});
  Do<ReactionAdded>(AddReaction{kAlice, dev_, a, "rocket"});
  Do<ReactionRemoved>(RemoveReaction{kAlice, dev_, a, "rocket"});
  EXPECT_EQ(Dev().reactions.at(a), (std::vector<ReactionState>{{"rocket", {kDave}}}));
  // Dave still follows (from Bob's mention); having left, he is not shown the thread.
  EXPECT_EQ(Thread(a).followers, (std::unordered_set<UserId>{kAlice, kDave}));
  EXPECT_TRUE(UnreadThreadsOf(state_, kDave).empty());
  ExpectReplayEqual();
}

}  // namespace
}  // namespace parley
