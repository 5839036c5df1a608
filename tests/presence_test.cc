// Presence end to end on a three-shard parleyd: online / away / offline with last seen, manual
// away, custom status with expiry, presence subscriptions, auto-away (with a short
// --away_after_s), and what survives a SIGKILL restart. Every watcher, watched user and
// workspace lives on a shard of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Alice's workspace (on her connection's shard), and Bob and Carol, each on a shard of their
// own, members of it.
struct Team {
  Person alice, bob, carol;
  uint64_t ws = 0;
};

Team MakeTeam(TestServer& server) {
  Team t;
  t.alice = SignIn(server, "alice");
  t.ws = OpenNewWorkspace(t.alice, "Presence").id;
  uint32_t ws_shard = OwnerShard(t.ws, kShards);
  uint32_t alice_shard = OwnerShard(t.alice.id, kShards);
  t.bob = AwayFrom(server, "bob", {alice_shard}, alice_shard);
  t.carol = AwayFrom(server, "carol", {}, ws_shard);
  EXPECT_TRUE(t.bob.client->JoinWorkspace(t.ws).ok());
  EXPECT_TRUE(t.carol.client->JoinWorkspace(t.ws).ok());
  return t;
}

std::string Describe(const wire::PresenceInfoT& p) {
  return std::to_string(p.user_id) + " presence=" + wire::EnumNamePresence(p.presence) +
         " manual_away=" + std::to_string(p.manual_away) +
         " last_seen=" + std::to_string(p.last_seen_ms) + " status=" + p.status_text + "|" +
         p.status_emoji + "|" + std::to_string(p.status_expires_at_ms);
}

class PresenceTest : public MultiShardTest {};

TEST_F(PresenceTest, OnlineOnSignInOfflineWithLastSeenWhenTheLastSessionEnds) {
  Team t = MakeTeam(*server_);
  ASSERT_NE(OwnerShard(t.bob.id, kShards), OwnerShard(t.alice.id, kShards));
  auto watched = t.alice.client->SubscribePresence({t.bob.id});
  ASSERT_TRUE(watched.ok()) << watched.error().message;
  ASSERT_EQ(watched->presences.size(), 1u);
  EXPECT_EQ(watched->presences[0]->user_id, t.bob.id);
  EXPECT_EQ(watched->presences[0]->presence, wire::Presence::Online);

  // A second session, then both end: offline only with the last, with when.
  auto second = SecondSession(*server_, t.bob);
  int64_t before = NowMs();
  t.bob.client.reset();
  second.reset();
  auto offline = NextPresence(*t.alice.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.presence == wire::Presence::Offline;
  });
  ASSERT_TRUE(offline) << "no offline";
  EXPECT_GE(offline->last_seen_ms, before - 1000);
  EXPECT_LE(offline->last_seen_ms, NowMs() + 1000);

  // Back again: online.
  t.bob.client = server_->SignedIn(t.bob.email);
  auto online = NextPresence(*t.alice.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.presence == wire::Presence::Online;
  });
  ASSERT_TRUE(online) << "no online";
  EXPECT_EQ(online->last_seen_ms, offline->last_seen_ms);
}

