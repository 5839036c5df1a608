// Channel details and members, direct and group conversations, read markers and typing: the
// rules in decide_conversations.cc and their state in state_conversations.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/decide.h"
#include "core/decision_matchers.h"
#include "core/typing.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;
// Users live on other shards: these ids are never minted by the state under test.
constexpr UserId kAlice = 1001;  // owner
constexpr UserId kBob = 1002;    // member
constexpr UserId kCarol = 1003;  // member
constexpr UserId kDan = 1004;    // member, later deactivated in some tests
constexpr UserId kGuest = 1005;  // guest of #dev only
constexpr UserId kOut = 1006;    // never joins

class ConversationsTest : public DecideFixture {
 protected:
  ConversationsTest() : DecideFixture(kNow) {
    WorkspaceCreated created = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"});
    ws_ = created.workspace_id;
    general_ = created.general_id;
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, ws_, true});
    for (UserId u : {kBob, kCarol, kDan}) Do<WorkspaceJoined>(JoinWorkspace{u, ws_});
    dev_ = Do<ChannelCreated>(CreateChannel{kBob, ws_, "dev", false}).channel_id;
    Do<ChannelJoined>(JoinChannel{kCarol, dev_});
    InviteCreated invite =
        Do<InviteCreated>(CreateInvite{kAlice,
                                       ws_,
                                       "guest@example.com",
                                       static_cast<uint8_t>(WorkspaceRole::kGuest),
                                       {dev_},
                                       "tok",
                                       0});
    Do<InviteAccepted>(AcceptInvite{kGuest, "guest@example.com", ws_, invite.invite_id, "tok"});
  }

  ChannelId Open(UserId actor, std::vector<UserId> others) {
    return Do<ConversationOpened>(OpenConversation{actor, ws_, std::move(others)}).channel_id;
  }
  Seq Post(UserId actor, ChannelId channel, std::string text) {
    return Do<MessagePosted>(PostMessage{actor, channel, "", std::move(text)}).seq;
  }
  const ChannelState& Channel(ChannelId id) { return *state_.FindChannel(id); }
  const WorkspaceState& Ws() { return *state_.FindWorkspace(ws_); }
  UnreadCounts Unread(ChannelId id, UserId user) { return UnreadOf(Channel(id), user); }

  WorkspaceId ws_ = 0;
  ChannelId general_ = 0;
  ChannelId dev_ = 0;
};

// ---- Opening conversations --------------------------------------------------------------------

TEST_F(ConversationsTest, OpenDirectConversation) {
  ConversationOpened e = Do<ConversationOpened>(OpenConversation{kAlice, ws_, {kBob}});
  EXPECT_EQ(e.workspace_id, ws_);
  EXPECT_EQ(e.members, (std::vector<uint64_t>{kAlice, kBob}));
  EXPECT_EQ(e.by, kAlice);
  EXPECT_EQ(e.at, kNow);
  const ChannelState& dm = Channel(e.channel_id);
  EXPECT_EQ(dm.kind, ChannelKind::kDirect);
  EXPECT_TRUE(dm.is_private);
  EXPECT_EQ(dm.name, "");
  EXPECT_EQ(dm.workspace_id, ws_);
  EXPECT_TRUE(dm.IsMember(kAlice));
  EXPECT_TRUE(dm.IsMember(kBob));
  EXPECT_EQ(dm.members.size(), 2u);
  EXPECT_EQ(Ws().conversations.at({kAlice, kBob}), e.channel_id);
  std::vector<ChannelId> bobs = state_.ChannelsOf(kBob);
  EXPECT_NE(std::find(bobs.begin(), bobs.end(), e.channel_id), bobs.end());
  EXPECT_EQ(Ws().channel_by_name.count(""), 0u);  // conversations have no name
}

