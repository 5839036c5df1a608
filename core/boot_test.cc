// Boot and resume in core: state versions (each event kind that changes what a boot shows bumps
// its channel or workspace, and replay rebuilds the same versions), the per-shard boot view, and
// the resume token's encoding.
#include "core/boot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/decision_matchers.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;
constexpr UserId kAlice = 1001;  // owner
constexpr UserId kBob = 1002;
constexpr UserId kCarol = 1003;

std::vector<ChannelId> ChannelIds(const BootView& view) {
  std::vector<ChannelId> ids;
  for (const BootChannelView& c : view.channels) ids.push_back(c.channel->id);
  return ids;
}

std::vector<WorkspaceId> WorkspaceIds(const BootView& view) {
  std::vector<WorkspaceId> ids;
  for (const BootWorkspaceView& w : view.workspaces) ids.push_back(w.workspace->id);
  return ids;
}

class BootTest : public DecideFixture {
 protected:
  BootTest() : DecideFixture(kNow) {
    WorkspaceCreated created = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"});
    ws_ = created.workspace_id;
    general_ = created.general_id;
    random_ = created.random_id;
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, ws_, true});
    Do<WorkspaceJoined>(JoinWorkspace{kBob, ws_});
    Do<WorkspaceJoined>(JoinWorkspace{kCarol, ws_});
    dev_ = Do<ChannelCreated>(CreateChannel{kBob, ws_, "dev", false}).channel_id;
    Do<ChannelJoined>(JoinChannel{kAlice, dev_});
  }

  uint64_t ChannelVersion(ChannelId id) { return state_.FindChannel(id)->version; }
  uint64_t WorkspaceVersion() { return state_.FindWorkspace(ws_)->version; }
  BootView Since(UserId user, uint64_t version) {
    return BootViewOf(state_, user, BootSince{false, version, 0});
  }

  WorkspaceId ws_ = 0;
  ChannelId general_ = 0, random_ = 0, dev_ = 0;
};

TEST_F(BootTest, EveryEventBumpsTheStateVersion) {
  EXPECT_EQ(state_.version(), log_.size());
  Seq seq = Do<MessagePosted>(PostMessage{kBob, dev_, "", "hello"}).seq;
  Do<ReactionAdded>(AddReaction{kAlice, dev_, seq, "tada"});
  EXPECT_EQ(state_.version(), log_.size());
}

// Each event kind that changes what a boot shows of a channel stamps it with the new version.
TEST_F(BootTest, ChannelEventsStampTheirChannel) {
  auto expect_stamped = [&](const char* what) {
    EXPECT_EQ(ChannelVersion(dev_), state_.version()) << what;
  };
  Seq seq = Do<MessagePosted>(PostMessage{kBob, dev_, "", "hello"}).seq;
  expect_stamped("MessagePosted");
  Do<ThreadReplyPosted>(PostReply{kAlice, dev_, seq, "", "reply", false});
  expect_stamped("ThreadReplyPosted");
  Do<MessageEdited>(EditMessage{kBob, dev_, seq, "hello <@1001>"});
  expect_stamped("MessageEdited");
  Do<ThreadMarkedRead>(MarkThreadRead{kBob, dev_, seq});
  expect_stamped("ThreadMarkedRead");
  Do<ThreadFollowChanged>(SetThreadFollow{kBob, dev_, seq, false});
  expect_stamped("ThreadFollowChanged");
  Do<ReadMarkerSet>(MarkRead{kAlice, dev_, 0});
  expect_stamped("ReadMarkerSet");
  Do<ChannelDetailsChanged>(UpdateChannelDetails{kBob, dev_, "dev2", "a topic", std::nullopt});
  expect_stamped("ChannelDetailsChanged");
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, true, std::nullopt});
  expect_stamped("ChannelUpdated");
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, false, std::nullopt});
  Do<ChannelJoined>(JoinChannel{kCarol, dev_});
  expect_stamped("ChannelJoined");
  Do<ChannelLeft>(LeaveChannel{kCarol, dev_});
  expect_stamped("ChannelLeft");
  Do<ChannelMemberAdded>(AddChannelMember{kBob, dev_, kCarol});
  expect_stamped("ChannelMemberAdded");
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, seq});
  expect_stamped("MessageDeleted");
  ExpectReplayEqual();
}

