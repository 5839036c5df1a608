// The chat path end to end on a two-shard parleyd: workspaces, channels, posting, live fan-out
// across shards, history paging, membership.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/test_server.h"

namespace parley::testing {
namespace {

class MessagingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    server_->Start();
  }
  static void TearDownTestSuite() { delete server_; }

  // Waits for the next MessagePosted on `channel`, skipping other events.
  static wire::MessageT NextMessage(wire::Client& c, uint64_t channel) {
    for (;;) {
      auto e = c.NextEvent(10000);
      if (!e.ok()) {
        ADD_FAILURE() << "no event: " << e.error().message;
        return {};
      }
      auto* posted = e->body.AsMessagePosted();
      if (posted && posted->message->channel_id == channel) return *posted->message;
    }
  }

  static TestServer* server_;
};
TestServer* MessagingTest::server_ = nullptr;

TEST_F(MessagingTest, WorkspaceComesWithGeneralAndRandom) {
  wire::LoginOkT login;
  auto owner = server_->SignedIn(Email("owner"), &login);
  auto ws = owner->CreateWorkspace("Acme");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(ws.ok()) << ws.error().message;
  EXPECT_EQ(ws->name, "Acme");
  EXPECT_EQ(ws->owner_id, login.user_id);
  auto channels = owner->ListChannels(ws->id);
  ASSERT_TRUE(channels.ok());
  ASSERT_EQ(channels->size(), 2u);
  EXPECT_EQ((*channels)[0].name, "general");
  EXPECT_EQ((*channels)[1].name, "random");
  EXPECT_TRUE((*channels)[0].is_member);
  auto list = owner->ListWorkspaces();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, ws->id);
}

// Outside a workspace nothing in it exists: every answer is not_found, never a hint.
TEST_F(MessagingTest, NonMembersCannotSeeOrPost) {
  auto owner = server_->SignedIn(Email("owner"));
  auto outsider = server_->SignedIn(Email("outsider"));
  auto ws = owner->CreateWorkspace("Private Co");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(ws.ok());
  auto list = outsider->ListChannels(ws->id);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, ErrorCode::kNotFound);
  auto post = outsider->Post(ws->general_channel_id, "hello?");
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.error().code, ErrorCode::kNotFound);
  auto history = outsider->History(ws->general_channel_id);
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code, ErrorCode::kNotFound);
  auto join = outsider->JoinChannel(ws->general_channel_id);
  ASSERT_FALSE(join.ok());
  EXPECT_EQ(join.error().code, ErrorCode::kNotFound);
}