TEST_F(ConversationsTest, ReopeningTheSameSetFindsIt) {
  ChannelId dm = Open(kAlice, {kBob});
  EXPECT_TRUE(IsNoOp(Try(OpenConversation{kBob, ws_, {kAlice}})));
  EXPECT_TRUE(IsNoOp(Try(OpenConversation{kAlice, ws_, {kBob, kBob, kAlice}})));
  EXPECT_EQ(FindConversation(state_, ws_, ConversationMembers(kBob, {kAlice, kAlice}))->id, dm);
  ChannelId group = Open(kCarol, {kBob, kAlice});
  EXPECT_NE(group, dm);
  EXPECT_EQ(Channel(group).kind, ChannelKind::kGroup);
  EXPECT_TRUE(IsNoOp(Try(OpenConversation{kAlice, ws_, {kCarol, kBob}})));
  EXPECT_EQ(FindConversation(state_, ws_, {kAlice, kBob, kCarol})->id, group);
  EXPECT_EQ(FindConversation(state_, ws_, {kAlice, kCarol}), nullptr);
}

TEST_F(ConversationsTest, ConversationSizeLimits) {
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kAlice, ws_, {}}), ErrorCode::kInvalidArgument, "user_ids"));
  EXPECT_TRUE(IsError(Try(OpenConversation{kAlice, ws_, {kAlice, kAlice}}),
                      ErrorCode::kInvalidArgument, "user_ids"));
  std::vector<UserId> seven;
  for (UserId u = 3000; u < 3007; ++u) {
    Do<WorkspaceJoined>(JoinWorkspace{u, ws_});
    seven.push_back(u);
  }
  std::vector<UserId> eight = seven;
  eight.push_back(kBob);
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kAlice, ws_, eight}), ErrorCode::kInvalidArgument, "user_ids"));
  // Duplicates do not count twice: 7 others and the opener are the most.
  seven.push_back(seven.front());
  ConversationOpened e = Do<ConversationOpened>(OpenConversation{kAlice, ws_, seven});
  EXPECT_EQ(e.members.size(), kMaxConversationMembers);
  EXPECT_EQ(Channel(e.channel_id).kind, ChannelKind::kGroup);
}

TEST_F(ConversationsTest, EveryoneMustBeAnActiveMember) {
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kAlice, ws_, {kOut}}), ErrorCode::kNotFound, "user_ids"));
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kAlice, ws_, {kBob, 0}}), ErrorCode::kNotFound, "user_ids"));
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kOut, ws_, {kAlice}}), ErrorCode::kNotFound, "workspace_id"));
  EXPECT_TRUE(IsError(Try(OpenConversation{kAlice, ws_ + 1000, {kBob}}), ErrorCode::kNotFound,
                      "workspace_id"));
  EXPECT_TRUE(IsError(Try(OpenConversation{0, ws_, {kBob}}), ErrorCode::kUnauthenticated, "actor"));
  Do<MemberActiveChanged>(SetMemberActive{kAlice, ws_, kDan, false});
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kAlice, ws_, {kDan}}), ErrorCode::kNotFound, "user_ids"));
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kDan, ws_, {kAlice}}), ErrorCode::kNotFound, "workspace_id"));
}

// Guests talk only with people who share a channel with them, whoever opens the conversation.
TEST_F(ConversationsTest, GuestsTalkOnlyWithPeopleInTheirChannels) {
  ChannelId with_bob = Open(kGuest, {kBob});  // both in #dev
  EXPECT_EQ(Channel(with_bob).kind, ChannelKind::kDirect);
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kGuest, ws_, {kAlice}}), ErrorCode::kForbidden, "user_ids"));
  EXPECT_TRUE(
      IsError(Try(OpenConversation{kAlice, ws_, {kGuest}}), ErrorCode::kForbidden, "user_ids"));
  EXPECT_TRUE(IsError(Try(OpenConversation{kBob, ws_, {kGuest, kAlice}}), ErrorCode::kForbidden,
                      "user_ids"));
  Open(kBob, {kGuest, kCarol});  // Carol is in #dev too
  Do<ChannelJoined>(JoinChannel{kAlice, dev_});
  Open(kAlice, {kGuest});
}

