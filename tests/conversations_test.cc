// Direct and group conversations, channel details and members, workspace events, read markers
// and typing, end to end on a three-shard parleyd, with people on other shards than their
// workspace, and across a SIGKILL restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

class ConversationsTest : public MultiShardTest {
 protected:
  // A workspace of Alice's that anyone may join.
  static uint64_t NewWorkspace(TestServer& server, Person& alice, const std::string& name) {
    alice = SignIn(server, "alice");
    return OpenNewWorkspace(alice, name).id;
  }

  // A member of `ws` owned, and served, by other shards than the workspace's, so that what
  // members do crosses shards.
  static Person Joined(TestServer& server, const std::string& who, uint64_t ws) {
    const uint32_t ws_shard = OwnerShard(ws, kShards);
    Person p = AwayFrom(server, who, {ws_shard}, ws_shard);
    auto joined = p.client->JoinWorkspace(ws);
    EXPECT_TRUE(joined.ok()) << joined.error().message;
    return p;
  }

  static wire::ChannelInfoT NextCreated(wire::Client& c) {
    auto e = NextMatching(c, [](wire::FrameT& f) { return f.body.AsChannelCreated() != nullptr; });
    if (!e) {
      ADD_FAILURE() << "no ChannelCreated";
      return {};
    }
    return *e->body.AsChannelCreated()->channel;
  }

  static wire::ChannelInfoT NextUpdated(wire::Client& c) {
    auto e = NextMatching(c, [](wire::FrameT& f) { return f.body.AsChannelUpdated() != nullptr; });
    if (!e) {
      ADD_FAILURE() << "no ChannelUpdated";
      return {};
    }
    return *e->body.AsChannelUpdated()->channel;
  }

  static wire::MessageT NextMessage(wire::Client& c, uint64_t channel) {
    auto e = NextMatching(c, [&](wire::FrameT& f) {
      auto* posted = f.body.AsMessagePosted();
      return posted != nullptr && posted->message->channel_id == channel;
    });
    if (!e) {
      ADD_FAILURE() << "no message in " << channel;
      return {};
    }
    return *e->body.AsMessagePosted()->message;
  }
};

std::vector<uint64_t> Sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Every field of a channel as its viewer sees it, to compare before and after a restart.
std::string Describe(const wire::ChannelInfoT& c) {
  std::string members;
  for (uint64_t m : c.members) members += std::to_string(m) + ",";
  return std::to_string(c.id) + " ws=" + std::to_string(c.workspace_id) + " name=" + c.name +
         " private=" + std::to_string(c.is_private) + " count=" + std::to_string(c.member_count) +
         " last_seq=" + std::to_string(c.last_seq) + " member=" + std::to_string(c.is_member) +
         " created=" + std::to_string(c.created_at_ms) + " archived=" + std::to_string(c.archived) +
         " announcement=" + std::to_string(c.announcement) + " topic=" + c.topic +
         " purpose=" + c.purpose + " kind=" + std::to_string(static_cast<int>(c.kind)) +
         " members=" + members + " last_read=" + std::to_string(c.last_read) +
         " unread=" + std::to_string(c.unread) + " mentions=" + std::to_string(c.mentions);
}

std::string Describe(const wire::ConversationListT& list) {
  std::string out;
  for (const auto& c : list.conversations) {
    out += Describe(*c->channel);
    if (c->last_message) {
      out += " last=" + std::to_string(c->last_message->seq) + ":" + c->last_message->text;
    }
    out += "\n";
  }
  return out;
}

// ---- Direct and group conversations -----------------------------------------------------------

