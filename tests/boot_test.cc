// Boot and resume end to end on a three-shard parleyd, with users on other shards than their
// workspaces: a full boot gathers exactly the user's workspaces, channels and conversations with
// the counts ListChannels gives; a resume answers only what changed and what the user lost; a
// user in 1,000 channels boots with one request and one answer; pages when the client's frame
// limit is small; tokens survive a SIGKILL.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

// A workspace (anyone may join) created on a connection of shard `shard`.
uint64_t WorkspaceOnShard(TestServer& server, Person& owner, const std::string& who,
                          uint32_t shard, const std::string& name) {
  for (int i = 0; i < 64; ++i) {
    wire::LoginOkT login;
    owner.client = server.SignedIn(Email(who), &login);
    owner.id = login.user_id;
    if (owner.client->welcome().shard != shard) continue;
    auto ws = owner.client->CreateWorkspace(name);
    EXPECT_TRUE(ws.ok());
    OpenWorkspace(*owner.client, ws->id);
    return ws->id;
  }
  ADD_FAILURE() << "no connection on shard " << shard;
  return 0;
}

std::vector<uint64_t> ChannelIds(const wire::BootOkT& boot) {
  std::vector<uint64_t> ids;
  for (const auto& c : boot.channels) ids.push_back(c->id);
  return ids;
}

std::vector<uint64_t> WorkspaceIds(const wire::BootOkT& boot) {
  std::vector<uint64_t> ids;
  for (const auto& w : boot.workspaces) ids.push_back(w->id);
  return ids;
}

std::vector<uint64_t> Sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

const wire::BootChannelT* Find(const wire::BootOkT& boot, uint64_t id) {
  for (const auto& c : boot.channels) {
    if (c->id == id) return c.get();
  }
  return nullptr;
}

wire::BootOkT BootOf(wire::Client& c, const std::vector<uint8_t>& token = {}) {
  auto boot = c.Boot(token);
  EXPECT_TRUE(boot.ok()) << boot.error().message;
  return boot.ok() ? std::move(*boot) : wire::BootOkT{};
}

class BootTest : public MultiShardTest {};