TEST_F(ConversationsTest, MembersOfAConversationAreFixed) {
  ChannelId dm = Open(kAlice, {kBob});
  EXPECT_TRUE(IsError(Try(JoinChannel{kAlice, dm}), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(IsError(Try(LeaveChannel{kBob, dm}), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(
      IsError(Try(AddChannelMember{kAlice, dm, kCarol}), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(
      IsError(Try(RemoveChannelMember{kAlice, dm, kBob}), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(IsError(Try(UpdateChannel{kAlice, dm, true, std::nullopt}), ErrorCode::kForbidden,
                      "channel_id"));
  EXPECT_TRUE(IsError(Try(UpdateChannelDetails{kAlice, dm, "chat", std::nullopt, std::nullopt}),
                      ErrorCode::kForbidden, "name"));
  EXPECT_TRUE(IsError(
      Try(CreateInvite{
          kAlice, ws_, "x@example.com", static_cast<uint8_t>(WorkspaceRole::kGuest), {dm}, "t", 0}),
      ErrorCode::kNotFound, "channel_ids"));
  // Outsiders to the conversation, admins included, cannot tell it exists.
  EXPECT_TRUE(IsError(Try(JoinChannel{kCarol, dm}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(Try(PostMessage{kCarol, dm, "", "hi"}), ErrorCode::kNotFound, "channel_id"));
  Do<WorkspaceJoined>(JoinWorkspace{3000, ws_});
  Do<RoleChanged>(SetMemberRole{kAlice, ws_, 3000, static_cast<uint8_t>(WorkspaceRole::kAdmin)});
  EXPECT_TRUE(IsError(Try(MarkRead{3000, dm, 0}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(ConversationsTest, ConversationsWorkLikePrivateChannels) {
  ChannelId dm = Open(kAlice, {kBob});
  EXPECT_EQ(Post(kBob, dm, "hello"), 1u);
  EXPECT_TRUE(CheckCanRead(state_, kAlice, dm).ok());
  EXPECT_TRUE(IsError(CheckCanRead(state_, kCarol, dm), ErrorCode::kNotFound, "channel_id"));
  // A topic is fine; the directory leaves conversations out.
  ChannelDetailsChanged e = Do<ChannelDetailsChanged>(
      UpdateChannelDetails{kBob, dm, std::nullopt, "lunch plans", std::nullopt});
  EXPECT_EQ(e.name, "");
  EXPECT_EQ(Channel(dm).topic, "lunch plans");
  auto visible = VisibleChannels(state_, kAlice, ws_);
  ASSERT_TRUE(visible.ok());
  for (const ChannelState* c : *visible) EXPECT_EQ(c->kind, ChannelKind::kChannel);
  EXPECT_EQ(visible->size(), 3u);  // general, random, dev
}

TEST_F(ConversationsTest, ListConversationsNewestActivityFirst) {
  ChannelId dm = Open(kAlice, {kBob});
  ctx_.now += 1000;
  ChannelId group = Open(kCarol, {kAlice, kBob});
  ctx_.now += 1000;
  ChannelId other = Open(kBob, {kCarol});  // not Alice's
  auto list = ListConversations(state_, kAlice, ws_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].channel->id, group);  // opened last
  EXPECT_EQ((*list)[1].channel->id, dm);
  EXPECT_EQ((*list)[0].last, nullptr);
  ctx_.now += 1000;
  Post(kBob, dm, "first");
  Seq second = Post(kBob, dm, "second");
  list = ListConversations(state_, kAlice, ws_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].channel->id, dm);
  ASSERT_NE((*list)[0].last, nullptr);
  EXPECT_EQ((*list)[0].last->seq, second);
  EXPECT_EQ((*list)[0].last->text, "second");
  EXPECT_EQ((*list)[0].unread.unread, 2u);
  EXPECT_EQ((*list)[1].unread.unread, 0u);
  // A deleted newest message leaves the one before it as the preview.
  Do<MessageDeleted>(DeleteMessage{kBob, dm, second});
  list = ListConversations(state_, kAlice, ws_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].last->text, "first");
  EXPECT_EQ((*list)[0].unread.unread, 1u);
  auto bobs = ListConversations(state_, kBob, ws_);
  ASSERT_TRUE(bobs.ok());
  EXPECT_EQ(bobs->size(), 3u);
  EXPECT_EQ((*bobs)[0].channel->id, dm);
  EXPECT_EQ((*bobs)[1].channel->id, other);
  EXPECT_TRUE(IsError(ListConversations(state_, kOut, ws_), ErrorCode::kNotFound, "workspace_id"));
}

// ---- Channel details --------------------------------------------------------------------------

TEST_F(ConversationsTest, MembersSetTopicAndPurpose) {
  ChannelDetailsChanged e = Do<ChannelDetailsChanged>(
      UpdateChannelDetails{kCarol, dev_, std::nullopt, "  Ship it  ", "Engineering"});
  EXPECT_EQ(e.channel_id, dev_);
  EXPECT_EQ(e.name, "dev");
  EXPECT_EQ(e.topic, "Ship it");  // trimmed
  EXPECT_EQ(e.purpose, "Engineering");
  EXPECT_EQ(e.by, kCarol);
  EXPECT_EQ(Channel(dev_).topic, "Ship it");
  EXPECT_EQ(Channel(dev_).purpose, "Engineering");
  // Unchanged values change nothing; an empty one clears.
  EXPECT_TRUE(IsNoOp(Try(UpdateChannelDetails{kCarol, dev_, "dev", "Ship it", std::nullopt})));
  e = Do<ChannelDetailsChanged>(UpdateChannelDetails{kCarol, dev_, std::nullopt, "", std::nullopt});
  EXPECT_EQ(e.topic, "");
  EXPECT_EQ(e.purpose, "Engineering");
}

TEST_F(ConversationsTest, TopicAndPurposeShape) {
  auto topic = [&](std::string t) {
    return Try(UpdateChannelDetails{kBob, dev_, std::nullopt, std::move(t), std::nullopt});
  };
  EXPECT_TRUE(topic(std::string(kMaxTopicBytes, 'x')).ok());
  EXPECT_TRUE(
      IsError(topic(std::string(kMaxTopicBytes + 1, 'x')), ErrorCode::kInvalidArgument, "topic"));
  EXPECT_TRUE(IsError(topic("line\nbreak"), ErrorCode::kInvalidArgument, "topic"));
  EXPECT_TRUE(IsError(topic("bell\x07"), ErrorCode::kInvalidArgument, "topic"));
  EXPECT_TRUE(IsError(topic("c1 \xc2\x85 control"), ErrorCode::kInvalidArgument, "topic"));
  EXPECT_TRUE(IsError(topic("bad \xff utf8"), ErrorCode::kInvalidArgument, "topic"));
  EXPECT_TRUE(topic("caf\xc3\xa9 \xf0\x9f\x9a\x80").ok());
  EXPECT_TRUE(IsError(Try(UpdateChannelDetails{kBob, dev_, std::nullopt, std::nullopt,
                                               std::string(kMaxPurposeBytes + 1, 'p')}),
                      ErrorCode::kInvalidArgument, "purpose"));
}

TEST_F(ConversationsTest, WhoMayChangeDetails) {
  auto topic = [&](UserId actor, ChannelId channel) {
    return Try(UpdateChannelDetails{actor, channel, std::nullopt, "t", std::nullopt});
  };
  EXPECT_TRUE(IsError(topic(kGuest, dev_), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(IsError(topic(kDan, dev_), ErrorCode::kForbidden, "channel_id"));  // not a member
  EXPECT_TRUE(topic(kAlice, dev_).ok());  // an admin need not be
  EXPECT_TRUE(IsError(topic(kOut, dev_), ErrorCode::kNotFound, "channel_id"));
  ChannelId secret = Do<ChannelCreated>(CreateChannel{kBob, ws_, "secret", true}).channel_id;
  EXPECT_TRUE(IsError(topic(kAlice, secret), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(topic(kBob, secret + 1000), ErrorCode::kNotFound, "channel_id"));
  Do<ChannelUpdated>(UpdateChannel{kBob, dev_, true, std::nullopt});
  EXPECT_TRUE(IsError(topic(kBob, dev_), ErrorCode::kForbidden, "channel_id"));
  Do<ChannelUpdated>(UpdateChannel{kBob, dev_, false, std::nullopt});
  EXPECT_TRUE(topic(kBob, dev_).ok());
}

TEST_F(ConversationsTest, RenameFollowsTheChannelNameRule) {
  auto rename = [&](UserId actor, ChannelId channel, std::string name) {
    return Try(UpdateChannelDetails{actor, channel, std::move(name), std::nullopt, std::nullopt});
  };
  EXPECT_TRUE(IsError(rename(kCarol, dev_, "eng"), ErrorCode::kForbidden, "name"));  // member
  EXPECT_TRUE(IsError(rename(kBob, dev_, "Eng"), ErrorCode::kInvalidArgument, "name"));
  EXPECT_TRUE(IsError(rename(kBob, dev_, "-eng"), ErrorCode::kInvalidArgument, "name"));
  EXPECT_TRUE(IsError(rename(kBob, dev_, "   "), ErrorCode::kInvalidArgument, "name"));
  EXPECT_TRUE(IsError(rename(kBob, dev_, std::string(kMaxNameBytes + 1, 'a')),
                      ErrorCode::kInvalidArgument, "name"));
  EXPECT_TRUE(IsError(rename(kBob, dev_, "random"), ErrorCode::kAlreadyExists, "name"));
  EXPECT_TRUE(IsError(rename(kAlice, general_, "lobby"), ErrorCode::kForbidden, "name"));
  EXPECT_TRUE(IsNoOp(rename(kCarol, dev_, " dev ")));  // its own name: no rename
  ChannelDetailsChanged e = Do<ChannelDetailsChanged>(
      UpdateChannelDetails{kBob, dev_, " eng ", std::nullopt, std::nullopt});
  EXPECT_EQ(e.name, "eng");
  EXPECT_EQ(Channel(dev_).name, "eng");
  EXPECT_EQ(Ws().channel_by_name.at("eng"), dev_);
  EXPECT_EQ(Ws().channel_by_name.count("dev"), 0u);
  // The old name is free again; the new one is taken.
  Do<ChannelCreated>(CreateChannel{kCarol, ws_, "dev", false});
  EXPECT_TRUE(
      IsError(Try(CreateChannel{kCarol, ws_, "eng", false}), ErrorCode::kAlreadyExists, "name"));
  // Admins rename channels they did not create.
  Do<ChannelDetailsChanged>(
      UpdateChannelDetails{kAlice, dev_, "engineering", std::nullopt, std::nullopt});
  EXPECT_EQ(Channel(dev_).name, "engineering");
}

// ---- Removing members -------------------------------------------------------------------------

TEST_F(ConversationsTest, PrivateChannelMembersRemoveOthers) {
  ChannelId secret = Do<ChannelCreated>(CreateChannel{kBob, ws_, "secret", true}).channel_id;
  Do<ChannelMemberAdded>(AddChannelMember{kBob, secret, kCarol});
  Do<ChannelMemberAdded>(AddChannelMember{kBob, secret, kDan});
  ChannelMemberRemoved e = Do<ChannelMemberRemoved>(RemoveChannelMember{kCarol, secret, kBob});
  EXPECT_EQ(e.channel_id, secret);
  EXPECT_EQ(e.user_id, kBob);
  EXPECT_EQ(e.by, kCarol);
  EXPECT_FALSE(Channel(secret).IsMember(kBob));
  std::vector<ChannelId> bobs = state_.ChannelsOf(kBob);
  EXPECT_EQ(std::find(bobs.begin(), bobs.end(), secret), bobs.end());
  // Now invisible to Bob; removing someone already gone changes nothing.
  EXPECT_TRUE(
      IsError(Try(RemoveChannelMember{kBob, secret, kDan}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsNoOp(Try(RemoveChannelMember{kCarol, secret, kBob})));
  EXPECT_TRUE(IsError(Try(RemoveChannelMember{kCarol, secret, kCarol}), ErrorCode::kInvalidArgument,
                      "user_id"));
  // Alice (an admin) is not in it: it is hidden from her.
  EXPECT_TRUE(
      IsError(Try(RemoveChannelMember{kAlice, secret, kDan}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(ConversationsTest, PublicChannelsRemoveByAdminsOnly) {
  EXPECT_TRUE(
      IsError(Try(RemoveChannelMember{kBob, dev_, kCarol}), ErrorCode::kForbidden, "user_id"));
  EXPECT_TRUE(
      IsError(Try(RemoveChannelMember{kGuest, dev_, kCarol}), ErrorCode::kForbidden, "user_id"));
  EXPECT_TRUE(IsError(Try(RemoveChannelMember{kAlice, general_, kBob}), ErrorCode::kForbidden,
                      "channel_id"));
  Do<ChannelMemberRemoved>(RemoveChannelMember{kAlice, dev_, kGuest});
  EXPECT_FALSE(Channel(dev_).IsMember(kGuest));
  Do<ChannelUpdated>(UpdateChannel{kAlice, dev_, true, std::nullopt});
  EXPECT_TRUE(
      IsError(Try(RemoveChannelMember{kAlice, dev_, kCarol}), ErrorCode::kForbidden, "channel_id"));
}

// ---- Listing members --------------------------------------------------------------------------

TEST_F(ConversationsTest, MemberPagesByUserId) {
  for (UserId u = 5000; u < 5250; ++u) Do<WorkspaceJoined>(JoinWorkspace{u, ws_});
  // #general: Alice, Bob, Carol, Dan and the 250 (the guest is not in it): 254.
  std::vector<UserId> all;
  UserId after = 0;
  for (int page = 0; page < 10; ++page) {
    auto p = ListChannelMembers(state_, kBob, general_, after, 0);
    ASSERT_TRUE(p.ok());
    EXPECT_LE(p->members.size(), 100u);
    EXPECT_TRUE(std::is_sorted(p->members.begin(), p->members.end()));
    all.insert(all.end(), p->members.begin(), p->members.end());
    if (!p->has_more) break;
    after = p->members.back();
  }
  EXPECT_EQ(all.size(), 254u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  auto big = ListChannelMembers(state_, kBob, general_, 0, kMaxMemberPage);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->members.size(), 254u);
  EXPECT_FALSE(big->has_more);
  auto exact = ListChannelMembers(state_, kBob, general_, 0, 254);
  ASSERT_TRUE(exact.ok());
  EXPECT_FALSE(exact->has_more);
  EXPECT_TRUE(IsError(ListChannelMembers(state_, kBob, general_, 0, kMaxMemberPage + 1),
                      ErrorCode::kInvalidArgument, "limit"));
}

TEST_F(ConversationsTest, MemberListsFollowVisibility) {
  auto dev = ListChannelMembers(state_, kDan, dev_, 0, 0);  // public: no need to join
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->members, (std::vector<UserId>{kBob, kCarol, kGuest}));
  ChannelId secret = Do<ChannelCreated>(CreateChannel{kBob, ws_, "secret", true}).channel_id;
  EXPECT_TRUE(IsError(ListChannelMembers(state_, kAlice, secret, 0, 0), ErrorCode::kNotFound,
                      "channel_id"));
  EXPECT_TRUE(IsError(ListChannelMembers(state_, kGuest, general_, 0, 0), ErrorCode::kNotFound,
                      "channel_id"));
  EXPECT_TRUE(
      IsError(ListChannelMembers(state_, kOut, dev_, 0, 0), ErrorCode::kNotFound, "channel_id"));
}

// ---- Read markers and unread counts -----------------------------------------------------------

TEST_F(ConversationsTest, MarkReadMovesOnlyForwards) {
  for (int i = 0; i < 5; ++i) Post(kBob, dev_, "m" + std::to_string(i));
  ReadMarkerSet e = Do<ReadMarkerSet>(MarkRead{kCarol, dev_, 3});
  EXPECT_EQ(e.channel_id, dev_);
  EXPECT_EQ(e.user_id, kCarol);
  EXPECT_EQ(e.seq, 3u);
  EXPECT_EQ(Channel(dev_).last_read.at(kCarol), 3u);
  EXPECT_TRUE(IsNoOp(Try(MarkRead{kCarol, dev_, 2})));
  EXPECT_TRUE(IsNoOp(Try(MarkRead{kCarol, dev_, 3})));
  EXPECT_TRUE(IsError(Try(MarkRead{kCarol, dev_, 6}), ErrorCode::kInvalidArgument, "seq"));
  EXPECT_EQ(Do<ReadMarkerSet>(MarkRead{kCarol, dev_, 0}).seq, 5u);  // 0: the newest
  EXPECT_TRUE(IsNoOp(Try(MarkRead{kCarol, dev_, 0})));
}

TEST_F(ConversationsTest, MarkReadNeedsMembership) {
  EXPECT_TRUE(IsError(Try(MarkRead{kDan, dev_, 0}), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(IsError(Try(MarkRead{kGuest, general_, 0}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(Try(MarkRead{kOut, dev_, 0}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(Try(MarkRead{kBob, 999'999, 0}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsNoOp(Try(MarkRead{kBob, dev_, 0})));  // nothing posted yet
}

TEST_F(ConversationsTest, UnreadCountsOthersMessagesAfterTheMarker) {
  Post(kBob, dev_, "one");
  Post(kCarol, dev_, "mine");  // Carol's own: never unread for her
  Seq three = Post(kBob, dev_, "three");
  Post(kBob, dev_, "four");
  EXPECT_EQ(Unread(dev_, kCarol).unread, 3u);
  EXPECT_EQ(Unread(dev_, kBob).unread, 1u);
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, three});
  EXPECT_EQ(Unread(dev_, kCarol).unread, 2u);
  Do<ReadMarkerSet>(MarkRead{kCarol, dev_, 2});
  UnreadCounts c = Unread(dev_, kCarol);
  EXPECT_EQ(c.last_read, 2u);
  EXPECT_EQ(c.unread, 1u);
  EXPECT_EQ(c.mentions, 0u);
  Do<ReadMarkerSet>(MarkRead{kCarol, dev_, 0});
  EXPECT_EQ(Unread(dev_, kCarol).unread, 0u);
}

TEST_F(ConversationsTest, MentionsCountNamesAndChannelWideOnce) {
  std::string carol = "<@" + std::to_string(kCarol) + ">";
  Post(kBob, dev_, "hey " + carol);
  Post(kBob, dev_, "<!channel> standup");
  Post(kBob, dev_, carol + " and <!here>");  // both: counted once
  Post(kBob, dev_, "<@" + std::to_string(kDan) + "> not Carol");
  Seq deleted = Post(kBob, dev_, carol + " oops");
  Post(kCarol, dev_, "<!channel> my own");  // her own: not counted
  Do<MessageDeleted>(DeleteMessage{kBob, dev_, deleted});
  UnreadCounts c = Unread(dev_, kCarol);
  EXPECT_EQ(c.unread, 4u);
  EXPECT_EQ(c.mentions, 3u);
  EXPECT_EQ(Unread(dev_, kBob).mentions, 1u);  // Carol's <!channel>
  Do<ReadMarkerSet>(MarkRead{kCarol, dev_, 2});
  c = Unread(dev_, kCarol);
  EXPECT_EQ(c.unread, 2u);
  EXPECT_EQ(c.mentions, 1u);
}

TEST_F(ConversationsTest, ThreadRepliesCountInTheirThreadNotTheChannel) {
  Seq parent = Post(kBob, dev_, "parent");
  Do<ReadMarkerSet>(MarkRead{kCarol, dev_, parent});
  ThreadReplyPosted reply{dev_, parent + 1, 900'001, kBob, "", "in thread", kNow, parent, false};
  state_.Apply(Event(reply));
  log_.push_back(reply);
  ThreadReplyPosted shown{dev_, parent + 2, 900'002, kBob, "", "also in channel",
                          kNow, parent,     true};
  state_.Apply(Event(shown));
  log_.push_back(shown);
  EXPECT_EQ(Unread(dev_, kCarol).unread, 1u);
}

TEST_F(ConversationsTest, JoiningStartsWithEverythingRead) {
  for (int i = 0; i < 3; ++i) Post(kBob, dev_, "before");
  Do<ChannelJoined>(JoinChannel{kDan, dev_});
  EXPECT_EQ(Unread(dev_, kDan).unread, 0u);
  EXPECT_EQ(Unread(dev_, kDan).last_read, 3u);
  Post(kBob, dev_, "after");
  EXPECT_EQ(Unread(dev_, kDan).unread, 1u);
  Do<ChannelLeft>(LeaveChannel{kDan, dev_});
  Post(kBob, dev_, "while away");
  Do<ChannelJoined>(JoinChannel{kDan, dev_});
  EXPECT_EQ(Unread(dev_, kDan).unread, 0u);
}

// ---- Replay -----------------------------------------------------------------------------------

TEST_F(ConversationsTest, ReplayYieldsTheSameState) {
  ChannelId dm = Open(kAlice, {kBob});
  ChannelId group = Open(kBob, {kCarol, kAlice});
  Post(kBob, dm, "<@" + std::to_string(kAlice) + "> hi");
  Post(kCarol, group, "<!channel> yo");
  Do<ReadMarkerSet>(MarkRead{kAlice, dm, 0});
  Do<ChannelDetailsChanged>(UpdateChannelDetails{kBob, dev_, "eng", "topic", "purpose"});
  ChannelId secret = Do<ChannelCreated>(CreateChannel{kBob, ws_, "secret", true}).channel_id;
  Do<ChannelMemberAdded>(AddChannelMember{kBob, secret, kCarol});
  Do<ChannelMemberRemoved>(RemoveChannelMember{kBob, secret, kCarol});
  ShardState replayed(0, 1);
  for (const Event& e : log_) replayed.Apply(Event(e));
  EXPECT_TRUE(replayed == state_);
  ASSERT_NE(replayed.FindChannel(dm), nullptr);
  EXPECT_EQ(replayed.FindChannel(dm)->last_read.at(kAlice), 1u);
  EXPECT_EQ(replayed.FindChannel(dev_)->topic, "topic");
  EXPECT_EQ(replayed.FindWorkspace(ws_)->channel_by_name.at("eng"), dev_);
  EXPECT_EQ(FindConversation(replayed, ws_, {kAlice, kBob, kCarol})->id, group);
  // Ids minted after a replay continue where the log left off.
  EXPECT_EQ(replayed.max_minted(), state_.max_minted());
}

// ---- Typing -----------------------------------------------------------------------------------

TEST(TypingLimiterTest, RepeatedStartsWithinASecondAreNotShown) {
  TypingLimiter typing;
  EXPECT_TRUE(typing.Start(1, kBob, kNow));
  EXPECT_FALSE(typing.Start(1, kBob, kNow + 500));
  EXPECT_FALSE(typing.Start(1, kBob, kNow + kTypingRepeatMs - 1));
  EXPECT_TRUE(typing.Start(2, kBob, kNow + 600));    // another channel
  EXPECT_TRUE(typing.Start(1, kCarol, kNow + 700));  // another user
  EXPECT_TRUE(typing.Start(1, kBob, kNow + kTypingRepeatMs));
}

TEST(TypingLimiterTest, StopIsShownOnlyAfterAShownStart) {
  TypingLimiter typing;
  EXPECT_FALSE(typing.Stop(1, kBob, kNow));  // never started
  EXPECT_TRUE(typing.Start(1, kBob, kNow));
  EXPECT_TRUE(typing.Stop(1, kBob, kNow + 100));
  EXPECT_FALSE(typing.Stop(1, kBob, kNow + 200));  // already stopped
  EXPECT_TRUE(typing.Start(1, kBob, kNow + 300));  // a stop resets the repeat window
  EXPECT_FALSE(typing.Stop(1, kBob, kNow + 300 + kTypingExpiryMs));  // expired by itself
}

TEST(TypingLimiterTest, ForgetsOldEntries) {
  TypingLimiter typing;
  for (UserId u = 1; u <= 100; ++u) typing.Start(1, u, kNow);
  EXPECT_EQ(typing.size(), 100u);
  EXPECT_TRUE(typing.Start(1, 500, kNow + kTypingExpiryMs));
  EXPECT_EQ(typing.size(), 1u);
}

// The shard's housekeeping prunes too, so a burst is forgotten when nobody types again.
TEST(TypingLimiterTest, PruningWithoutNewTypingEmptiesIt) {
  TypingLimiter typing;
  for (UserId u = 1; u <= 100; ++u) typing.Start(1, u, kNow);
  typing.Prune(kNow + kTypingExpiryMs - 1);
  EXPECT_EQ(typing.size(), 100u);
  typing.Prune(kNow + 2 * kTypingExpiryMs - 1);  // at most once per expiry period
  EXPECT_EQ(typing.size(), 0u);
}

}  // namespace
}  // namespace parley
