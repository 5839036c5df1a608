// Notifications and the user feed: who is notified and why, preferences and mute, keywords,
// do-not-disturb (schedules across midnight), expiry, the per-user cap and gapless user_seq.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/decision_matchers.h"
#include "core/notify.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;

class NotifyTest : public DecideFixture {
 protected:
  NotifyTest() : DecideFixture(kNow) {
    alice_ = Register("alice@example.com");
    bob_ = Register("bob@example.com");
    carol_ = Register("carol@example.com");
    dan_ = Register("dan@example.com");
    WorkspaceCreated created = Do<WorkspaceCreated>(CreateWorkspace{alice_, "Acme"});
    ws_ = created.workspace_id;
    general_ = created.general_id;
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{alice_, ws_, true});
    for (UserId u : {bob_, carol_, dan_}) Do<WorkspaceJoined>(JoinWorkspace{u, ws_});
  }

  UserId Register(std::string email) {
    return Do<UserRegistered>(RegisterUser{email, "Name", "a long password 123", "", "hash"})
        .user_id;
  }
  const StoredMessage& Post(UserId actor, ChannelId channel, std::string text) {
    Seq seq = Do<MessagePosted>(PostMessage{actor, channel, "", std::move(text)}).seq;
    return state_.FindChannel(channel)->messages[seq - 1];
  }
  std::vector<NotifyCandidate> Candidates(const StoredMessage& m, ChannelId channel) {
    return NotifyCandidates(*state_.FindChannel(channel), m, keywords_);
  }
  NotifyReason ReasonOf(const std::vector<NotifyCandidate>& all, UserId user) {
    for (const NotifyCandidate& c : all) {
      if (c.user_id == user) return c.reason;
    }
    ADD_FAILURE() << "user " << user << " not notified";
    return NotifyReason::kMessage;
  }
  bool Notified(const std::vector<NotifyCandidate>& all, UserId user) {
    for (const NotifyCandidate& c : all) {
      if (c.user_id == user) return true;
    }
    return false;
  }
  NotificationCreated Notify(UserId user, Seq seq, int32_t minute = -1) {
    return Do<NotificationCreated>(CreateNotification{
        user, static_cast<uint8_t>(NotifyReason::kMention), ws_, general_, seq, 0, alice_,
        "hello", minute});
  }
  const UserNotifyState& Notes(UserId user) { return *FindNotifyState(state_, user); }

  UserId alice_ = 0, bob_ = 0, carol_ = 0, dan_ = 0;
  WorkspaceId ws_ = 0;
  ChannelId general_ = 0;
  KeywordMap keywords_;
};

// ---- Who is notified and why --------------------------------------------------------------------

TEST_F(NotifyTest, DirectMentionNotifiesOnlyTheMentionedNotTheAuthor) {
  auto all = Candidates(Post(alice_, general_, "hi <@" + std::to_string(bob_) + "> and <@" +
                                                   std::to_string(alice_) + ">"),
                        general_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].user_id, bob_);
  EXPECT_EQ(all[0].reason, NotifyReason::kMention);
}

TEST_F(NotifyTest, NonMembersAreNeverNotified) {
  ChannelId dev = Do<ChannelCreated>(CreateChannel{alice_, ws_, "dev", false}).channel_id;
  auto all = Candidates(Post(alice_, dev, "<@" + std::to_string(bob_) + "> <!channel>"), dev);
  EXPECT_TRUE(all.empty());
}

TEST_F(NotifyTest, ChannelWideMentionsNotifyEveryOtherMember) {
  for (std::string text : {"<!channel> deploy", "<!here> deploy", "<!everyone> deploy"}) {
    auto all = Candidates(Post(alice_, general_, text), general_);
    ASSERT_EQ(all.size(), 3u) << text;
    for (const NotifyCandidate& c : all) EXPECT_EQ(c.reason, NotifyReason::kChannelMention);
  }
}

TEST_F(NotifyTest, PlainChannelMessageNotifiesNobodyByDefault) {
  EXPECT_TRUE(Candidates(Post(alice_, general_, "lunch?"), general_).empty());
}