TEST_F(BootTest, FullBootHasExactlyMyChannelsWithTheirCounts) {
  TestServer& server = *server_;
  Person alice, carol;
  uint64_t ws1 = WorkspaceOnShard(server, alice, "alice", 0, "Acme");
  uint64_t ws2 = WorkspaceOnShard(server, carol, "carol", 1, "Beta");
  Person bob = UserOnShard(server, "bob", 2);  // both workspaces live elsewhere
  ASSERT_TRUE(bob.client->JoinWorkspace(ws1).ok());
  ASSERT_TRUE(alice.client->JoinWorkspace(ws2).ok());
  ASSERT_TRUE(bob.client->JoinWorkspace(ws2).ok());
  auto ws1_list = alice.client->ListChannels(ws1);
  ASSERT_TRUE(ws1_list.ok());
  uint64_t general1 = 0, random1 = 0;
  for (const auto& c : *ws1_list) (c.name == "general" ? general1 : random1) = c.id;
  auto dev = alice.client->CreateChannel(ws1, "dev", false);
  auto secret = alice.client->CreateChannel(ws1, "secret", true);
  ASSERT_TRUE(dev.ok() && secret.ok());
  ASSERT_TRUE(bob.client->JoinChannel(dev->id).ok());
  ASSERT_TRUE(alice.client->AddChannelMember(secret->id, bob.id).ok());
  ASSERT_TRUE(alice.client->SetChannelDetails(dev->id, std::nullopt, "the dev topic",
                                              std::nullopt).ok());
  auto dm = alice.client->OpenConversation(ws1, {bob.id});
  auto group = carol.client->OpenConversation(ws2, {bob.id, alice.id});
  ASSERT_TRUE(dm.ok() && group.ok());
  // Not Bob's: an unjoined public channel and a private one without him.
  auto other = alice.client->CreateChannel(ws1, "other", true);
  ASSERT_TRUE(other.ok());
  // Unread and mentions, and a thread Bob follows with an unread reply.
  ASSERT_TRUE(alice.client->Post(dev->id, "hello <@" + std::to_string(bob.id) + ">").ok());
  ASSERT_TRUE(alice.client->Post(dev->id, "more").ok());
  auto question = bob.client->Post(general1, "question");
  ASSERT_TRUE(question.ok());
  ASSERT_TRUE(alice.client->Reply(general1, question->seq, "answer").ok());
  ASSERT_TRUE(alice.client->Post(dm->id, "psst").ok());
  ASSERT_TRUE(bob.client->MarkRead(secret->id).ok());

  int pages = 0;
  auto boot = bob.client->Boot({}, &pages);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_EQ(pages, 1);
  EXPECT_TRUE(boot->full);
  EXPECT_FALSE(boot->has_more);
  ASSERT_NE(boot->user, nullptr);
  EXPECT_EQ(boot->user->id, bob.id);
  EXPECT_FALSE(boot->user->display_name.empty());
  EXPECT_EQ(WorkspaceIds(*boot), Sorted({ws1, ws2}));
  for (const auto& w : boot->workspaces) EXPECT_EQ(w->role, wire::Role::Member);
  auto ws2_list = carol.client->ListChannels(ws2);
  ASSERT_TRUE(ws2_list.ok());
  uint64_t general2 = 0;
  for (const auto& c : *ws2_list) {
    if (c.name == "general") general2 = c.id;
  }
  EXPECT_EQ(ChannelIds(*boot),
            Sorted({general1, dev->id, secret->id, dm->id, group->id, general2}));
  EXPECT_EQ(Find(*boot, random1), nullptr);
  EXPECT_EQ(Find(*boot, other->id), nullptr);

  // Every channel's counts and fields as ListChannels / ListConversations show them to Bob.
  std::map<uint64_t, wire::ChannelInfoT> listed;
  for (uint64_t ws : {ws1, ws2}) {
    auto list = bob.client->ListChannels(ws);
    ASSERT_TRUE(list.ok());
    for (auto& c : *list) listed[c.id] = c;
    auto conversations = bob.client->ListConversations(ws);
    ASSERT_TRUE(conversations.ok());
    for (auto& c : conversations->conversations) listed[c->channel->id] = *c->channel;
  }
  for (const auto& c : boot->channels) {
    ASSERT_TRUE(listed.count(c->id)) << c->id;
    const wire::ChannelInfoT& want = listed[c->id];
    EXPECT_EQ(c->workspace_id, want.workspace_id) << c->id;
    EXPECT_EQ(c->kind, want.kind) << c->id;
    EXPECT_EQ(c->last_seq, want.last_seq) << c->id;
    EXPECT_EQ(c->last_read, want.last_read) << c->id;
    EXPECT_EQ(c->unread, want.unread) << c->id;
    EXPECT_EQ(c->mentions, want.mentions) << c->id;
    EXPECT_EQ(c->topic, want.topic) << c->id;
    EXPECT_EQ(c->is_private, want.is_private) << c->id;
    if (c->kind == wire::ChannelKind::Channel) {
      EXPECT_EQ(c->name, want.name);
      EXPECT_TRUE(c->members.empty());
    } else {
      EXPECT_TRUE(c->name.empty());
      EXPECT_EQ(c->members, want.members);
    }
  }
  EXPECT_EQ(Find(*boot, dev->id)->unread, 2u);
  EXPECT_EQ(Find(*boot, dev->id)->mentions, 1u);
  EXPECT_GT(Find(*boot, dev->id)->last_at_ms, 0);
  EXPECT_EQ(Find(*boot, dev->id)->topic, "the dev topic");
  EXPECT_EQ(Find(*boot, dm->id)->unread, 1u);
  EXPECT_EQ(Find(*boot, group->id)->members, Sorted({alice.id, bob.id, carol.id}));
  ASSERT_EQ(boot->threads.size(), 1u);
  EXPECT_EQ(boot->threads[0]->channel_id, general1);
  EXPECT_EQ(boot->threads[0]->thread_seq, question->seq);
  EXPECT_EQ(boot->threads[0]->unread_replies, 1u);
  EXPECT_TRUE(boot->removed_channels.empty());
  EXPECT_FALSE(boot->token.empty());
}

