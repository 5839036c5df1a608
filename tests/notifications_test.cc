// Notifications and the user feed, end to end on a three-shard parleyd, with people on other
// shards than the workspace that holds their channels, and across a SIGKILL restart.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <string>
#include <vector>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

std::string Mention(uint64_t user) { return "<@" + std::to_string(user) + ">"; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The next Notification of `c`; a failure (and an empty one) after 10 s.
wire::NotificationT NextNotification(wire::Client& c) {
  auto e = NextMatching(c, [](wire::FrameT& f) { return f.body.AsNotification() != nullptr; });
  if (!e) {
    ADD_FAILURE() << "no Notification";
    return {};
  }
  return std::move(*e->body.AsNotification());
}

class NotificationsTest : public MultiShardTest {
 protected:
  void SetUp() override { SetUpOn(*server_); }

  void SetUpOn(TestServer& server) {
    alice_ = SignIn(server, "alice");
    wire::WorkspaceInfoT ws = OpenNewWorkspace(alice_, "Acme");
    ASSERT_NE(ws.id, 0u);
    ws_ = ws.id;
    general_ = ws.general_channel_id;
    // Bob and Carol live on other shards than the workspace: their notifications cross shards.
    const uint32_t ws_shard = OwnerShard(ws_, kShards);
    bob_ = AwayFrom(server, "bob", {ws_shard});
    ASSERT_TRUE(bob_.client->JoinWorkspace(ws_).ok());
    carol_ = AwayFrom(server, "carol", {ws_shard});
    ASSERT_TRUE(carol_.client->JoinWorkspace(ws_).ok());
  }

  uint64_t PostAs(Person& p, uint64_t channel, const std::string& text) {
    auto ack = p.client->Post(channel, text);
    EXPECT_TRUE(ack.ok()) << ack.error().message;
    return ack.ok() ? ack->seq : 0;
  }

  Person alice_, bob_, carol_;
  uint64_t ws_ = 0;
  uint64_t general_ = 0;
};

TEST_F(NotificationsTest, MentionReachesTheUserOnAnotherShardAndIsListed) {
  uint64_t seq = PostAs(alice_, general_, "review please " + Mention(bob_.id));
  wire::NotificationT n = NextNotification(*bob_.client);
  ASSERT_TRUE(n.notification);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::Mention);
  EXPECT_EQ(n.notification->channel_id, general_);
  EXPECT_EQ(n.notification->workspace_id, ws_);
  EXPECT_EQ(n.notification->seq, seq);
  EXPECT_EQ(n.notification->actor_id, alice_.id);
  EXPECT_EQ(n.notification->snippet, "review please " + Mention(bob_.id));
  EXPECT_TRUE(n.notification->push);
  EXPECT_GT(n.user_seq, 0u);
  EXPECT_EQ(n.notification->id, n.user_seq);
  auto list = bob_.client->ListNotifications();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->notifications.size(), 1u);
  EXPECT_EQ(list->notifications[0]->id, n.user_seq);
  EXPECT_EQ(list->unread, 1u);
  EXPECT_EQ(*bob_.client->UnreadNotifications(), 1u);
  // The author and the unmentioned are not notified.
  EXPECT_EQ(alice_.client->ListNotifications()->notifications.size(), 0u);
  EXPECT_EQ(carol_.client->ListNotifications()->notifications.size(), 0u);
}

TEST_F(NotificationsTest, DirectMessagesNotifyTheOtherMember) {
  auto dm = alice_.client->OpenConversation(ws_, {bob_.id});
  ASSERT_TRUE(dm.ok());
  PostAs(alice_, dm->id, "lunch?");
  wire::NotificationT n = NextNotification(*bob_.client);
  ASSERT_TRUE(n.notification);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::Direct);
  EXPECT_EQ(n.notification->channel_id, dm->id);
}

TEST_F(NotificationsTest, RepliesInAFollowedThreadNotifyFollowers) {
  uint64_t top = PostAs(alice_, general_, "release plan");
  ASSERT_TRUE(bob_.client->Reply(general_, top, "looks good").ok());
  auto reply = carol_.client->Reply(general_, top, "one question");
  ASSERT_TRUE(reply.ok());
  wire::NotificationT n = NextNotification(*bob_.client);
  ASSERT_TRUE(n.notification);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::ThreadReply);
  EXPECT_EQ(n.notification->thread_seq, top);
  EXPECT_EQ(n.notification->seq, reply->seq);
  EXPECT_EQ(n.notification->actor_id, carol_.id);
}