TEST_F(BootTest, PrivateMembersAndConversationsStampTheirChannel) {
  ChannelId secret = Do<ChannelCreated>(CreateChannel{kBob, ws_, "secret", true}).channel_id;
  EXPECT_EQ(ChannelVersion(secret), state_.version()) << "ChannelCreated";
  Do<ChannelMemberAdded>(AddChannelMember{kBob, secret, kCarol});
  Do<ChannelMemberRemoved>(RemoveChannelMember{kBob, secret, kCarol});
  EXPECT_EQ(ChannelVersion(secret), state_.version()) << "ChannelMemberRemoved";
  ChannelId dm = Do<ConversationOpened>(OpenConversation{kAlice, ws_, {kBob}}).channel_id;
  EXPECT_EQ(ChannelVersion(dm), state_.version()) << "ConversationOpened";
  ExpectReplayEqual();
}

// Reactions, pins and bookmarks are not on the first screen: they leave the channel's version.
TEST_F(BootTest, WhatABootDoesNotShowLeavesTheVersion) {
  Seq seq = Do<MessagePosted>(PostMessage{kBob, dev_, "", "hello"}).seq;
  uint64_t stamped = ChannelVersion(dev_);
  uint64_t ws_stamped = WorkspaceVersion();
  Do<ReactionAdded>(AddReaction{kAlice, dev_, seq, "tada"});
  Do<ReactionRemoved>(RemoveReaction{kAlice, dev_, seq, "tada"});
  Do<PinChanged>(SetPinned{kAlice, dev_, seq, true});
  Do<BookmarkAdded>(AddBookmark{kAlice, dev_, "docs", "https://example.com"});
  Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, ws_, true, false});
  EXPECT_GT(state_.version(), stamped);
  EXPECT_EQ(ChannelVersion(dev_), stamped);
  EXPECT_EQ(WorkspaceVersion(), ws_stamped);
  ExpectReplayEqual();
}

TEST_F(BootTest, WorkspaceEventsStampTheWorkspace) {
  EXPECT_GT(WorkspaceVersion(), 0u);
  Do<WorkspaceJoined>(JoinWorkspace{4242, ws_});
  EXPECT_EQ(WorkspaceVersion(), state_.version()) << "WorkspaceJoined";
  Do<RoleChanged>(SetMemberRole{kAlice, ws_, kBob, static_cast<uint8_t>(WorkspaceRole::kAdmin)});
  EXPECT_EQ(WorkspaceVersion(), state_.version()) << "RoleChanged";
  Do<OwnershipTransferred>(TransferOwnership{kAlice, ws_, kBob});
  EXPECT_EQ(WorkspaceVersion(), state_.version()) << "OwnershipTransferred";
  // Deactivation changes the member's access to each of their channels too.
  Do<MemberActiveChanged>(SetMemberActive{kBob, ws_, kCarol, false});
  EXPECT_EQ(WorkspaceVersion(), state_.version()) << "MemberActiveChanged";
  EXPECT_EQ(ChannelVersion(general_), state_.version());
  EXPECT_LT(ChannelVersion(dev_), state_.version()) << "Carol is not in #dev";
  ExpectReplayEqual();
}