TEST_F(ConversationsTest, DirectConversationEndToEnd) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "DMs");
  Person bob = Joined(*server_, "bob", ws);
  Person carol = Joined(*server_, "carol", ws);

  auto dm = alice.client->OpenConversation(ws, {bob.id});
  ASSERT_TRUE(dm.ok()) << dm.error().message;
  EXPECT_EQ(dm->kind, wire::ChannelKind::Direct);
  EXPECT_TRUE(dm->is_private);
  EXPECT_TRUE(dm->is_member);
  EXPECT_EQ(dm->name, "");
  EXPECT_EQ(dm->workspace_id, ws);
  EXPECT_EQ(dm->members, Sorted({alice.id, bob.id}));
  // Bob, on another shard, is told and subscribed at once.
  wire::ChannelInfoT created = NextCreated(*bob.client);
  EXPECT_EQ(created.id, dm->id);
  EXPECT_EQ(created.kind, wire::ChannelKind::Direct);
  EXPECT_EQ(created.members, Sorted({alice.id, bob.id}));
  // The same people again: the same conversation, whoever opens it.
  auto again = bob.client->OpenConversation(ws, {alice.id, bob.id, alice.id});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, dm->id);

  ASSERT_TRUE(alice.client->Post(dm->id, "hi bob").ok());
  EXPECT_EQ(NextMessage(*bob.client, dm->id).text, "hi bob");
  auto reply = bob.client->Post(dm->id, "hi alice");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(NextMessage(*alice.client, dm->id).text, "hi bob");  // her own comes back too
  EXPECT_EQ(NextMessage(*alice.client, dm->id).text, "hi alice");
  auto history = bob.client->History(dm->id);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->messages.size(), 2u);

  // Carol cannot tell it exists; its members cannot change who is in it.
  auto peek = carol.client->History(dm->id);
  ASSERT_FALSE(peek.ok());
  EXPECT_EQ(peek.error().code, ErrorCode::kNotFound);
  auto join = carol.client->JoinChannel(dm->id);
  ASSERT_FALSE(join.ok());
  EXPECT_EQ(join.error().code, ErrorCode::kNotFound);
  auto add = alice.client->AddChannelMember(dm->id, carol.id);
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.error().code, ErrorCode::kForbidden);
  auto leave = bob.client->LeaveChannel(dm->id);
  ASSERT_FALSE(leave.ok());
  EXPECT_EQ(leave.error().code, ErrorCode::kForbidden);
  // The directory leaves conversations out.
  auto channels = alice.client->ListChannels(ws);
  ASSERT_TRUE(channels.ok());
  for (const auto& c : *channels) EXPECT_NE(c.id, dm->id);
}

TEST_F(ConversationsTest, GroupConversationsAndTheirList) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Groups");
  Person bob = Joined(*server_, "bob", ws);
  Person carol = Joined(*server_, "carol", ws);

  auto dm = alice.client->OpenConversation(ws, {bob.id});
  ASSERT_TRUE(dm.ok());
  auto group = carol.client->OpenConversation(ws, {alice.id, bob.id});
  ASSERT_TRUE(group.ok()) << group.error().message;
  EXPECT_EQ(group->kind, wire::ChannelKind::Group);
  EXPECT_EQ(group->members, Sorted({alice.id, bob.id, carol.id}));
  EXPECT_EQ(group->member_count, 3u);
  EXPECT_EQ(NextCreated(*bob.client).id, dm->id);
  EXPECT_EQ(NextCreated(*bob.client).id, group->id);

  // Limits: somebody else is needed, at most 8 people, all of them members.
  auto alone = alice.client->OpenConversation(ws, {alice.id});
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(alone.error().details, "user_ids");
  auto stranger = alice.client->OpenConversation(ws, {bob.id, 77'777'777});
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(stranger.error().details, "user_ids");
  std::vector<uint64_t> crowd = {bob.id, carol.id};
  for (uint64_t id = 1; crowd.size() < 8; ++id) crowd.push_back(id * 1000 + 3);
  auto too_many = alice.client->OpenConversation(ws, crowd);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidArgument);

  // Newest activity first: the group was opened last, until the DM gets a message.
  auto list = alice.client->ListConversations(ws);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->conversations.size(), 2u);
  EXPECT_EQ(list->conversations[0]->channel->id, group->id);
  EXPECT_EQ(list->conversations[0]->last_message, nullptr);
  ASSERT_TRUE(bob.client->Post(dm->id, "lunch?").ok());
  ASSERT_TRUE(bob.client->Post(dm->id, "<@" + std::to_string(alice.id) + "> lunch!").ok());
  list = alice.client->ListConversations(ws);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->conversations.size(), 2u);
  const auto& first = *list->conversations[0];
  EXPECT_EQ(first.channel->id, dm->id);
  ASSERT_NE(first.last_message, nullptr);
  EXPECT_EQ(first.last_message->text, "<@" + std::to_string(alice.id) + "> lunch!");
  EXPECT_EQ(first.last_message->author_id, bob.id);
  EXPECT_EQ(first.channel->unread, 2u);
  EXPECT_EQ(first.channel->mentions, 1u);
  EXPECT_EQ(list->conversations[1]->channel->unread, 0u);
  auto carols = carol.client->ListConversations(ws);
  ASSERT_TRUE(carols.ok());
  ASSERT_EQ(carols->conversations.size(), 1u);  // not Alice and Bob's
  EXPECT_EQ(carols->conversations[0]->channel->id, group->id);
}