TEST_F(PresenceTest, ManualAwayStatusAndTheirExpiryReachWatchersAndOwnSessions) {
  Team t = MakeTeam(*server_);
  ASSERT_TRUE(t.alice.client->SubscribePresence({t.bob.id}).ok());
  auto bob2 = SecondSession(*server_, t.bob);

  auto away = t.bob.client->SetPresence(true);
  ASSERT_TRUE(away.ok()) << away.error().message;
  EXPECT_EQ(away->presence, wire::Presence::Away);
  EXPECT_TRUE(away->manual_away);
  auto seen = NextPresence(*t.alice.client, t.bob.id,
                           [](const wire::PresenceInfoT& p) { return p.manual_away; });
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->presence, wire::Presence::Away);
  // Bob's other session learns it too, as does a new session (it sticks across sessions).
  auto own =
      NextPresence(*bob2, t.bob.id, [](const wire::PresenceInfoT& p) { return p.manual_away; });
  ASSERT_TRUE(own) << "own session not told";
  EXPECT_EQ(own->presence, wire::Presence::Away);
  auto bob3 = SecondSession(*server_, t.bob);
  auto mine = bob3->SubscribePresence({t.bob.id});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->presences[0]->presence, wire::Presence::Away);

  auto back = t.bob.client->SetPresence(false);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->presence, wire::Presence::Online);
  ASSERT_TRUE(NextPresence(*t.alice.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return !p.manual_away && p.presence == wire::Presence::Online;
  }));

  // A status that expires in a few seconds: shown, then announced cleared.
  int64_t expires = NowMs() + 3000;
  auto status = t.bob.client->SetStatus("  Lunch  ", ":Sandwich:", expires);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->status_text, "Lunch");
  EXPECT_EQ(status->status_emoji, "sandwich");
  EXPECT_EQ(status->status_expires_at_ms, expires);
  auto shown = NextPresence(*t.alice.client, t.bob.id,
                            [](const wire::PresenceInfoT& p) { return p.status_text == "Lunch"; });
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->status_emoji, "sandwich");
  auto expired = NextPresence(*t.alice.client, t.bob.id,
                              [](const wire::PresenceInfoT& p) { return p.status_text.empty(); });
  ASSERT_TRUE(expired) << "expiry not announced";
  EXPECT_GE(NowMs(), expires);
  EXPECT_EQ(expired->status_emoji, "");
  EXPECT_EQ(expired->status_expires_at_ms, 0);
}

TEST_F(PresenceTest, BadStatusesAreRefused) {
  Team t = MakeTeam(*server_);
  auto long_text = t.bob.client->SetStatus(std::string(101, 'x'), "");
  ASSERT_FALSE(long_text.ok());
  EXPECT_EQ(long_text.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(long_text.error().details, "text");
  auto bad_emoji = t.bob.client->SetStatus("ok", "two words");
  ASSERT_FALSE(bad_emoji.ok());
  EXPECT_EQ(bad_emoji.error().details, "emoji");
  auto past = t.bob.client->SetStatus("ok", "", NowMs() - 1000);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().details, "expires_at");
  std::vector<uint64_t> too_many(501);
  for (size_t i = 0; i < too_many.size(); ++i) too_many[i] = i + 1;
  auto big = t.bob.client->SubscribePresence(too_many);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(big.error().details, "user_ids");
}

TEST_F(PresenceTest, ASubscriptionSeesOnlyTheUsersItWatches) {
  Team t = MakeTeam(*server_);
  Person stranger = AwayFrom(*server_, "stranger", {});
  auto watched =
      t.alice.client->SubscribePresence({t.bob.id, stranger.id, 987654321, t.bob.id, t.alice.id});
  ASSERT_TRUE(watched.ok());
  ASSERT_EQ(watched->presences.size(), 4u);  // in the order asked, once each
  EXPECT_EQ(watched->presences[0]->presence, wire::Presence::Online);
  EXPECT_EQ(watched->presences[1]->user_id, stranger.id);  // shares no workspace
  EXPECT_EQ(watched->presences[1]->presence, wire::Presence::Unavailable);
  EXPECT_EQ(watched->presences[2]->presence, wire::Presence::Unavailable);  // no such user
  EXPECT_EQ(watched->presences[3]->user_id, t.alice.id);
  EXPECT_EQ(watched->presences[3]->presence, wire::Presence::Online);

  // Carol is not watched: her change is not sent; Bob's is, and comes first.
  ASSERT_TRUE(t.carol.client->SetStatus("Busy", "").ok());
  ASSERT_TRUE(NextPresence(*t.carol.client, t.carol.id));  // her own session was told
  ASSERT_TRUE(stranger.client->SetStatus("Elsewhere", "").ok());
  ASSERT_TRUE(t.bob.client->SetStatus("Here", "").ok());
  auto first = NextMatching(*t.alice.client, [&](wire::FrameT& f) {
    auto* changed = f.body.AsPresenceChanged();  // her own presence aside
    return changed != nullptr && changed->presence->user_id != t.alice.id;
  });
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body.AsPresenceChanged()->presence->user_id, t.bob.id);

  // Replacing the subscription: now Carol only.
  auto replaced = t.alice.client->SubscribePresence({t.carol.id});
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->presences[0]->status_text, "Busy");
  ASSERT_TRUE(t.bob.client->SetStatus("Still here", "").ok());
  ASSERT_TRUE(NextPresence(*t.bob.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.status_text == "Still here";
  }));
  ASSERT_TRUE(t.carol.client->SetStatus("Free", "").ok());
  auto next = NextMatching(*t.alice.client, [&](wire::FrameT& f) {
    auto* changed = f.body.AsPresenceChanged();  // her own presence aside
    return changed != nullptr && changed->presence->user_id != t.alice.id;
  });
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body.AsPresenceChanged()->presence->user_id, t.carol.id);
  EXPECT_EQ(next->body.AsPresenceChanged()->presence->status_text, "Free");
}