TEST_F(NotifyTest, DirectAndGroupConversationsNotifyTheOthersForEveryMessage) {
  ChannelId dm =
      Do<ConversationOpened>(OpenConversation{alice_, ws_, {bob_, carol_}}).channel_id;
  auto all = Candidates(Post(alice_, dm, "lunch?"), dm);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(ReasonOf(all, bob_), NotifyReason::kDirect);
  EXPECT_EQ(ReasonOf(all, carol_), NotifyReason::kDirect);
  // The strongest reason wins, once per user.
  all = Candidates(Post(alice_, dm, "<@" + std::to_string(bob_) + "> lunch?"), dm);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(ReasonOf(all, bob_), NotifyReason::kMention);
}

TEST_F(NotifyTest, RepliesNotifyFollowersOfTheThread) {
  const StoredMessage& parent = Post(alice_, general_, "design review");
  Seq parent_seq = parent.seq;
  Do<ThreadReplyPosted>(PostReply{bob_, general_, parent_seq, "", "first", false});
  Do<ThreadFollowChanged>(SetThreadFollow{carol_, general_, parent_seq, true});
  Seq seq =
      Do<ThreadReplyPosted>(PostReply{dan_, general_, parent_seq, "", "second", false}).seq;
  auto all = Candidates(state_.FindChannel(general_)->messages[seq - 1], general_);
  ASSERT_EQ(all.size(), 3u);  // alice (started it), bob (replied), carol (follows)
  EXPECT_EQ(ReasonOf(all, alice_), NotifyReason::kThreadReply);
  EXPECT_EQ(ReasonOf(all, bob_), NotifyReason::kThreadReply);
  EXPECT_EQ(ReasonOf(all, carol_), NotifyReason::kThreadReply);
}