// ---- Channel details, members and workspace events --------------------------------------------

TEST_F(ConversationsTest, TopicPurposeAndRename) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Details");
  Person bob = Joined(*server_, "bob", ws);
  Person carol = Joined(*server_, "carol", ws);  // not in #dev: sees it through the workspace
  auto dev = alice.client->CreateChannel(ws, "dev");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(NextCreated(*carol.client).id, dev->id);
  ASSERT_TRUE(bob.client->JoinChannel(dev->id).ok());

  auto set = bob.client->SetChannelDetails(dev->id, std::nullopt, "Ship it", "Engineering");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->topic, "Ship it");
  EXPECT_EQ(set->purpose, "Engineering");
  EXPECT_EQ(set->name, "dev");
  wire::ChannelInfoT seen = NextUpdated(*carol.client);
  EXPECT_EQ(seen.id, dev->id);
  EXPECT_EQ(seen.topic, "Ship it");

  auto rename =
      bob.client->SetChannelDetails(dev->id, std::string("eng"), std::nullopt, std::nullopt);
  ASSERT_FALSE(rename.ok());
  EXPECT_EQ(rename.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(rename.error().details, "name");
  auto bad =
      alice.client->SetChannelDetails(dev->id, std::string("Eng!"), std::nullopt, std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto taken =
      alice.client->SetChannelDetails(dev->id, std::string("random"), std::nullopt, std::nullopt);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  auto listed = alice.client->ListChannels(ws);
  ASSERT_TRUE(listed.ok());
  auto general = alice.client->SetChannelDetails((*listed)[0].id, std::string("lobby"),
                                                 std::nullopt, std::nullopt);
  ASSERT_FALSE(general.ok());
  EXPECT_EQ(general.error().code, ErrorCode::kForbidden);
  auto long_topic =
      bob.client->SetChannelDetails(dev->id, std::nullopt, std::string(251, 't'), std::nullopt);
  ASSERT_FALSE(long_topic.ok());
  EXPECT_EQ(long_topic.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(long_topic.error().details, "topic");
  auto renamed =
      alice.client->SetChannelDetails(dev->id, std::string("eng"), std::nullopt, std::nullopt);
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->name, "eng");
  EXPECT_EQ(NextUpdated(*carol.client).name, "eng");
  // An empty topic clears it; the purpose stays.
  auto cleared = bob.client->SetChannelDetails(dev->id, std::nullopt, "", std::nullopt);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->topic, "");
  EXPECT_EQ(cleared->purpose, "Engineering");

  auto directory = carol.client->ListChannels(ws);
  ASSERT_TRUE(directory.ok());
  auto it = std::find_if(directory->begin(), directory->end(),
                         [&](const auto& c) { return c.id == dev->id; });
  ASSERT_NE(it, directory->end());
  EXPECT_EQ(it->name, "eng");
  EXPECT_EQ(it->purpose, "Engineering");
  EXPECT_EQ(it->member_count, 2u);
  EXPECT_FALSE(it->is_member);
  EXPECT_EQ(it->kind, wire::ChannelKind::Channel);
}

TEST_F(ConversationsTest, WorkspaceEventsReachMembersOutsideTheChannel) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Events");
  Person carol = Joined(*server_, "carol", ws);
  // A private channel is shown to its members only.
  auto secret = alice.client->CreateChannel(ws, "secret", true);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(NextCreated(*alice.client).id, secret->id);
  auto pub = alice.client->CreateChannel(ws, "announcements-2");
  ASSERT_TRUE(pub.ok());
  wire::ChannelInfoT created = NextCreated(*carol.client);  // not the private one
  EXPECT_EQ(created.id, pub->id);
  EXPECT_EQ(created.name, "announcements-2");
  EXPECT_FALSE(created.is_private);
  auto archived = alice.client->UpdateChannel(pub->id, true, std::nullopt);
  ASSERT_TRUE(archived.ok());
  wire::ChannelInfoT updated = NextUpdated(*carol.client);
  EXPECT_EQ(updated.id, pub->id);
  EXPECT_TRUE(updated.archived);
  // A session signed in later follows the workspace too.
  auto later = server_->SignedIn(carol.email);
  auto third = alice.client->CreateChannel(ws, "third");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(NextCreated(*later).id, third->id);
}