TEST_F(NotificationsTest, KeywordAlertsMatchWholeWords) {
  auto set = bob_.client->SetNotifyKeywords({"Deploy", "on-call"});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->keywords, (std::vector<std::string>{"deploy", "on-call"}));
  PostAs(alice_, general_, "we redeployed");  // not a whole word: nothing
  uint64_t seq = PostAs(alice_, general_, "DEPLOY at five");
  wire::NotificationT n = NextNotification(*bob_.client);
  ASSERT_TRUE(n.notification);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::Keyword);
  EXPECT_EQ(n.notification->seq, seq);
  auto bad = bob_.client->SetNotifyKeywords({"x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().details, "keywords");
}

TEST_F(NotificationsTest, PreferencesNothingMentionsAllAndMute) {
  auto dm = alice_.client->OpenConversation(ws_, {bob_.id});
  ASSERT_TRUE(dm.ok());
  // nothing: not even a mention. The DM's notification is the next one bob sees.
  auto pref = bob_.client->SetChannelNotifyPref(general_, wire::NotifyLevel::Nothing);
  ASSERT_TRUE(pref.ok()) << pref.error().message;
  EXPECT_EQ(pref->effective, wire::NotifyLevel::Nothing);
  PostAs(alice_, general_, Mention(bob_.id) + " hello");
  PostAs(alice_, dm->id, "marker 1");
  EXPECT_EQ(NextNotification(*bob_.client).notification->channel_id, dm->id);
  // all: any message.
  ASSERT_TRUE(bob_.client->SetChannelNotifyPref(general_, wire::NotifyLevel::All).ok());
  uint64_t plain = PostAs(alice_, general_, "plain message");
  wire::NotificationT n = NextNotification(*bob_.client);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::Message);
  EXPECT_EQ(n.notification->seq, plain);
  // muted: channel-wide mentions are silent, direct mentions still notify.
  ASSERT_TRUE(bob_.client->SetChannelNotifyPref(general_, wire::NotifyLevel::Default, true).ok());
  auto got = bob_.client->GetChannelNotifyPref(general_);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->muted);
  EXPECT_EQ(got->effective, wire::NotifyLevel::Mentions);
  PostAs(alice_, general_, "<!channel> standup");
  uint64_t direct = PostAs(alice_, general_, Mention(bob_.id) + " you");
  n = NextNotification(*bob_.client);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::Mention);
  EXPECT_EQ(n.notification->seq, direct);
  // mentions (the default for channels): a plain message is silent.
  ASSERT_TRUE(bob_.client->SetChannelNotifyPref(general_, wire::NotifyLevel::Mentions).ok());
  PostAs(alice_, general_, "plain again");
  PostAs(alice_, dm->id, "marker 2");
  EXPECT_EQ(NextNotification(*bob_.client).notification->channel_id, dm->id);
  // Not a member: not found.
  auto secret = alice_.client->CreateChannel(ws_, "secret", true);
  ASSERT_TRUE(secret.ok());
  auto refused = bob_.client->SetChannelNotifyPref(secret->id, wire::NotifyLevel::All);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
}