TEST_F(BootTest, ResumeSendsOnlyTheChannelThatChanged) {
  TestServer& server = *server_;
  Person alice;
  uint64_t ws = WorkspaceOnShard(server, alice, "alice", 2, "Twenty");
  Person bob = AwayFrom(server, "bob", {2}, 2);
  ASSERT_TRUE(bob.client->JoinWorkspace(ws).ok());
  std::vector<uint64_t> channels;
  for (int i = 0; i < 20; ++i) {
    auto c = bob.client->CreateChannel(ws, "room-" + std::to_string(i), false);
    ASSERT_TRUE(c.ok());
    channels.push_back(c->id);
    ASSERT_TRUE(alice.client->JoinChannel(c->id).ok());
  }
  wire::BootOkT first = BootOf(*bob.client);
  EXPECT_EQ(first.channels.size(), 21u);  // and #general

  wire::BootOkT nothing = BootOf(*bob.client, first.token);
  EXPECT_FALSE(nothing.full);
  EXPECT_TRUE(nothing.channels.empty());
  EXPECT_TRUE(nothing.workspaces.empty());
  EXPECT_TRUE(nothing.removed_channels.empty());
  ASSERT_NE(nothing.user, nullptr) << "the user's own part always comes";

  ASSERT_TRUE(alice.client->Post(channels[7], "only here").ok());
  wire::BootOkT changed = BootOf(*bob.client, nothing.token);
  EXPECT_FALSE(changed.full);
  EXPECT_EQ(ChannelIds(changed), std::vector<uint64_t>{channels[7]});
  EXPECT_EQ(changed.channels[0]->unread, 1u);
  EXPECT_EQ(changed.channels[0]->last_seq, 1u);

  // Topic, archive and Bob's own read marker each bring back their channel only.
  ASSERT_TRUE(alice.client->SetChannelDetails(channels[3], std::nullopt, "new topic",
                                              std::nullopt).ok());
  ASSERT_TRUE(alice.client->UpdateChannel(channels[5], true, std::nullopt).ok());
  ASSERT_TRUE(bob.client->MarkRead(channels[7]).ok());
  wire::BootOkT three = BootOf(*bob.client, changed.token);
  EXPECT_EQ(ChannelIds(three), Sorted({channels[3], channels[5], channels[7]}));
  EXPECT_EQ(Find(three, channels[3])->topic, "new topic");
  EXPECT_TRUE(Find(three, channels[5])->archived);
  EXPECT_EQ(Find(three, channels[7])->unread, 0u);

  // What Bob lost: a channel he left, a private one he was removed from, and after a
  // deactivation the workspace with every channel of his in it.
  auto secret = alice.client->CreateChannel(ws, "secret", true);
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(alice.client->AddChannelMember(secret->id, bob.id).ok());
  wire::BootOkT with_secret = BootOf(*bob.client, three.token);
  EXPECT_EQ(ChannelIds(with_secret), std::vector<uint64_t>{secret->id});
  ASSERT_TRUE(bob.client->LeaveChannel(channels[0]).ok());
  ASSERT_TRUE(alice.client->RemoveChannelMember(secret->id, bob.id).ok());
  wire::BootOkT lost = BootOf(*bob.client, with_secret.token);
  EXPECT_TRUE(lost.channels.empty());
  EXPECT_EQ(lost.removed_channels, Sorted({channels[0], secret->id}));
  EXPECT_TRUE(lost.removed_workspaces.empty());

  wire::BootOkT before_deactivation = BootOf(*bob.client, lost.token);
  ASSERT_TRUE(alice.client->SetMemberActive(ws, bob.id, false).ok());
  Person bob_again = AwayFrom(server, "bob", {2}, 2);  // deactivation closed his connections
  ASSERT_EQ(bob_again.id, bob.id);
  wire::BootOkT gone = BootOf(*bob_again.client, before_deactivation.token);
  EXPECT_EQ(gone.removed_workspaces, std::vector<uint64_t>{ws});
  EXPECT_EQ(gone.removed_channels.size(), 20u);  // 19 rooms and #general
  EXPECT_TRUE(gone.channels.empty());
}