TEST_F(NotifyTest, KeywordsMatchWholeWordsCaseInsensitively) {
  EXPECT_TRUE(MatchesKeyword("the Deploy failed", "deploy"));
  EXPECT_TRUE(MatchesKeyword("deploy!", "deploy"));
  EXPECT_TRUE(MatchesKeyword("é deploy é", "deploy"));
  EXPECT_FALSE(MatchesKeyword("redeploy now", "deploy"));
  EXPECT_FALSE(MatchesKeyword("deployed", "deploy"));
  EXPECT_FALSE(MatchesKeyword("deploy_it", "deploy"));
  EXPECT_TRUE(MatchesKeyword("on-call today", "on-call"));
  EXPECT_TRUE(MatchesKeyword("ping @ops please", "@ops"));
  keywords_[carol_] = {"deploy"};
  auto all = Candidates(Post(alice_, general_, "DEPLOY at 5"), general_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(ReasonOf(all, carol_), NotifyReason::kKeyword);
}

TEST_F(NotifyTest, KeywordHoldersAndFollowersWhoLeftAreNotNotified) {
  ChannelId dev = Do<ChannelCreated>(CreateChannel{alice_, ws_, "dev", false}).channel_id;
  Do<ChannelJoined>(JoinChannel{bob_, dev});
  Seq top = Post(alice_, dev, "plan").seq;
  Do<ThreadReplyPosted>(PostReply{bob_, dev, top, "", "ok", false});
  Do<ChannelLeft>(LeaveChannel{bob_, dev});
  keywords_[carol_] = {"deploy"};  // carol is not in #dev
  Seq seq = Do<ThreadReplyPosted>(PostReply{alice_, dev, top, "", "deploy", false}).seq;
  EXPECT_TRUE(Candidates(state_.FindChannel(dev)->messages[seq - 1], dev).empty());
}

TEST_F(NotifyTest, NormaliseKeywords) {
  auto ok = NormaliseKeywords({" Deploy ", "deploy", "On-Call"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<std::string>{"deploy", "on-call"}));
  EXPECT_TRUE(IsError(NormaliseKeywords({"x"}), ErrorCode::kInvalidArgument, "keywords"));
  EXPECT_TRUE(IsError(NormaliseKeywords({std::string(51, 'a')}), ErrorCode::kInvalidArgument,
                      "keywords"));
  EXPECT_TRUE(IsError(NormaliseKeywords(std::vector<std::string>(21, "abc")),
                      ErrorCode::kInvalidArgument, "keywords"));
  EXPECT_TRUE(IsError(NormaliseKeywords({"a\nb"}), ErrorCode::kInvalidArgument, "keywords"));
}

// ---- Preferences and mute -----------------------------------------------------------------------

TEST_F(NotifyTest, PreferenceNothingAllAndMute) {
  auto level = [](NotifyLevel l) { return static_cast<uint8_t>(l); };
  Do<ChannelNotifyPrefSet>(SetChannelNotifyPref{bob_, general_, level(NotifyLevel::kAll), false});
  Do<ChannelNotifyPrefSet>(
      SetChannelNotifyPref{carol_, general_, level(NotifyLevel::kNothing), false});
  Do<ChannelNotifyPrefSet>(
      SetChannelNotifyPref{dan_, general_, level(NotifyLevel::kDefault), true});
  auto all = Candidates(Post(alice_, general_, "lunch?"), general_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(ReasonOf(all, bob_), NotifyReason::kMessage);
  all = Candidates(Post(alice_, general_, "<!channel> <@" + std::to_string(carol_) + ">"),
                   general_);
  EXPECT_EQ(ReasonOf(all, bob_), NotifyReason::kChannelMention);
  EXPECT_FALSE(Notified(all, carol_));  // nothing: not even a mention
  EXPECT_FALSE(Notified(all, dan_));    // muted: not a channel-wide mention
  all = Candidates(Post(alice_, general_, "<@" + std::to_string(dan_) + ">"), general_);
  EXPECT_EQ(ReasonOf(all, dan_), NotifyReason::kMention);  // muted: direct mentions still do
  // Setting what is already set is a no-op; the default again removes the entry.
  EXPECT_TRUE(IsNoOp(Try(SetChannelNotifyPref{bob_, general_, level(NotifyLevel::kAll), false})));
  Do<ChannelNotifyPrefSet>(SetChannelNotifyPref{bob_, general_, 0, false});
  EXPECT_EQ(state_.FindChannel(general_)->notify_prefs.count(bob_), 0u);
  ExpectReplayEqual();
}

TEST_F(NotifyTest, MentionsLevelSilencesPlainDirectMessages) {
  ChannelId dm = Do<ConversationOpened>(OpenConversation{alice_, ws_, {bob_}}).channel_id;
  Do<ChannelNotifyPrefSet>(
      SetChannelNotifyPref{bob_, dm, static_cast<uint8_t>(NotifyLevel::kMentions), false});
  EXPECT_TRUE(Candidates(Post(alice_, dm, "hey"), dm).empty());
}

TEST_F(NotifyTest, PreferenceNeedsMembershipAndAKnownLevel) {
  ChannelId secret = Do<ChannelCreated>(CreateChannel{alice_, ws_, "secret", true}).channel_id;
  EXPECT_TRUE(IsError(Try(SetChannelNotifyPref{bob_, secret, 1, false}), ErrorCode::kNotFound,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(SetChannelNotifyPref{bob_, general_, 9, false}),
                      ErrorCode::kInvalidArgument, "level"));
}

// ---- Do-not-disturb -----------------------------------------------------------------------------

TEST(QuietHours, SameDayAndAcrossMidnight) {
  EXPECT_TRUE(InQuietHours(9 * 60, 17 * 60, 9 * 60));
  EXPECT_FALSE(InQuietHours(9 * 60, 17 * 60, 17 * 60));
  EXPECT_FALSE(InQuietHours(9 * 60, 17 * 60, 8 * 60 + 59));
  EXPECT_TRUE(InQuietHours(22 * 60, 7 * 60, 23 * 60));
  EXPECT_TRUE(InQuietHours(22 * 60, 7 * 60, 0));
  EXPECT_TRUE(InQuietHours(22 * 60, 7 * 60, 6 * 60 + 59));
  EXPECT_FALSE(InQuietHours(22 * 60, 7 * 60, 7 * 60));
  EXPECT_FALSE(InQuietHours(22 * 60, 7 * 60, 12 * 60));
  EXPECT_FALSE(InQuietHours(5, 5, 5));
}

TEST_F(NotifyTest, SnoozeStoresWithoutPushUntilItEnds) {
  Do<DndSet>(SetDnd{bob_, DndOp::kSnooze, 30, 0, 0, ""});
  EXPECT_EQ(Notes(bob_).dnd.snooze_until, kNow + 30 * kMinuteMs);
  EXPECT_FALSE(Notify(bob_, 1).push);
  ctx_.now = kNow + 30 * kMinuteMs;
  EXPECT_TRUE(Notify(bob_, 2).push);
  EXPECT_TRUE(IsError(Try(SetDnd{bob_, DndOp::kSnooze, kMaxSnoozeMinutes + 1, 0, 0, ""}),
                      ErrorCode::kInvalidArgument, "snooze_minutes"));
  ExpectReplayEqual();
}

TEST_F(NotifyTest, ScheduleUsesTheLocalMinuteGiven) {
  Do<DndSet>(SetDnd{bob_, DndOp::kSchedule, 0, 22 * 60, 7 * 60, "Europe/Berlin"});
  EXPECT_FALSE(Notify(bob_, 1, 23 * 60).push);
  EXPECT_FALSE(Notify(bob_, 2, 30).push);
  EXPECT_TRUE(Notify(bob_, 3, 12 * 60).push);
  Do<DndSet>(SetDnd{bob_, DndOp::kOff, 0, 0, 0, ""});
  EXPECT_TRUE(Notify(bob_, 4, 23 * 60).push);
  EXPECT_EQ(Notes(bob_).dnd.time_zone, "Europe/Berlin");  // kept for the next schedule
  EXPECT_TRUE(IsError(Try(SetDnd{bob_, DndOp::kSchedule, 0, 60, 60, "UTC"}),
                      ErrorCode::kInvalidArgument, "end_minute"));
  EXPECT_TRUE(IsError(Try(SetDnd{bob_, DndOp::kSchedule, 0, 1440, 60, "UTC"}),
                      ErrorCode::kInvalidArgument, "start_minute"));
  EXPECT_TRUE(IsError(Try(SetDnd{bob_, DndOp::kSchedule, 0, 60, 120, ""}),
                      ErrorCode::kInvalidArgument, "time_zone"));
  EXPECT_TRUE(IsNoOp(Try(SetDnd{bob_, DndOp::kOff, 0, 0, 0, ""})));
  ExpectReplayEqual();
}

// ---- The feed, reading, expiry, cap -------------------------------------------------------------

TEST_F(NotifyTest, UserSeqIsGaplessAcrossEveryFeedEntry) {
  EXPECT_EQ(Notify(bob_, 1).user_seq, 1u);
  EXPECT_EQ(Do<UserFeedNoted>(NoteUserFeed{bob_, 1, general_, 0, 1, false}).user_seq, 2u);
  EXPECT_EQ(Do<KeywordsSet>(SetKeywords{bob_, {"deploy"}}).user_seq, 3u);
  EXPECT_EQ(Do<DndSet>(SetDnd{bob_, DndOp::kSnooze, 5, 0, 0, ""}).user_seq, 4u);
  EXPECT_EQ(Do<NotificationsRead>(MarkNotificationsRead{bob_, 0}).user_seq, 5u);
  EXPECT_EQ(Notify(carol_, 1).user_seq, 1u);  // per user
  auto page = ReadFeed(state_, bob_, 2, 0);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 3u);
  EXPECT_EQ(UserSeqOf(*page->entries[0]), 3u);
  EXPECT_EQ(UserSeqOf(*page->entries[2]), 5u);
  EXPECT_FALSE(page->resync_required);
  EXPECT_EQ(page->last_user_seq, 5u);
  page = ReadFeed(state_, bob_, 0, 2);
  EXPECT_EQ(page->entries.size(), 2u);
  EXPECT_TRUE(page->has_more);
  EXPECT_TRUE(ReadFeed(state_, bob_, 9, 0)->resync_required);  // ahead of the server
  ExpectReplayEqual();
}

TEST_F(NotifyTest, FeedOlderThanTheWindowNeedsAResync) {
  for (size_t i = 0; i < kFeedWindow + 5; ++i) Notify(bob_, i + 1);
  EXPECT_TRUE(ReadFeed(state_, bob_, 4, 0)->resync_required);
  auto page = ReadFeed(state_, bob_, 5, 1);
  EXPECT_FALSE(page->resync_required);
  EXPECT_EQ(UserSeqOf(*page->entries[0]), 6u);
}

TEST_F(NotifyTest, ListNewestFirstWithCursorAndMarkOneOrAll) {
  for (Seq s = 1; s <= 5; ++s) Notify(bob_, s);
  auto page = ListNotifications(state_, bob_, kNow, {0, 2, false});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->notifications.size(), 2u);
  EXPECT_EQ(page->notifications[0]->id, 5u);
  EXPECT_EQ(page->notifications[1]->id, 4u);
  EXPECT_TRUE(page->has_more);
  EXPECT_EQ(page->unread, 5u);
  page = ListNotifications(state_, bob_, kNow, {4, 10, false});
  EXPECT_EQ(page->notifications.size(), 3u);
  EXPECT_FALSE(page->has_more);
  NotificationsRead one = Do<NotificationsRead>(MarkNotificationsRead{bob_, 2});
  EXPECT_EQ(one.notification_id, 2u);
  EXPECT_TRUE(IsNoOp(Try(MarkNotificationsRead{bob_, 2})));
  EXPECT_TRUE(IsError(Try(MarkNotificationsRead{bob_, 99}), ErrorCode::kNotFound,
                      "notification_id"));
  EXPECT_EQ(ListNotifications(state_, bob_, kNow, {})->unread, 4u);
  EXPECT_EQ(ListNotifications(state_, bob_, kNow, {0, 0, true})->notifications.size(), 4u);
  NotificationsRead all = Do<NotificationsRead>(MarkNotificationsRead{bob_, 0});
  EXPECT_EQ(all.up_to, 5u);  // the newest notification (the read of #2 took user_seq 6)
  EXPECT_EQ(ListNotifications(state_, bob_, kNow, {})->unread, 0u);
  EXPECT_TRUE(IsNoOp(Try(MarkNotificationsRead{bob_, 0})));
  EXPECT_TRUE(IsError(ListNotifications(state_, bob_, kNow, {0, 201, false}),
                      ErrorCode::kInvalidArgument, "limit"));
  ExpectReplayEqual();
}