TEST_F(MessagingTest, PrivateChannelsAreInvisibleToOtherMembers) {
  auto owner = server_->SignedIn(Email("owner"));
  auto member = server_->SignedIn(Email("member"));
  auto ws = owner->CreateWorkspace("Secrets");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(member->JoinWorkspace(ws->id).ok());
  auto hidden = owner->CreateChannel(ws->id, "board", true);
  ASSERT_TRUE(hidden.ok()) << hidden.error().message;
  auto seen = member->ListChannels(ws->id);
  ASSERT_TRUE(seen.ok());
  for (auto& ch : *seen) EXPECT_NE(ch.name, "board");
  auto join = member->JoinChannel(hidden->id);
  ASSERT_FALSE(join.ok());
  EXPECT_EQ(join.error().code, ErrorCode::kNotFound);
  auto dup = owner->CreateChannel(ws->id, "board");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(MessagingTest, MessageReachesSubscribersOnEveryShardInSeqOrder) {
  auto owner = server_->SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Fanout");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(ws.ok());
  const uint64_t general = ws->general_channel_id;
  // Connect until both shards hold members; the kernel spreads connections by 4-tuple hash.
  std::vector<std::unique_ptr<wire::Client>> members;
  std::set<uint16_t> shards;
  for (int i = 0; i < 64 && (members.size() < 6 || shards.size() < 2); ++i) {
    auto c = server_->SignedIn(Email("m" + std::to_string(i)));
    ASSERT_TRUE(c->JoinWorkspace(ws->id).ok());
    shards.insert(c->welcome().shard);
    members.push_back(std::move(c));
  }
  ASSERT_EQ(shards.size(), 2u) << "connections never reached both shards";
  // Each member posts in turn; everybody receives every message, in seq order, no gaps.
  const int kRounds = 5;
  for (int r = 0; r < kRounds; ++r) {
    for (size_t i = 0; i < members.size(); ++i) {
      ASSERT_TRUE(
          members[i]->Post(general, "r" + std::to_string(r) + " from " + std::to_string(i)).ok());
    }
  }
  const uint64_t total = kRounds * members.size();
  for (auto& c : members) {
    uint64_t expect = 1;
    while (expect <= total) {
      wire::MessageT m = NextMessage(*c, general);
      ASSERT_EQ(m.seq, expect) << "on shard " << c->welcome().shard;
      ++expect;
    }
  }
}

TEST_F(MessagingTest, JoinSubscribesAndLeaveStopsDelivery) {
  auto owner = server_->SignedIn(Email("owner"));
  auto guest = server_->SignedIn(Email("guest"));
  auto ws = owner->CreateWorkspace("Joiners");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(guest->JoinWorkspace(ws->id).ok());
  auto eng = owner->CreateChannel(ws->id, "eng");
  ASSERT_TRUE(eng.ok());
  auto joined = guest->JoinChannel(eng->id);
  ASSERT_TRUE(joined.ok());
  EXPECT_TRUE(joined->is_member);
  EXPECT_EQ(joined->member_count, 2u);
  ASSERT_TRUE(owner->Post(eng->id, "first").ok());
  EXPECT_EQ(NextMessage(*guest, eng->id).text, "first");
  ASSERT_TRUE(guest->LeaveChannel(eng->id).ok());
  ASSERT_TRUE(owner->Post(eng->id, "second").ok());
  ASSERT_TRUE(owner->Post(ws->general_channel_id, "marker").ok());
  // The next message the guest sees is the #general marker, never "second".
  for (;;) {
    auto e = guest->NextEvent(10000);
    ASSERT_TRUE(e.ok());
    if (auto* p = e->body.AsMessagePosted()) {
      EXPECT_EQ(p->message->text, "marker");
      break;
    }
  }
  auto left_read = guest->History(eng->id);
  ASSERT_FALSE(left_read.ok());
  EXPECT_EQ(left_read.error().code, ErrorCode::kForbidden);
  auto leave_general = guest->LeaveChannel(ws->general_channel_id);
  ASSERT_FALSE(leave_general.ok());
  EXPECT_EQ(leave_general.error().code, ErrorCode::kForbidden);
}

TEST_F(MessagingTest, UnsubscribeStopsDeliveryAndSubscribeResumesIt) {
  auto owner = server_->SignedIn(Email("owner"));
  auto reader = server_->SignedIn(Email("reader"));
  auto ws = owner->CreateWorkspace("Quiet");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(reader->JoinWorkspace(ws->id).ok());
  auto eng = owner->CreateChannel(ws->id, "eng");
  ASSERT_TRUE(reader->JoinChannel(eng->id).ok());
  ASSERT_TRUE(reader->Unsubscribe(eng->id).ok());
  ASSERT_TRUE(reader->Unsubscribe(eng->id).ok());  // idempotent
  ASSERT_TRUE(owner->Post(eng->id, "while away").ok());
  ASSERT_TRUE(owner->Post(ws->general_channel_id, "marker").ok());
  // Still a member and still subscribed to #general: the marker arrives, "while away" does not.
  EXPECT_EQ(NextMessage(*reader, ws->general_channel_id).text, "marker");
  auto sub = reader->Subscribe(eng->id);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->last_seq, 1u);  // what it missed is one History/Sync away
  ASSERT_TRUE(owner->Post(eng->id, "back").ok());
  wire::MessageT m = NextMessage(*reader, eng->id);
  EXPECT_EQ(m.text, "back");
  EXPECT_EQ(m.seq, 2u);
  auto outsider = server_->SignedIn(Email("outsider"));
  auto denied = outsider->Subscribe(eng->id);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kNotFound);  // not in the workspace
}