TEST_F(BootTest, FullViewHasEveryChannelAndWorkspaceWithCounts) {
  Do<MessagePosted>(PostMessage{kBob, dev_, "", "hi <@1001>"});
  Do<MessagePosted>(PostMessage{kBob, dev_, "", "again"});
  BootView view = BootViewOf(state_, kAlice, BootSince{});
  EXPECT_FALSE(view.ahead);
  EXPECT_EQ(view.version, state_.version());
  EXPECT_EQ(WorkspaceIds(view), std::vector<WorkspaceId>{ws_});
  EXPECT_EQ(view.workspaces[0].role, WorkspaceRole::kOwner);
  std::vector<ChannelId> want{general_, random_, dev_};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ChannelIds(view), want);
  auto dev = std::find_if(view.channels.begin(), view.channels.end(),
                          [&](const BootChannelView& c) { return c.channel->id == dev_; });
  ASSERT_NE(dev, view.channels.end());
  EXPECT_EQ(dev->unread.unread, 2u);
  EXPECT_EQ(dev->unread.mentions, 1u);
  EXPECT_TRUE(view.removed_channels.empty());
  // Carol is in #general only.
  EXPECT_EQ(ChannelIds(BootViewOf(state_, kCarol, BootSince{})), std::vector<ChannelId>{general_});
}

TEST_F(BootTest, ResumeListsOnlyWhatChanged) {
  uint64_t token = state_.version();
  EXPECT_TRUE(Since(kAlice, token).channels.empty());
  EXPECT_TRUE(Since(kAlice, token).workspaces.empty());
  Do<MessagePosted>(PostMessage{kBob, dev_, "", "news"});
  BootView view = Since(kAlice, token);
  EXPECT_EQ(ChannelIds(view), std::vector<ChannelId>{dev_});
  EXPECT_TRUE(view.workspaces.empty());
  EXPECT_EQ(view.channels[0].unread.unread, 1u);
  // Someone else's read marker changes the channel too: it is sent again, unchanged for Alice.
  token = state_.version();
  Do<ReadMarkerSet>(MarkRead{kBob, dev_, 0});
  EXPECT_EQ(ChannelIds(Since(kAlice, token)), std::vector<ChannelId>{dev_});
}

TEST_F(BootTest, ResumeReportsLeftRemovedAndDeactivated) {
  ChannelId secret = Do<ChannelCreated>(CreateChannel{kBob, ws_, "secret", true}).channel_id;
  Do<ChannelMemberAdded>(AddChannelMember{kBob, secret, kCarol});
  Do<ChannelJoined>(JoinChannel{kCarol, dev_});
  uint64_t token = state_.version();
  Do<ChannelLeft>(LeaveChannel{kCarol, dev_});
  Do<ChannelMemberRemoved>(RemoveChannelMember{kBob, secret, kCarol});
  BootView view = Since(kCarol, token);
  std::vector<ChannelId> gone{dev_, secret};
  std::sort(gone.begin(), gone.end());
  EXPECT_EQ(view.removed_channels, gone);
  EXPECT_TRUE(view.channels.empty());
  // Rejoining brings the channel back as a change, not a removal.
  Do<ChannelJoined>(JoinChannel{kCarol, dev_});
  view = Since(kCarol, token);
  EXPECT_EQ(ChannelIds(view), std::vector<ChannelId>{dev_});
  EXPECT_EQ(view.removed_channels, std::vector<ChannelId>{secret});

  token = state_.version();
  Do<MemberActiveChanged>(SetMemberActive{kAlice, ws_, kCarol, false});
  view = Since(kCarol, token);
  EXPECT_EQ(view.removed_workspaces, std::vector<WorkspaceId>{ws_});
  std::vector<ChannelId> hers{general_, dev_};
  std::sort(hers.begin(), hers.end());
  EXPECT_EQ(view.removed_channels, hers);
  EXPECT_TRUE(view.channels.empty());
  // Reactivated: the workspace and every channel of hers come back.
  uint64_t after_removal = state_.version();
  Do<MemberActiveChanged>(SetMemberActive{kAlice, ws_, kCarol, true});
  view = Since(kCarol, after_removal);
  EXPECT_EQ(WorkspaceIds(view), std::vector<WorkspaceId>{ws_});
  EXPECT_EQ(ChannelIds(view), hers);
  EXPECT_TRUE(view.removed_channels.empty());
  ExpectReplayEqual();
}

