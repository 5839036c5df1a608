// Delivery and read receipts end to end on a three-shard parleyd: delivered when a recipient's
// session gets the message live or when an offline recipient syncs later, read on MarkRead,
// none with the opt-out, none above the workspace's threshold, and all of it after a SIGKILL.
// The conversation lives on the workspace's shard; its people on other shards.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

struct Team {
  Person alice, bob, carol;
  uint64_t ws = 0;
  uint64_t general = 0;
};

Team MakeTeam(TestServer& server) {
  Team t;
  t.alice = SignIn(server, "alice");
  wire::WorkspaceInfoT ws = OpenNewWorkspace(t.alice, "Receipts");
  t.ws = ws.id;
  t.general = ws.general_channel_id;
  uint32_t ws_shard = OwnerShard(t.ws, kShards);
  t.bob = AwayFrom(server, "bob", {ws_shard}, ws_shard);
  t.carol = AwayFrom(server, "carol", {ws_shard}, ws_shard);
  EXPECT_TRUE(t.bob.client->JoinWorkspace(t.ws).ok());
  EXPECT_TRUE(t.carol.client->JoinWorkspace(t.ws).ok());
  return t;
}

// Opens a conversation and waits until every other member's session was told (and follows it).
uint64_t Open(Team& t, std::vector<Person*> others) {
  std::vector<uint64_t> ids;
  for (Person* p : others) ids.push_back(p->id);
  auto dm = t.alice.client->OpenConversation(t.ws, ids);
  EXPECT_TRUE(dm.ok());
  for (Person* p : others) {
    EXPECT_TRUE(NextMatching(*p->client, [&](wire::FrameT& f) {
      auto* created = f.body.AsChannelCreated();
      return created != nullptr && created->channel->id == dm->id;
    })) << "not told of the conversation";
  }
  return dm->id;
}

// The next ReceiptUpdated about `user` in `channel` that `match` accepts.
std::optional<wire::ReceiptUpdatedT> NextReceipt(
    wire::Client& c, uint64_t channel, uint64_t user,
    const std::function<bool(const wire::ReceiptUpdatedT&)>& match) {
  auto e = NextMatching(c, [&](wire::FrameT& f) {
    auto* r = f.body.AsReceiptUpdated();
    return r != nullptr && r->channel_id == channel && r->user_id == user && match(*r);
  });
  if (!e) return std::nullopt;
  return *e->body.AsReceiptUpdated();
}

// Waits until each of `users` was delivered up to `seq` (the events may come in any order).
bool AllDelivered(wire::Client& c, uint64_t channel, std::vector<uint64_t> users, uint64_t seq) {
  while (!users.empty()) {
    auto e = NextMatching(c, [&](wire::FrameT& f) {
      auto* r = f.body.AsReceiptUpdated();
      return r != nullptr && r->channel_id == channel && r->delivered_up_to >= seq;
    });
    if (!e) return false;
    uint64_t user = e->body.AsReceiptUpdated()->user_id;
    users.erase(std::remove(users.begin(), users.end(), user), users.end());
  }
  return true;
}

std::string Describe(const wire::ReceiptListT& r) {
  std::string out = std::to_string(r.channel_id) + "/" + std::to_string(r.seq) +
                    " tracked=" + std::to_string(r.tracked) +
                    " author=" + std::to_string(r.author_id) + " delivered=";
  for (uint64_t u : r.delivered_to) out += std::to_string(u) + ",";
  out += " read=";
  for (uint64_t u : r.read_by) out += std::to_string(u) + ",";
  return out;
}

wire::WorkspaceSettingsT OpenSettings(uint32_t receipts_max_members) {
  wire::WorkspaceSettingsT settings;
  settings.join_open = true;
  settings.members_create_private = true;
  settings.members_post_announcements = false;
  settings.receipts_max_members = receipts_max_members;
  return settings;
}

class ReceiptsTest : public MultiShardTest {};