// Pipelined reads and writes on one connection are answered in the order sent, and each read
// sees exactly the writes sent before it, even while those are still being committed.
TEST_F(MessagingTest, PipelinedReadsKeepTheirPlaceAmongWrites) {
  auto owner = server_->SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Pipeline");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  const uint64_t ch = ws->general_channel_id;
  auto side = owner->CreateChannel(ws->id, "side");
  auto frame = [](uint64_t id, auto body) {
    return wire::EncodeFrame(id, wire::MakeBody(std::move(body)));
  };
  auto post = [&](uint64_t id, uint64_t channel, const std::string& text) {
    wire::PostMessageT p;
    p.channel_id = channel;
    p.text = text;
    return frame(id, std::move(p));
  };
  wire::HistoryT history;
  history.channel_id = ch;
  wire::SubscribeT subscribe;
  subscribe.channel_id = side->id;
  wire::LeaveChannelT leave;
  leave.channel_id = side->id;
  std::vector<wire::Bytes> frames = {post(100, ch, "A"), frame(101, history),   frame(102, history),
                                     post(103, ch, "B"), frame(104, subscribe), frame(105, leave)};
  wire::Bytes all;
  for (auto& f : frames) all.insert(all.end(), f.begin(), f.end());
  ASSERT_TRUE(owner->SendRaw(all.data(), all.size()).ok());
  std::vector<uint64_t> order;
  while (order.size() < frames.size()) {
    auto f = owner->ReadFrame(10000);
    ASSERT_TRUE(f.ok()) << f.error().message;
    if (f->request_id == 0) continue;  // events
    order.push_back(f->request_id);
    ASSERT_EQ(f->body.AsError(), nullptr) << f->request_id << ": " << f->body.AsError()->message;
    if (f->request_id == 101 || f->request_id == 102) {
      auto* page = f->body.AsMessagePage();
      ASSERT_NE(page, nullptr);
      ASSERT_EQ(page->messages.size(), 1u);
      EXPECT_EQ(page->messages[0]->text, "A");
    }
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{100, 101, 102, 103, 104, 105}));
}

TEST_F(MessagingTest, HistoryPagesBackwardAndForward) {
  auto owner = server_->SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Pages");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  const uint64_t ch = ws->general_channel_id;
  for (int i = 1; i <= 120; ++i) ASSERT_TRUE(owner->Post(ch, "m" + std::to_string(i)).ok());
  auto newest = owner->History(ch);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->messages.size(), 50u);
  EXPECT_EQ(newest->messages.front()->seq, 71u);
  EXPECT_EQ(newest->messages.back()->seq, 120u);
  EXPECT_TRUE(newest->has_more);
  EXPECT_EQ(newest->last_seq, 120u);
  auto older = owner->History(ch, 71, 0, 50);
  ASSERT_EQ(older->messages.front()->seq, 21u);
  EXPECT_TRUE(older->has_more);
  auto oldest = owner->History(ch, 21, 0, 50);
  ASSERT_EQ(oldest->messages.size(), 20u);
  EXPECT_EQ(oldest->messages.front()->text, "m1");
  EXPECT_FALSE(oldest->has_more);
  auto forward = owner->History(ch, 0, 100, 200);
  ASSERT_EQ(forward->messages.size(), 20u);
  EXPECT_FALSE(forward->has_more);
  auto too_many = owner->History(ch, 0, 0, 201);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(MessagingTest, PostValidation) {
  auto owner = server_->SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Rules");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  const uint64_t ch = ws->general_channel_id;
  EXPECT_TRUE(owner->Post(ch, std::string(4000, 'x')).ok());
  auto too_long = owner->Post(ch, std::string(4001, 'x'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  auto empty = owner->Post(ch, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  auto bad_utf8 = owner->Post(ch, std::string("\xc3\x28", 2));
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8.error().code, ErrorCode::kInvalidArgument);
  auto missing = owner->Post(999999999, "anyone?");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(MessagingTest, EverySessionOfAUserFollowsItsJoins) {
  auto owner = server_->SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Multi");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  auto eng = owner->CreateChannel(ws->id, "eng");
  // A second session of the member, connected before the join.
  auto first = server_->SignedIn(Email("member"));
  auto second = server_->SignedIn(Email("member"));
  ASSERT_TRUE(first->JoinWorkspace(ws->id).ok());
  ASSERT_TRUE(first->JoinChannel(eng->id).ok());
  // The join travels to the second session's shard beside the reply to the first. A Subscribe
  // from the second session reaches the owner after that shard's own subscription (same
  // mailbox, in order), so once it returns the owner counts the second session.
  ASSERT_TRUE(second->Subscribe(eng->id).ok());
  ASSERT_TRUE(owner->Post(eng->id, "to both").ok());
  EXPECT_EQ(NextMessage(*first, eng->id).text, "to both");
  EXPECT_EQ(NextMessage(*second, eng->id).text, "to both");
}

}  // namespace
}  // namespace parley::testing