TEST_F(NotificationsTest, DoNotDisturbStoresWithoutPush) {
  auto snoozed = bob_.client->SnoozeNotifications(30);
  ASSERT_TRUE(snoozed.ok()) << snoozed.error().message;
  EXPECT_GT(snoozed->snooze_until_ms, NowMs());
  PostAs(alice_, general_, Mention(bob_.id) + " during snooze");
  wire::NotificationT n = NextNotification(*bob_.client);
  EXPECT_FALSE(n.notification->push);
  ASSERT_TRUE(bob_.client->SetDnd(wire::DndOp::Off).ok());
  PostAs(alice_, general_, Mention(bob_.id) + " awake");
  EXPECT_TRUE(NextNotification(*bob_.client).notification->push);
  // A quiet period around now in Berlin (UTC+1 or +2): whichever the season, now is inside.
  uint32_t utc_minute = static_cast<uint32_t>((NowMs() / 60'000) % 1440);
  auto sched = bob_.client->SetDndSchedule((utc_minute + 30) % 1440, (utc_minute + 150) % 1440,
                                           "Europe/Berlin");
  ASSERT_TRUE(sched.ok()) << sched.error().message;
  EXPECT_TRUE(sched->schedule);
  EXPECT_EQ(sched->time_zone, "Europe/Berlin");
  PostAs(alice_, general_, Mention(bob_.id) + " at night");
  EXPECT_FALSE(NextNotification(*bob_.client).notification->push);
  // The same hours in UTC do not cover now.
  ASSERT_TRUE(bob_.client
                  ->SetDndSchedule((utc_minute + 30) % 1440, (utc_minute + 150) % 1440, "UTC")
                  .ok());
  PostAs(alice_, general_, Mention(bob_.id) + " by day");
  EXPECT_TRUE(NextNotification(*bob_.client).notification->push);
  auto unknown = bob_.client->SetDndSchedule(60, 120, "Mars/Olympus_Mons");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(unknown.error().details, "time_zone");
}

TEST_F(NotificationsTest, MarkOneAndAllSyncToEverySession) {
  wire::LoginOkT login;
  auto second = server_->SignedIn(bob_.email, &login);
  PostAs(alice_, general_, Mention(bob_.id) + " one");
  PostAs(alice_, general_, Mention(bob_.id) + " two");
  PostAs(alice_, general_, Mention(bob_.id) + " three");
  uint64_t first = NextNotification(*bob_.client).notification->id;
  NextNotification(*bob_.client);
  uint64_t third = NextNotification(*bob_.client).notification->id;
  for (int i = 0; i < 3; ++i) NextNotification(*second);
  // Cursor: newest first, two per page.
  auto page = bob_.client->ListNotifications(0, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->notifications.size(), 2u);
  EXPECT_EQ(page->notifications[0]->id, third);
  EXPECT_TRUE(page->has_more);
  auto rest = bob_.client->ListNotifications(page->notifications[1]->id, 2);
  ASSERT_EQ(rest->notifications.size(), 1u);
  EXPECT_EQ(rest->notifications[0]->id, first);
  EXPECT_FALSE(rest->has_more);

  auto one = bob_.client->MarkNotificationsRead(first);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->unread, 2u);
  auto synced = NextMatching(*second, [](wire::FrameT& f) {
    return f.body.AsNotificationsRead() != nullptr;
  });
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->body.AsNotificationsRead()->notification_id, first);
  EXPECT_EQ(synced->body.AsNotificationsRead()->unread, 2u);
  EXPECT_TRUE(second->ListNotifications()->notifications.back()->read);

  auto all = second->MarkNotificationsRead(0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->unread, 0u);
  synced = NextMatching(*bob_.client, [](wire::FrameT& f) {  // past its own mark of one
    return f.body.AsNotificationsRead() != nullptr && f.body.AsNotificationsRead()->up_to != 0;
  });
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->body.AsNotificationsRead()->up_to, third);
  EXPECT_EQ(*bob_.client->UnreadNotifications(), 0u);
  auto missing = bob_.client->MarkNotificationsRead(999'999);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(NotificationsTest, ReadMarkersAndFollowsCarryUserSeq) {
  wire::LoginOkT login;
  auto second = server_->SignedIn(bob_.email, &login);
  PostAs(alice_, general_, "one");
  ASSERT_TRUE(bob_.client->MarkRead(general_, 0).ok());
  auto moved = NextMatching(*second, [](wire::FrameT& f) {
    return f.body.AsReadMarkerUpdated() != nullptr;
  });
  ASSERT_TRUE(moved);
  uint64_t first = moved->body.AsReadMarkerUpdated()->user_seq;
  EXPECT_GT(first, 0u);
  uint64_t top = PostAs(alice_, general_, "thread");
  ASSERT_TRUE(bob_.client->FollowThread(general_, top, true).ok());
  auto follow = NextMatching(*second, [](wire::FrameT& f) {
    return f.body.AsThreadFollowUpdated() != nullptr;
  });
  ASSERT_TRUE(follow);
  EXPECT_EQ(follow->body.AsThreadFollowUpdated()->user_seq, first + 1);
}

TEST_F(NotificationsTest, SyncUserResumesWithoutGaps) {
  PostAs(alice_, general_, Mention(bob_.id) + " before");
  uint64_t seen = NextNotification(*bob_.client).user_seq;
  bob_.client.reset();  // disconnected: misses what follows
  PostAs(alice_, general_, Mention(bob_.id) + " while away 1");
  auto dm = alice_.client->OpenConversation(ws_, {bob_.id});
  ASSERT_TRUE(dm.ok());
  PostAs(alice_, dm->id, "while away 2");
  wire::LoginOkT login;
  auto other = server_->SignedIn(bob_.email, &login);
  ASSERT_TRUE(other->SetNotifyKeywords({"incident"}).ok());

  auto back = server_->SignedIn(bob_.email, &login);
  // The two notifications are logged once their messages are durable: wait for them.
  uint64_t want = seen + 3;
  Result<wire::Client::UserFeed> feed = back->SyncUser(seen);
  for (int i = 0; i < 100 && feed.ok() && feed->user_seq < want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    feed = back->SyncUser(seen);
  }
  ASSERT_TRUE(feed.ok()) << feed.error().message;
  EXPECT_FALSE(feed->resync_required);
  ASSERT_EQ(feed->frames.size(), 3u);
  std::vector<uint64_t> seqs;
  int notifications = 0, settings = 0;
  for (auto& f : feed->frames) {
    if (auto* n = f.body.AsNotification()) {
      seqs.push_back(n->user_seq);
      ++notifications;
    } else if (auto* s = f.body.AsNotificationSettingsUpdated()) {
      seqs.push_back(s->user_seq);
      ++settings;
    }
  }
  EXPECT_EQ(notifications, 2);
  EXPECT_EQ(settings, 1);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{seen + 1, seen + 2, seen + 3}));
  auto ahead = back->SyncUser(want + 5);
  ASSERT_TRUE(ahead.ok());
  EXPECT_TRUE(ahead->resync_required);
}