TEST_F(ReceiptsTest, DeliveredLiveThenReadOnMarkRead) {
  Team t = MakeTeam(*server_);
  uint64_t dm = Open(t, {&t.bob});
  ASSERT_NE(OwnerShard(dm, kShards), OwnerShard(t.bob.id, kShards));
  auto posted = t.alice.client->Post(dm, "hi bob");
  ASSERT_TRUE(posted.ok());
  uint64_t seq = posted->seq;
  auto delivered = NextReceipt(*t.alice.client, dm, t.bob.id, [&](const wire::ReceiptUpdatedT& r) {
    return r.delivered_up_to >= seq;
  });
  ASSERT_TRUE(delivered) << "no delivery receipt";
  EXPECT_EQ(delivered->read_up_to, 0u);
  auto listed = t.alice.client->ListReceipts(dm, seq);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_TRUE(listed->tracked);
  EXPECT_EQ(listed->author_id, t.alice.id);
  EXPECT_EQ(listed->delivered_to, std::vector<uint64_t>{t.bob.id});
  EXPECT_TRUE(listed->read_by.empty());

  ASSERT_TRUE(t.bob.client->MarkRead(dm).ok());
  auto read = NextReceipt(*t.alice.client, dm, t.bob.id,
                          [&](const wire::ReceiptUpdatedT& r) { return r.read_up_to >= seq; });
  ASSERT_TRUE(read) << "no read receipt";
  EXPECT_EQ(read->read_up_to, seq);
  EXPECT_EQ(read->delivered_up_to, seq);
  listed = t.alice.client->ListReceipts(dm, seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->read_by, std::vector<uint64_t>{t.bob.id});

  // Outsiders cannot ask; a seq that does not exist is not found.
  auto peek = t.carol.client->ListReceipts(dm, seq);
  ASSERT_FALSE(peek.ok());
  EXPECT_EQ(peek.error().code, ErrorCode::kNotFound);
  auto missing = t.alice.client->ListReceipts(dm, seq + 5);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().details, "seq");
}

TEST_F(ReceiptsTest, AnOfflineRecipientIsDeliveredToWhenItSyncs) {
  Team t = MakeTeam(*server_);
  uint64_t dm = Open(t, {&t.carol});
  // Once Alice sees Carol offline, Carol's shard has closed her session.
  ASSERT_TRUE(t.alice.client->SubscribePresence({t.carol.id}).ok());
  t.carol.client.reset();
  ASSERT_TRUE(NextPresence(*t.alice.client, t.carol.id, [](const wire::PresenceInfoT& p) {
    return p.presence == wire::Presence::Offline;
  }));
  auto posted = t.alice.client->Post(dm, "while you were out");
  ASSERT_TRUE(posted.ok());
  auto listed = t.alice.client->ListReceipts(dm, posted->seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->delivered_to.empty());

  t.carol.client = server_->SignedIn(t.carol.email);
  auto page = t.carol.client->Sync(dm, 0);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  auto delivered =
      NextReceipt(*t.alice.client, dm, t.carol.id,
                  [&](const wire::ReceiptUpdatedT& r) { return r.delivered_up_to >= posted->seq; });
  ASSERT_TRUE(delivered) << "syncing was no delivery";
  listed = t.alice.client->ListReceipts(dm, posted->seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->delivered_to, std::vector<uint64_t>{t.carol.id});
  EXPECT_TRUE(listed->read_by.empty());
}

TEST_F(ReceiptsTest, UsersWhoTurnedReadReceiptsOffAreNeverShownAsReaders) {
  Team t = MakeTeam(*server_);
  auto carol2 = SecondSession(*server_, t.carol);  // signed in before the change: updated live
  uint64_t group = Open(t, {&t.bob, &t.carol});
  ASSERT_TRUE(t.carol.client->SetReadReceipts(false).ok());
  auto posted = t.alice.client->Post(group, "lunch?");
  ASSERT_TRUE(posted.ok());
  uint64_t seq = posted->seq;
  ASSERT_TRUE(AllDelivered(*t.alice.client, group, {t.bob.id, t.carol.id}, seq));
  ASSERT_TRUE(carol2->MarkRead(group).ok());
  ASSERT_TRUE(t.carol.client->MarkRead(group).ok());
  ASSERT_TRUE(t.bob.client->MarkRead(group).ok());
  ASSERT_TRUE(NextReceipt(*t.alice.client, group, t.bob.id,
                          [&](const wire::ReceiptUpdatedT& r) { return r.read_up_to >= seq; }));
  auto listed = t.alice.client->ListReceipts(group, seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->read_by, std::vector<uint64_t>{t.bob.id});
  std::vector<uint64_t> both = {t.bob.id, t.carol.id};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(listed->delivered_to, both);
}