// Guests see only their channels: no workspace-wide events, but their channels' changes.
TEST_F(ConversationsTest, GuestsHearOnlyOfTheirChannels) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Guests");
  auto dev = alice.client->CreateChannel(ws, "dev");
  ASSERT_TRUE(dev.ok());
  std::string email = Email("guest");
  auto invite = alice.client->CreateInvite(ws, email, wire::Role::Guest, {dev->id});
  ASSERT_TRUE(invite.ok()) << invite.error().message;
  wire::LoginOkT login;
  auto guest = server_->SignedIn(email, &login);
  ASSERT_TRUE(guest->AcceptInvite(invite->token).ok());
  auto other = alice.client->CreateChannel(ws, "other");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      alice.client->SetChannelDetails(dev->id, std::nullopt, "For guests too", std::nullopt).ok());
  // The first channel event the guest sees is #dev's change, not #other's creation.
  auto first = NextMatching(*guest, [](wire::FrameT& f) {
    return f.body.AsChannelCreated() != nullptr || f.body.AsChannelUpdated() != nullptr;
  });
  ASSERT_TRUE(first.has_value());
  ASSERT_NE(first->body.AsChannelUpdated(), nullptr);
  EXPECT_EQ(first->body.AsChannelUpdated()->channel->id, dev->id);
  EXPECT_EQ(first->body.AsChannelUpdated()->channel->topic, "For guests too");
  // Alice shares #dev with the guest: they may talk; a member who does not, may not.
  ASSERT_TRUE(guest->OpenConversation(ws, {alice.id}).ok());
  Person bob = Joined(*server_, "bob", ws);
  auto refused = bob.client->OpenConversation(ws, {login.user_id});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kForbidden);
}

TEST_F(ConversationsTest, RemovingMembers) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Removal");
  Person bob = Joined(*server_, "bob", ws);
  Person carol = Joined(*server_, "carol", ws);
  auto secret = alice.client->CreateChannel(ws, "secret", true);
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(alice.client->AddChannelMember(secret->id, bob.id).ok());
  ASSERT_TRUE(alice.client->AddChannelMember(secret->id, carol.id).ok());

  ASSERT_TRUE(carol.client->RemoveChannelMember(secret->id, bob.id).ok());
  auto left = NextMatching(*bob.client, [&](wire::FrameT& f) {
    auto* l = f.body.AsMemberLeft();
    return l != nullptr && l->channel_id == secret->id;
  });
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(left->body.AsMemberLeft()->user_id, bob.id);
  EXPECT_EQ(left->body.AsMemberLeft()->by, carol.id);
  // Bob no longer hears the channel: the next message he sees is one in #general.
  ASSERT_TRUE(alice.client->Post(secret->id, "without bob").ok());
  auto general = alice.client->ListChannels(ws);
  ASSERT_TRUE(general.ok());
  uint64_t general_id = (*general)[0].id;
  ASSERT_TRUE(alice.client->Post(general_id, "marker").ok());
  auto next = NextMatching(*bob.client,
                           [](wire::FrameT& f) { return f.body.AsMessagePosted() != nullptr; });
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body.AsMessagePosted()->message->channel_id, general_id);
  auto gone = bob.client->History(secret->id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);

  auto self = carol.client->RemoveChannelMember(secret->id, carol.id);
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kInvalidArgument);
  auto from_general = alice.client->RemoveChannelMember(general_id, bob.id);
  ASSERT_FALSE(from_general.ok());
  EXPECT_EQ(from_general.error().code, ErrorCode::kForbidden);
  auto dev = bob.client->CreateChannel(ws, "dev");
  ASSERT_TRUE(dev.ok());
  ASSERT_TRUE(carol.client->JoinChannel(dev->id).ok());
  auto by_member = bob.client->RemoveChannelMember(dev->id, carol.id);
  ASSERT_FALSE(by_member.ok());
  EXPECT_EQ(by_member.error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(alice.client->RemoveChannelMember(dev->id, carol.id).ok());
  auto members = alice.client->ListChannelMembers(dev->id);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->members, std::vector<uint64_t>{bob.id});
}