// Everything notifications keep is exactly as before a SIGKILL, and keyword alerts still match
// after the restart (replicated again from the log).
// (Its own server: the fixture's people are set up again on it.)
TEST_F(NotificationsTest, EverythingSurvivesAKill) {
  TestServer server(ThreeShards());
  server.Start();
  SetUpOn(server);
  auto* f = this;
  Person& alice = alice_;
  Person& bob = bob_;
  ASSERT_TRUE(bob.client->SetNotifyKeywords({"deploy"}).ok());
  ASSERT_TRUE(bob.client->SetDndSchedule(22 * 60, 7 * 60, "Europe/Berlin").ok());
  auto dm = alice.client->OpenConversation(f->ws_, {bob.id});
  ASSERT_TRUE(dm.ok());
  ASSERT_TRUE(bob.client->SetChannelNotifyPref(dm->id, wire::NotifyLevel::Mentions, true).ok());
  f->PostAs(alice, f->general_, Mention(bob.id) + " one");
  f->PostAs(alice, f->general_, "deploy two");
  uint64_t first = NextNotification(*bob.client).notification->id;
  uint64_t second = NextNotification(*bob.client).user_seq;
  ASSERT_TRUE(bob.client->MarkNotificationsRead(first).ok());

  auto Snapshot = [&](wire::Client& c) {
    std::string out;
    auto list = c.ListNotifications();
    EXPECT_TRUE(list.ok());
    for (auto& n : list->notifications) {
      out += std::to_string(n->id) + ":" + std::to_string(static_cast<int>(n->reason)) + ":" +
             std::to_string(n->seq) + ":" + std::to_string(n->read) + ":" +
             std::to_string(n->push) + ":" + n->snippet + ":" + std::to_string(n->at_ms) + ";";
    }
    out += " unread=" + std::to_string(list->unread) + " user_seq=" +
           std::to_string(list->user_seq);
    auto s = c.GetNotificationSettings();
    EXPECT_TRUE(s.ok());
    for (auto& k : s->keywords) out += " kw=" + k;
    out += " dnd=" + std::to_string(s->schedule) + "," + std::to_string(s->start_minute) + "," +
           std::to_string(s->end_minute) + "," + s->time_zone;
    auto p = c.GetChannelNotifyPref(dm->id);
    EXPECT_TRUE(p.ok());
    out += " pref=" + std::to_string(static_cast<int>(p->level)) + "," +
           std::to_string(p->muted);
    return out;
  };
  std::string before = Snapshot(*bob.client);
  auto feed_before = bob.client->SyncUser(0);
  ASSERT_TRUE(feed_before.ok());

  server.Kill();
  server.Start();
  wire::LoginOkT login;
  auto bob_again = server.SignedIn(bob.email, &login);
  auto alice_again = server.SignedIn(alice.email, &login);
  EXPECT_EQ(Snapshot(*bob_again), before);
  auto feed_after = bob_again->SyncUser(0);
  ASSERT_TRUE(feed_after.ok());
  EXPECT_EQ(feed_after->user_seq, feed_before->user_seq);
  EXPECT_EQ(feed_after->frames.size(), feed_before->frames.size());

  // Keywords were replicated again at start; the next entry continues the user's sequence.
  ASSERT_TRUE(alice_again->Post(f->general_, "deploy three").ok());
  wire::NotificationT n = NextNotification(*bob_again);
  ASSERT_TRUE(n.notification);
  EXPECT_EQ(n.notification->reason, wire::NotifyReason::Keyword);
  EXPECT_EQ(n.user_seq, feed_before->user_seq + 1);
  EXPECT_GT(n.user_seq, second);
}

}  // namespace
}  // namespace parley::testing