TEST_F(ReceiptsTest, ChannelsAboveTheWorkspaceThresholdTrackNothing) {
  Team t = MakeTeam(*server_);  // #general: three members
  auto denied = t.bob.client->UpdateWorkspaceSettings(t.ws, OpenSettings(2));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kForbidden);
  auto too_big = t.alice.client->UpdateWorkspaceSettings(t.ws, OpenSettings(10'001));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().details, "receipts_max_members");
  auto info = t.alice.client->UpdateWorkspaceSettings(t.ws, OpenSettings(2));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->settings->receipts_max_members.value_or(0), 2u);

  auto posted = t.alice.client->Post(t.general, "to everyone");
  ASSERT_TRUE(posted.ok());
  ASSERT_TRUE(NextMatching(*t.bob.client, [&](wire::FrameT& f) {
    auto* m = f.body.AsMessagePosted();
    return m != nullptr && m->message->seq == posted->seq && m->message->channel_id == t.general;
  }));
  ASSERT_TRUE(t.bob.client->MarkRead(t.general).ok());
  auto listed = t.alice.client->ListReceipts(t.general, posted->seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE(listed->tracked);
  EXPECT_TRUE(listed->delivered_to.empty());
  EXPECT_TRUE(listed->read_by.empty());

  // At three, #general is small enough again.
  ASSERT_TRUE(t.alice.client->UpdateWorkspaceSettings(t.ws, OpenSettings(3)).ok());
  auto again = t.alice.client->Post(t.general, "and now?");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(
      NextReceipt(*t.alice.client, t.general, t.bob.id,
                  [&](const wire::ReceiptUpdatedT& r) { return r.delivered_up_to >= again->seq; }));
}

TEST(ReceiptsRestartTest, ReceiptsAndSettingsSurviveAKill) {
  TestServer server(ThreeShards());
  server.Start();
  Team t = MakeTeam(server);
  uint64_t group = Open(t, {&t.bob, &t.carol});
  ASSERT_TRUE(t.carol.client->SetReadReceipts(false).ok());
  ASSERT_TRUE(t.alice.client->UpdateWorkspaceSettings(t.ws, OpenSettings(7)).ok());
  auto posted = t.alice.client->Post(group, "before the crash");
  ASSERT_TRUE(posted.ok());
  uint64_t seq = posted->seq;
  ASSERT_TRUE(AllDelivered(*t.alice.client, group, {t.bob.id, t.carol.id}, seq));
  ASSERT_TRUE(t.bob.client->MarkRead(group).ok());
  ASSERT_TRUE(t.carol.client->MarkRead(group).ok());
  ASSERT_TRUE(NextReceipt(*t.alice.client, group, t.bob.id,
                          [&](const wire::ReceiptUpdatedT& r) { return r.read_up_to >= seq; }));
  auto before = t.alice.client->ListReceipts(group, seq);
  ASSERT_TRUE(before.ok());
  t.alice.client.reset();
  t.bob.client.reset();
  t.carol.client.reset();

  server.Kill();
  server.Start();
  t.alice.client = server.SignedIn(t.alice.email);
  t.bob.client = server.SignedIn(t.bob.email);
  t.carol.client = server.SignedIn(t.carol.email);
  auto after = t.alice.client->ListReceipts(group, seq);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Describe(*after), Describe(*before));
  auto workspaces = t.alice.client->ListWorkspaces();
  ASSERT_TRUE(workspaces.ok());
  ASSERT_EQ(workspaces->size(), 1u);
  EXPECT_EQ((*workspaces)[0].settings->receipts_max_members.value_or(0), 7u);
  // Carol's opt-out holds after the restart; Bob's reads still show.
  auto later = t.alice.client->Post(group, "after the crash");
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE(t.carol.client->MarkRead(group).ok());
  ASSERT_TRUE(t.bob.client->MarkRead(group).ok());
  ASSERT_TRUE(NextReceipt(*t.alice.client, group, t.bob.id, [&](const wire::ReceiptUpdatedT& r) {
    return r.read_up_to >= later->seq;
  }));
  auto listed = t.alice.client->ListReceipts(group, later->seq);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->read_by, std::vector<uint64_t>{t.bob.id});
}

}  // namespace
}  // namespace parley::testing