TEST_F(BootTest, ThreadsOfTheChannelsListed) {
  Seq seq = Do<MessagePosted>(PostMessage{kAlice, dev_, "", "question"}).seq;
  Do<ThreadReplyPosted>(PostReply{kBob, dev_, seq, "", "answer", false});
  BootView full = BootViewOf(state_, kAlice, BootSince{});
  ASSERT_EQ(full.threads.size(), 1u);
  EXPECT_EQ(full.threads[0].channel_id, dev_);
  EXPECT_EQ(full.threads[0].thread_seq, seq);
  EXPECT_EQ(full.threads[0].unread_replies, 1u);
  uint64_t token = state_.version();
  Do<ThreadMarkedRead>(MarkThreadRead{kAlice, dev_, seq});
  BootView view = Since(kAlice, token);
  EXPECT_EQ(ChannelIds(view), std::vector<ChannelId>{dev_});
  EXPECT_TRUE(view.threads.empty()) << "the channel's thread list is now empty";
}

TEST_F(BootTest, LaterPagesStartAfterTheirChannel) {
  std::vector<ChannelId> all = ChannelIds(BootViewOf(state_, kAlice, BootSince{}));
  ASSERT_EQ(all.size(), 3u);
  BootView page = BootViewOf(state_, kAlice, BootSince{true, 0, all[0]});
  EXPECT_EQ(ChannelIds(page), std::vector<ChannelId>(all.begin() + 1, all.end()));
  EXPECT_TRUE(page.workspaces.empty()) << "workspaces come with the first page";
}

TEST_F(BootTest, ATokenAheadOfTheShardIsReported) {
  BootView view = Since(kAlice, state_.version() + 1);
  EXPECT_TRUE(view.ahead);
  EXPECT_TRUE(view.channels.empty());
}

TEST(BootTokenTest, RoundTrips) {
  BootToken resume{BootTokenKind::kResume, 123456789, 3, {1, 300, 1u << 30}, {}, 0};
  EXPECT_EQ(DecodeBootToken(EncodeBootToken(resume)), resume);
  BootToken full{BootTokenKind::kFullContinued, 7, 2, {}, {5, 6}, 99};
  EXPECT_EQ(DecodeBootToken(EncodeBootToken(full)), full);
  BootToken cont{BootTokenKind::kResumeContinued, 7, 2, {1, 2}, {5, 6}, UINT64_MAX};
  EXPECT_EQ(DecodeBootToken(EncodeBootToken(cont)), cont);
  EXPECT_LE(EncodeBootToken(resume).size(), 20u) << "compact";
}

TEST(BootTokenTest, RejectsWhatIsNotAToken) {
  BootToken resume{BootTokenKind::kResume, 42, 3, {1, 2, 3}, {}, 0};
  std::string bytes = EncodeBootToken(resume);
  EXPECT_FALSE(DecodeBootToken(""));
  EXPECT_FALSE(DecodeBootToken("garbage"));
  EXPECT_FALSE(DecodeBootToken(bytes.substr(0, bytes.size() - 1))) << "truncated";
  EXPECT_FALSE(DecodeBootToken(bytes + '\0')) << "trailing byte";
  std::string bad_format = bytes;
  bad_format[0] = 9;
  EXPECT_FALSE(DecodeBootToken(bad_format));
  std::string bad_kind = bytes;
  bad_kind[1] = 3;
  EXPECT_FALSE(DecodeBootToken(bad_kind));
  EXPECT_FALSE(DecodeBootToken(std::string("\x01\x00\x2a\x00", 4))) << "zero shards";
  EXPECT_FALSE(DecodeBootToken(std::string("\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                                           13)))
      << "overlong varint";
}

}  // namespace
}  // namespace parley