// The user's own part carries where their feed stands and their unread notifications; the
// users asked for come with their presence and are followed from then on.
TEST_F(BootTest, BootCarriesMyFeedNotificationsAndPresenceOfWhomIAsk) {
  TestServer& server = *server_;
  Person alice;
  uint64_t ws = WorkspaceOnShard(server, alice, "alice", 1, "Feeds");
  Person bob = AwayFrom(server, "bob", {1}, 1);
  ASSERT_TRUE(bob.client->JoinWorkspace(ws).ok());
  auto room = bob.client->CreateChannel(ws, "room", false);
  ASSERT_TRUE(room.ok());
  ASSERT_TRUE(alice.client->JoinChannel(room->id).ok());
  ASSERT_TRUE(alice.client->Post(room->id, "look <@" + std::to_string(bob.id) + ">").ok());
  for (;;) {  // the notification is made once the post is durable, on Bob's shard
    auto e = bob.client->NextEvent(10000);
    ASSERT_TRUE(e.ok()) << "no Notification";
    if (e->body.AsNotification() != nullptr) break;
  }
  auto list = bob.client->ListNotifications();
  ASSERT_TRUE(list.ok());

  const uint64_t nobody = 999'999'999;
  auto boot = bob.client->Boot({}, nullptr, {alice.id, nobody});
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  ASSERT_NE(boot->user, nullptr);
  EXPECT_EQ(boot->user->user_seq, list->user_seq);
  EXPECT_GT(boot->user->user_seq, 0u);
  EXPECT_EQ(boot->user->unread_notifications, 1u);
  ASSERT_EQ(boot->presences.size(), 2u);
  EXPECT_EQ(boot->presences[0]->user_id, alice.id);
  EXPECT_EQ(boot->presences[0]->presence, wire::Presence::Online);
  EXPECT_EQ(boot->presences[1]->user_id, nobody);
  EXPECT_EQ(boot->presences[1]->presence, wire::Presence::Unavailable);

  // Followed: Alice's new status reaches Bob.
  ASSERT_TRUE(alice.client->SetStatus("Lunch", "", 0).ok());
  for (;;) {
    auto e = bob.client->NextEvent(10000);
    ASSERT_TRUE(e.ok()) << "no PresenceChanged for Alice";
    auto* changed = e->body.AsPresenceChanged();
    if (changed == nullptr || changed->presence->user_id != alice.id) continue;
    EXPECT_EQ(changed->presence->status_text, "Lunch");
    break;
  }
  // Read, the count follows; a resume carries the user's part too.
  ASSERT_TRUE(bob.client->MarkNotificationsRead().ok());
  auto resumed = bob.client->Boot(boot->token);
  ASSERT_TRUE(resumed.ok());
  ASSERT_NE(resumed->user, nullptr);
  EXPECT_EQ(resumed->user->unread_notifications, 0u);
  EXPECT_GT(resumed->user->user_seq, boot->user->user_seq);
  EXPECT_TRUE(resumed->presences.empty());

  auto too_many = bob.client->Boot({}, nullptr, std::vector<uint64_t>(501, alice.id));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().details, "user_ids");
}

TEST_F(BootTest, TokensThatResumeNothing) {
  TestServer& server = *server_;
  Person alice;
  uint64_t ws = WorkspaceOnShard(server, alice, "alice", 1, "Tokens");
  Person bob = AwayFrom(server, "bob", {1}, 1);
  ASSERT_TRUE(bob.client->JoinWorkspace(ws).ok());
  wire::BootOkT alices = BootOf(*alice.client);
  // Another user's token: a full boot of one's own.
  wire::BootOkT bobs = BootOf(*bob.client, alices.token);
  EXPECT_TRUE(bobs.full);
  EXPECT_EQ(bobs.channels.size(), 1u);
  // Bytes that are no token at all: a clear error.
  auto garbage = bob.client->Boot({1, 2, 3});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(garbage.error().details, "resume_token");
  wire::BootT tiny;
  tiny.max_answer_bytes = 100;
  auto too_small = bob.client->Call(wire::MakeBody(std::move(tiny)));
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.error().details, "max_answer_bytes");
}

// 1,000 channels with the longest topic: one request, one answer frame.
TEST_F(BootTest, AThousandChannelsBootInOneRoundTrip) {
  TestServer& server = *server_;
  Person alice;
  uint64_t ws = WorkspaceOnShard(server, alice, "alice", 0, "Big");
  Person bob = AwayFrom(server, "bob", {0}, 0);
  ASSERT_TRUE(bob.client->JoinWorkspace(ws).ok());
  const std::string topic(250, 't');
  for (int i = 0; i < 1000; ++i) {
    auto c = bob.client->CreateChannel(ws, "a-long-channel-name-number-" + std::to_string(i),
                                       false);
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_TRUE(bob.client->SetChannelDetails(c->id, std::nullopt, topic, std::nullopt).ok());
  }
  // A fresh connection that has seen none of the setup's events.
  std::unique_ptr<wire::Client> fresh = server.SignedIn(bob.email);
  wire::BootT request;
  wire::Bytes frame = wire::EncodeFrame(4242, wire::MakeBody(std::move(request)));
  ASSERT_TRUE(fresh->SendRaw(frame.data(), frame.size()).ok());
  int answers = 0;
  std::optional<wire::BootOkT> answer;
  for (;;) {
    auto f = fresh->ReadFrame(30000);
    ASSERT_TRUE(f.ok()) << f.error().message;
    if (f->request_id != 4242) continue;  // events
    ++answers;
    ASSERT_NE(f->body.AsBootOk(), nullptr);
    answer.emplace(std::move(*f->body.AsBootOk()));
    break;
  }
  const wire::BootOkT& boot = *answer;
  EXPECT_EQ(answers, 1);
  EXPECT_FALSE(boot.has_more);
  ASSERT_EQ(boot.channels.size(), 1001u);
  EXPECT_LT(fresh->last_payload_bytes(), wire::kDefaultMaxFrameBytes);
  for (const auto& c : boot.channels) {
    if (c->name != "general") {
      EXPECT_EQ(c->topic, topic);
    }
  }
  // Nothing else answers the request.
  for (;;) {
    auto f = fresh->ReadFrame(500);
    if (!f.ok()) break;
    EXPECT_NE(f->request_id, 4242u);
  }
}