TEST_F(NotifyTest, ExpireAfterThirtyDaysByListingTimeAndByEventTime) {
  Notify(bob_, 1);
  ctx_.now = kNow + 10 * kDayMs;
  Notify(bob_, 2);
  TimeMs later = kNow + kNotificationTtlMs;
  auto page = ListNotifications(state_, bob_, later, {});
  ASSERT_EQ(page->notifications.size(), 1u);  // the first is 30 days old: gone from lists
  EXPECT_EQ(page->unread, 1u);
  EXPECT_EQ(Notes(bob_).notifications.size(), 2u);  // still in memory until an event drops it
  ctx_.now = later;
  Notify(bob_, 3);
  EXPECT_EQ(Notes(bob_).notifications.size(), 2u);
  EXPECT_EQ(Notes(bob_).notifications.front().id, 2u);
  EXPECT_EQ(Notes(bob_).unread, 2u);
  ExpectReplayEqual();
}

TEST_F(NotifyTest, KeepsTheNewestPerUser) {
  for (size_t i = 0; i < kMaxNotificationsPerUser + 3; ++i) Notify(bob_, i + 1);
  EXPECT_EQ(Notes(bob_).notifications.size(), kMaxNotificationsPerUser);
  EXPECT_EQ(Notes(bob_).notifications.front().id, 4u);
  EXPECT_EQ(Notes(bob_).unread, kMaxNotificationsPerUser);
}

TEST_F(NotifyTest, SnippetCutsOnACharacterBoundary) {
  std::string text = std::string(99, 'a') + "\xc3\xa9" + "tail";
  EXPECT_EQ(Snippet(text), std::string(99, 'a'));
  EXPECT_EQ(Snippet("short"), "short");
}

TEST_F(NotifyTest, AMessageNotifiesAUserOnce) {
  Notify(bob_, 7);
  EXPECT_TRUE(IsNoOp(Try(CreateNotification{bob_, 1, ws_, general_, 7, 0, alice_, "again"})));
  EXPECT_EQ(Notify(bob_, 8).user_seq, 2u);
  ExpectReplayEqual();
}

TEST_F(NotifyTest, UnknownUsersAreRefused) {
  EXPECT_TRUE(IsError(Try(CreateNotification{424242, 1, 0, 0, 0, 0, 0, "", -1}), ErrorCode::kNotFound, "user_id"));
  EXPECT_TRUE(IsError(Try(NoteUserFeed{424242, 1}), ErrorCode::kNotFound, "user_id"));
}

}  // namespace
}  // namespace parley