TEST(PresenceAutoAwayTest, IdleUsersTurnAwayAndComeBackWithActivity) {
  TestServer server(ThreeShards({"--away_after_s=2"}));
  server.Start();
  Team t = MakeTeam(server);
  ASSERT_TRUE(t.alice.client->SubscribePresence({t.bob.id}).ok());
  auto away = NextPresence(*t.alice.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.presence == wire::Presence::Away;
  });
  ASSERT_TRUE(away) << "no auto-away";
  EXPECT_FALSE(away->manual_away);
  ASSERT_TRUE(t.bob.client->ListWorkspaces().ok());  // activity
  auto back = NextPresence(*t.alice.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.presence == wire::Presence::Online;
  });
  ASSERT_TRUE(back) << "activity did not bring Bob back";
}

TEST(PresenceRestartTest, StatusManualAwayAndLastSeenSurviveAKill) {
  TestServer server(ThreeShards());
  server.Start();
  Team t = MakeTeam(server);
  ASSERT_TRUE(t.bob.client->SetStatus("On holiday", "palm_tree", NowMs() + 3'600'000).ok());
  ASSERT_TRUE(t.bob.client->SetPresence(true).ok());
  ASSERT_TRUE(t.carol.client->SetStatus("Writing", "").ok());
  ASSERT_TRUE(t.alice.client->SubscribePresence({t.bob.id}).ok());
  t.bob.client.reset();
  ASSERT_TRUE(NextPresence(*t.alice.client, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.presence == wire::Presence::Offline;
  }));
  auto before = t.alice.client->SubscribePresence({t.bob.id, t.carol.id});
  ASSERT_TRUE(before.ok());
  EXPECT_GT(before->presences[0]->last_seen_ms, 0);
  EXPECT_TRUE(before->presences[0]->manual_away);
  t.alice.client.reset();
  t.carol.client.reset();

  server.Kill();
  server.Start();
  auto alice = server.SignedIn(t.alice.email);
  auto after = alice->SubscribePresence({t.bob.id, t.carol.id});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->presences.size(), 2u);
  EXPECT_EQ(Describe(*after->presences[0]), Describe(*before->presences[0]));
  // Carol was online when killed: live presence is rebuilt as clients reconnect, so she is
  // offline now (her last seen stays what was logged), her status as it was.
  EXPECT_EQ(after->presences[1]->presence, wire::Presence::Offline);
  EXPECT_EQ(after->presences[1]->status_text, "Writing");
  // Bob's choice sticks: signing in again shows him away.
  auto bob = server.SignedIn(t.bob.email);
  auto bob_now = NextPresence(*alice, t.bob.id, [](const wire::PresenceInfoT& p) {
    return p.presence != wire::Presence::Offline;
  });
  ASSERT_TRUE(bob_now);
  EXPECT_EQ(bob_now->presence, wire::Presence::Away);
  EXPECT_TRUE(bob_now->manual_away);
  EXPECT_EQ(bob_now->status_text, "On holiday");
}

}  // namespace
}  // namespace parley::testing