// A client that reads small frames gets pages; together they are the whole answer, and the last
// page's token resumes.
TEST_F(BootTest, PagesWhenTheAnswerDoesNotFitTheClientsFrames) {
  TestServer& server = *server_;
  Person alice;
  uint64_t ws = WorkspaceOnShard(server, alice, "alice", 1, "Paged");
  Person bob = AwayFrom(server, "bob", {1}, 1);
  ASSERT_TRUE(bob.client->JoinWorkspace(ws).ok());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 40; ++i) {
    auto c = bob.client->CreateChannel(ws, "page-" + std::to_string(i), false);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(bob.client->SetChannelDetails(c->id, std::nullopt, std::string(250, 'x'),
                                              std::nullopt).ok());
    ids.push_back(c->id);
  }
  wire::ClientOptions small;
  small.port = server.port();
  small.max_frame_bytes = 4096;
  auto c = wire::Client::Connect(small);
  ASSERT_TRUE(c.ok());
  wire::LoginOkT login;
  auto signed_in = server.SignedIn(bob.email, &login);
  ASSERT_TRUE((*c)->LoginWithToken(login.token).ok());
  int pages = 0;
  auto boot = (*c)->Boot({}, &pages);
  ASSERT_TRUE(boot.ok()) << boot.error().message;
  EXPECT_GT(pages, 2);
  EXPECT_TRUE(boot->full);
  std::vector<uint64_t> got = ChannelIds(*boot);
  EXPECT_EQ(got.size(), 41u);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end());
  EXPECT_EQ(WorkspaceIds(*boot), std::vector<uint64_t>{ws});

  ASSERT_TRUE(alice.client->JoinChannel(ids[20]).ok());
  ASSERT_TRUE(alice.client->Post(ids[20], "hi").ok());
  auto resumed = (*c)->Boot(boot->token);
  ASSERT_TRUE(resumed.ok());
  EXPECT_FALSE(resumed->full);
  EXPECT_EQ(ChannelIds(*resumed), std::vector<uint64_t>{ids[20]});
}

TEST(BootRestartTest, ATokenFromBeforeAKillStillResumes) {
  TestServer server(ThreeShards());
  server.Start();
  Person alice;
  uint64_t ws = WorkspaceOnShard(server, alice, "alice", 0, "Durable");
  Person bob = AwayFrom(server, "bob", {0}, 0);
  ASSERT_TRUE(bob.client->JoinWorkspace(ws).ok());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto c = alice.client->CreateChannel(ws, "r" + std::to_string(i), false);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(bob.client->JoinChannel(c->id).ok());
    ids.push_back(c->id);
  }
  wire::BootOkT before = BootOf(*bob.client);
  ASSERT_TRUE(alice.client->Post(ids[2], "while you were away").ok());
  bob.client.reset();
  alice.client.reset();
  server.Kill();
  server.Start();
  Person bob_again = AwayFrom(server, "bob", {0}, 0);
  ASSERT_EQ(bob_again.id, bob.id);
  wire::BootOkT after = BootOf(*bob_again.client, before.token);
  EXPECT_FALSE(after.full);
  EXPECT_EQ(ChannelIds(after), std::vector<uint64_t>{ids[2]});
  EXPECT_EQ(after.channels[0]->unread, 1u);
  wire::BootOkT again = BootOf(*bob_again.client, after.token);
  EXPECT_TRUE(again.channels.empty());
  // A full boot after the restart is what it was, plus the post.
  wire::BootOkT full = BootOf(*bob_again.client);
  EXPECT_EQ(ChannelIds(full), ChannelIds(before));
}

}  // namespace
}  // namespace parley::testing