TEST_F(ConversationsTest, MemberPagination) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Pages");
  std::vector<uint64_t> everyone = {alice.id};
  for (int i = 0; i < 6; ++i) {
    wire::LoginOkT login;
    auto c = server_->SignedIn(Email("m" + std::to_string(i)), &login);
    ASSERT_TRUE(c->JoinWorkspace(ws).ok());
    everyone.push_back(login.user_id);
  }
  std::sort(everyone.begin(), everyone.end());
  auto channels = alice.client->ListChannels(ws);
  ASSERT_TRUE(channels.ok());
  uint64_t general = (*channels)[0].id;
  std::vector<uint64_t> seen;
  uint64_t after = 0;
  for (int page = 0; page < 5; ++page) {
    auto p = alice.client->ListChannelMembers(general, after, 3);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_LE(p->members.size(), 3u);
    seen.insert(seen.end(), p->members.begin(), p->members.end());
    if (!p->has_more) break;
    after = p->members.back();
  }
  EXPECT_EQ(seen, everyone);
  auto too_big = alice.client->ListChannelMembers(general, 0, 501);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(too_big.error().details, "limit");
}

// ---- Read markers and typing ------------------------------------------------------------------

TEST_F(ConversationsTest, ReadMarkersSyncAcrossSessionsAndCountUnread) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Reads");
  Person bob = Joined(*server_, "bob", ws);
  auto second = server_->SignedIn(bob.email);  // Bob's other device
  auto channels = alice.client->ListChannels(ws);
  ASSERT_TRUE(channels.ok());
  uint64_t general = (*channels)[0].id;
  ASSERT_TRUE(alice.client->Post(general, "one").ok());
  ASSERT_TRUE(alice.client->Post(general, "<@" + std::to_string(bob.id) + "> two").ok());
  ASSERT_TRUE(alice.client->Post(general, "<!channel> three").ok());
  ASSERT_TRUE(bob.client->Post(general, "mine").ok());

  auto before = bob.client->ListChannels(ws);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ((*before)[0].unread, 3u);
  EXPECT_EQ((*before)[0].mentions, 2u);
  EXPECT_EQ((*before)[0].last_read, 0u);

  auto marker = bob.client->MarkRead(general, 2);
  ASSERT_TRUE(marker.ok()) << marker.error().message;
  EXPECT_EQ(marker->seq, 2u);
  EXPECT_EQ(marker->unread, 1u);
  EXPECT_EQ(marker->mentions, 1u);
  auto synced = NextMatching(
      *second, [](wire::FrameT& f) { return f.body.AsReadMarkerUpdated() != nullptr; });
  ASSERT_TRUE(synced.has_value());
  EXPECT_EQ(synced->body.AsReadMarkerUpdated()->channel_id, general);
  EXPECT_EQ(synced->body.AsReadMarkerUpdated()->seq, 2u);
  EXPECT_GT(synced->body.AsReadMarkerUpdated()->user_seq, 0u);  // an entry of the user's feed

  // Never backwards: the answer is the marker as it stands.
  auto back = second->MarkRead(general, 1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->seq, 2u);
  auto beyond = second->MarkRead(general, 99);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(beyond.error().details, "seq");
  auto all = second->MarkRead(general);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->seq, 4u);
  EXPECT_EQ(all->unread, 0u);
  auto after = bob.client->JoinChannel(general);  // already in it: its info, counts included
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->last_read, 4u);
  EXPECT_EQ(after->unread, 0u);

  auto outsider = server_->SignedIn(Email("outsider"));
  auto hidden = outsider->MarkRead(general);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);
}

TEST_F(ConversationsTest, TypingIsBroadcastAndRateLimited) {
  Person alice;
  uint64_t ws = NewWorkspace(*server_, alice, "Typing");
  Person bob = Joined(*server_, "bob", ws);
  auto dm = alice.client->OpenConversation(ws, {bob.id});
  ASSERT_TRUE(dm.ok());
  auto typing = [&](wire::Client& c) {
    auto e = NextMatching(c, [](wire::FrameT& f) { return f.body.AsUserTyping() != nullptr; });
    EXPECT_TRUE(e.has_value());
    return e ? *e->body.AsUserTyping() : wire::UserTypingT{};
  };
  ASSERT_TRUE(bob.client->Typing(dm->id).ok());
  wire::UserTypingT start = typing(*alice.client);
  EXPECT_EQ(start.channel_id, dm->id);
  EXPECT_EQ(start.user_id, bob.id);
  EXPECT_TRUE(start.typing);
  EXPECT_EQ(start.expires_in_ms, 3000u);
  // A repeat within a second is answered but not shown: the next indicator is the stop.
  ASSERT_TRUE(bob.client->Typing(dm->id).ok());
  ASSERT_TRUE(bob.client->Typing(dm->id, true).ok());
  wire::UserTypingT stop = typing(*alice.client);
  EXPECT_EQ(stop.user_id, bob.id);
  EXPECT_FALSE(stop.typing);
  // A second stop is not shown either: the next thing Alice sees is Bob's message.
  ASSERT_TRUE(bob.client->Typing(dm->id, true).ok());
  ASSERT_TRUE(bob.client->Post(dm->id, "done").ok());
  auto next = NextMatching(*alice.client, [](wire::FrameT& f) {
    return f.body.AsUserTyping() != nullptr || f.body.AsMessagePosted() != nullptr;
  });
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(next->body.AsMessagePosted(), nullptr);

  auto outsider = server_->SignedIn(Email("outsider"));
  auto hidden = outsider->Typing(dm->id);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);
}

// ---- Restart ----------------------------------------------------------------------------------

TEST(ConversationsRestartTest, EverythingSurvivesAKill) {
  TestServer server(ThreeShards());
  server.Start();
  wire::LoginOkT a, b;
  auto alice = server.SignedIn("alice-restart@example.com", &a);
  auto bob = server.SignedIn("bob-restart@example.com", &b);
  auto ws = alice->CreateWorkspace("Durable");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*alice, ws->id);
  ASSERT_TRUE(bob->JoinWorkspace(ws->id).ok());
  auto dm = alice->OpenConversation(ws->id, {b.user_id});
  ASSERT_TRUE(dm.ok());
  ASSERT_TRUE(alice->Post(dm->id, "one").ok());
  ASSERT_TRUE(alice->Post(dm->id, "two").ok());
  ASSERT_TRUE(alice->Post(dm->id, "three").ok());
  ASSERT_TRUE(bob->MarkRead(dm->id, 2).ok());
  auto dev = alice->CreateChannel(ws->id, "dev");
  ASSERT_TRUE(dev.ok());
  ASSERT_TRUE(alice->SetChannelDetails(dev->id, std::string("eng"), "Topic", "Purpose").ok());
  auto conversations_before = bob->ListConversations(ws->id);
  auto channels_before = bob->ListChannels(ws->id);
  ASSERT_TRUE(conversations_before.ok());
  ASSERT_TRUE(channels_before.ok());

  server.Kill();
  server.Start();

  alice = server.SignedIn("alice-restart@example.com");
  bob = server.SignedIn("bob-restart@example.com");
  auto conversations = bob->ListConversations(ws->id);
  ASSERT_TRUE(conversations.ok()) << conversations.error().message;
  ASSERT_EQ(conversations->conversations.size(), 1u);
  const auto& c = *conversations->conversations[0];
  EXPECT_EQ(c.channel->id, dm->id);
  EXPECT_EQ(c.channel->kind, wire::ChannelKind::Direct);
  EXPECT_EQ(c.channel->members, Sorted({a.user_id, b.user_id}));
  EXPECT_EQ(c.channel->last_read, 2u);
  EXPECT_EQ(c.channel->unread, 1u);
  ASSERT_NE(c.last_message, nullptr);
  EXPECT_EQ(c.last_message->text, "three");
  EXPECT_EQ(Describe(*conversations), Describe(*conversations_before));
  auto channels = bob->ListChannels(ws->id);
  ASSERT_TRUE(channels.ok());
  ASSERT_EQ(channels->size(), channels_before->size());
  for (size_t i = 0; i < channels->size(); ++i) {
    EXPECT_EQ(Describe((*channels)[i]), Describe((*channels_before)[i]));
  }
  auto eng = std::find_if(channels->begin(), channels->end(),
                          [&](const auto& ch) { return ch.id == dev->id; });
  ASSERT_NE(eng, channels->end());
  EXPECT_EQ(eng->name, "eng");
  EXPECT_EQ(eng->topic, "Topic");
  EXPECT_EQ(eng->purpose, "Purpose");
  // The same people still find the same conversation, and it still works.
  auto again = bob->OpenConversation(ws->id, {a.user_id});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, dm->id);
  auto post = bob->Post(dm->id, "back");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->seq, 4u);
  auto marker = bob->MarkRead(dm->id, 1);
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->seq, 2u);
}

}  // namespace
}  // namespace parley::testing
