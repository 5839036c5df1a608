// Access control end to end on a two-shard parleyd: workspace isolation (outsiders see
// not_found, never forbidden), invites, guests, roles, workspace settings, archived and
// announcement channels, edit/delete rights, deactivation and the audit log.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_server.h"

namespace parley::testing {
namespace {

class AccessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    server_->Start();
  }
  static void TearDownTestSuite() { delete server_; }

  struct User {
    std::unique_ptr<wire::Client> c;
    uint64_t id = 0;
    std::string email;
    wire::Client* operator->() const { return c.get(); }
  };

  static User SignIn(const std::string& who) {
    User u;
    u.email = Email(who);
    wire::LoginOkT login;
    u.c = server_->SignedIn(u.email, &login);
    u.id = login.user_id;
    return u;
  }

  // Invites `u` to the workspace with `role` and has them accept; returns the accepted info.
  static wire::WorkspaceInfoT Invite(User& inviter, uint64_t ws, User& u,
                                     wire::Role role = wire::Role::Member,
                                     const std::vector<uint64_t>& channels = {}) {
    auto inv = inviter->CreateInvite(ws, u.email, role, channels);
    if (!inv.ok()) {
      ADD_FAILURE() << "CreateInvite: " << inv.error().message;
      return {};
    }
    auto acc = u->AcceptInvite(inv->token);
    if (!acc.ok()) {
      ADD_FAILURE() << "AcceptInvite: " << acc.error().message;
      return {};
    }
    return *acc;
  }

  // Waits for the next event frame matching `pred`, skipping others.
  template <class Pred>
  static std::optional<wire::FrameT> NextMatching(wire::Client& c, Pred pred) {
    for (;;) {
      auto e = c.NextEvent(10000);
      if (!e.ok()) {
        ADD_FAILURE() << "no event: " << e.error().message;
        return std::nullopt;
      }
      if (pred(*e)) return std::move(*e);
    }
  }

  static wire::MessageT NextMessage(wire::Client& c, uint64_t channel) {
    auto f = NextMatching(c, [&](const wire::FrameT& f) {
      auto* p = f.body.AsMessagePosted();
      return p && p->message->channel_id == channel;
    });
    if (!f) return {};
    return *f->body.AsMessagePosted()->message;
  }

  static TestServer* server_;
};
TestServer* AccessTest::server_ = nullptr;

template <class R>
void ExpectCode(const R& r, ErrorCode code, const std::string& what) {
  if (r.ok()) {
    ADD_FAILURE() << what << ": succeeded, expected " << ErrorCodeName(code);
    return;
  }
  EXPECT_EQ(r.error().code, code) << what << ": expected " << ErrorCodeName(code) << ", got "
                                  << ErrorCodeName(r.error().code) << " ("
                                  << r.error().message << ")";
}

// A comparable snapshot of a channel's history.
std::vector<std::string> Snapshot(wire::Client& c, uint64_t channel) {
  std::vector<std::string> out;
  auto page = c.History(channel);
  if (!page.ok()) {
    ADD_FAILURE() << "History: " << page.error().message;
    return out;
  }
  for (auto& m : page->messages) {
    out.push_back(std::to_string(m->seq) + "|" + std::to_string(m->author_id) + "|" + m->text +
                  "|" + std::to_string(m->edited_at_ms) + "|" + (m->deleted ? "D" : "-"));
  }
  return out;
}

bool HasChannel(const std::vector<wire::ChannelInfoT>& list, uint64_t id) {
  return std::any_of(list.begin(), list.end(), [&](auto& ch) { return ch.id == id; });
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, OutsidersGetNotFoundForEverythingInAnotherWorkspace) {
  User a = SignIn("aowner");
  User b = SignIn("bowner");
  auto wsa = a->CreateWorkspace("A");
  ASSERT_TRUE(wsa.ok()) << wsa.error().message;
  auto wsb = b->CreateWorkspace("B");
  ASSERT_TRUE(wsb.ok()) << wsb.error().message;
  auto pub = a->CreateChannel(wsa->id, "pub");
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  auto priv = a->CreateChannel(wsa->id, "priv", true);
  ASSERT_TRUE(priv.ok()) << priv.error().message;
  const uint64_t general = wsa->general_channel_id;
  const std::vector<std::pair<std::string, uint64_t>> channels = {
      {"public", pub->id}, {"private", priv->id}, {"general", general}};
  for (auto& [name, id] : channels) ASSERT_TRUE(a->Post(id, "a's " + name).ok());
  std::vector<std::vector<std::string>> before;
  for (auto& [name, id] : channels) before.push_back(Snapshot(*a.c, id));
  auto members_before = a->ListMembers(wsa->id);
  ASSERT_TRUE(members_before.ok());

  for (auto& [name, id] : channels) {
    const std::string on = " on A's " + name + " channel";
    ExpectCode(b->History(id), ErrorCode::kNotFound, "History" + on);
    ExpectCode(b->Sync(id, 0), ErrorCode::kNotFound, "Sync" + on);
    ExpectCode(b->Subscribe(id), ErrorCode::kNotFound, "Subscribe" + on);
    ExpectCode(b->Post(id, "intruder"), ErrorCode::kNotFound, "Post" + on);
    ExpectCode(b->JoinChannel(id), ErrorCode::kNotFound, "JoinChannel" + on);
    ExpectCode(b->EditMessage(id, 1, "defaced"), ErrorCode::kNotFound, "EditMessage" + on);
    ExpectCode(b->DeleteMessage(id, 1), ErrorCode::kNotFound, "DeleteMessage" + on);
    ExpectCode(b->AddChannelMember(id, b.id), ErrorCode::kNotFound, "AddChannelMember" + on);
    ExpectCode(b->UpdateChannel(id, true, true), ErrorCode::kNotFound, "UpdateChannel" + on);
  }
  ExpectCode(b->ListChannels(wsa->id), ErrorCode::kNotFound, "ListChannels on A");
  ExpectCode(b->ListMembers(wsa->id), ErrorCode::kNotFound, "ListMembers on A");
  ExpectCode(b->JoinWorkspace(wsa->id), ErrorCode::kNotFound, "JoinWorkspace on A");
  ExpectCode(b->CreateChannel(wsa->id, "hijack"), ErrorCode::kNotFound, "CreateChannel on A");
  ExpectCode(b->CreateInvite(wsa->id, Email("friend"), wire::Role::Member),
             ErrorCode::kNotFound, "CreateInvite on A");
  ExpectCode(b->ListAudit(wsa->id), ErrorCode::kNotFound, "ListAudit on A");

  // Nothing B did changed A.
  for (size_t i = 0; i < channels.size(); ++i) {
    EXPECT_EQ(Snapshot(*a.c, channels[i].second), before[i]) << channels[i].first;
  }
  auto listed = a->ListChannels(wsa->id);
  ASSERT_TRUE(listed.ok());
  for (auto& ch : *listed) {
    EXPECT_FALSE(ch.archived) << ch.name;
    EXPECT_FALSE(ch.announcement) << ch.name;
    EXPECT_EQ(ch.member_count, 1u) << ch.name;
  }
  auto members_after = a->ListMembers(wsa->id);
  ASSERT_TRUE(members_after.ok());
  EXPECT_EQ(members_after->size(), members_before->size());
  auto bws = b->ListWorkspaces();
  ASSERT_TRUE(bws.ok());
  ASSERT_EQ(bws->size(), 1u);
  EXPECT_EQ((*bws)[0].id, wsb->id);

  // A member of A outside the private channel: not_found there, and it is not listed.
  User m = SignIn("member");
  Invite(a, wsa->id, m);
  ExpectCode(m->History(priv->id), ErrorCode::kNotFound, "member History on private");
  ExpectCode(m->Sync(priv->id, 0), ErrorCode::kNotFound, "member Sync on private");
  ExpectCode(m->Post(priv->id, "hi"), ErrorCode::kNotFound, "member Post on private");
  ExpectCode(m->Subscribe(priv->id), ErrorCode::kNotFound, "member Subscribe on private");
  auto seen = m->ListChannels(wsa->id);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_FALSE(HasChannel(*seen, priv->id));
  EXPECT_TRUE(HasChannel(*seen, pub->id));
  EXPECT_EQ(Snapshot(*a.c, priv->id), before[1]);
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, InvitesAreForOneEmailSingleUseAndRevocable) {
  User owner = SignIn("owner");
  User admin = SignIn("admin");
  User bob = SignIn("bob");
  User carol = SignIn("carol");
  User dave = SignIn("dave");
  User erin = SignIn("erin");
  auto ws = owner->CreateWorkspace("Invites");
  ASSERT_TRUE(ws.ok());
  Invite(owner, ws->id, admin);
  ASSERT_TRUE(owner->SetMemberRole(ws->id, admin.id, wire::Role::Admin).ok());

  auto inv = admin->CreateInvite(ws->id, bob.email, wire::Role::Member);
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_FALSE(inv->token.empty());
  auto accepted = bob->AcceptInvite(inv->token);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted->id, ws->id);
  EXPECT_EQ(accepted->role, wire::Role::Member);
  auto members = owner->ListMembers(ws->id);
  ASSERT_TRUE(members.ok());
  bool found = false;
  for (auto& mi : *members) {
    if (mi.user_id == bob.id) {
      found = true;
      EXPECT_EQ(mi.role, wire::Role::Member);
      EXPECT_TRUE(mi.active);
    }
  }
  EXPECT_TRUE(found) << "bob not in ListMembers";
  auto chans = bob->ListChannels(ws->id);
  ASSERT_TRUE(chans.ok()) << chans.error().message;
  bool in_general = false;
  for (auto& ch : *chans) {
    if (ch.id == ws->general_channel_id) in_general = ch.is_member;
  }
  EXPECT_TRUE(in_general) << "bob is not a member of #general";
  ASSERT_TRUE(owner->Post(ws->general_channel_id, "welcome bob").ok());
  EXPECT_EQ(NextMessage(*bob.c, ws->general_channel_id).text, "welcome bob");

  ExpectCode(bob->AcceptInvite(inv->token), ErrorCode::kNotFound, "reusing an accepted token");

  auto for_carol = admin->CreateInvite(ws->id, carol.email, wire::Role::Member);
  ASSERT_TRUE(for_carol.ok());
  ExpectCode(dave->AcceptInvite(for_carol->token), ErrorCode::kForbidden,
             "dave accepting carol's invite");
  ExpectCode(dave->ListChannels(ws->id), ErrorCode::kNotFound, "dave after the refused invite");
  EXPECT_TRUE(carol->AcceptInvite(for_carol->token).ok()) << "carol's own invite still valid";

  auto for_erin = admin->CreateInvite(ws->id, erin.email, wire::Role::Member);
  ASSERT_TRUE(for_erin.ok());
  auto listed = admin->ListInvites(ws->id);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  bool listed_erin = false;
  for (auto& i : *listed) listed_erin |= i.id == for_erin->invite->id && i.email == for_erin->invite->email;
  EXPECT_TRUE(listed_erin) << [&] {
    std::string out = "created id " + std::to_string(for_erin->invite->id) + " email " +
                      for_erin->invite->email + "; listed:";
    for (auto& i : *listed) out += " {" + std::to_string(i.id) + " " + i.email + "}";
    return out;
  }();
  ASSERT_TRUE(admin->RevokeInvite(ws->id, for_erin->invite->id).ok());
  ExpectCode(erin->AcceptInvite(for_erin->token), ErrorCode::kNotFound, "accepting a revoked invite");
  ExpectCode(erin->ListChannels(ws->id), ErrorCode::kNotFound, "erin after the revoked invite");

  auto short_lived = admin->CreateInvite(ws->id, erin.email, wire::Role::Member, {}, 1);
  ASSERT_TRUE(short_lived.ok()) << short_lived.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ExpectCode(erin->AcceptInvite(short_lived->token), ErrorCode::kNotFound,
             "accepting an expired invite");

  ExpectCode(bob->ListInvites(ws->id), ErrorCode::kForbidden, "ListInvites by a member");
  ExpectCode(bob->RevokeInvite(ws->id, short_lived->invite->id), ErrorCode::kForbidden,
             "RevokeInvite by a member");
  ExpectCode(bob->CreateInvite(ws->id, Email("x"), wire::Role::Member), ErrorCode::kForbidden,
             "CreateInvite by a member");
  ExpectCode(admin->CreateInvite(ws->id, Email("g"), wire::Role::Guest),
             ErrorCode::kInvalidArgument, "guest invite without channels");
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, GuestsSeeOnlyTheirInvitedChannels) {
  User owner = SignIn("owner");
  User guest = SignIn("guest");
  auto ws = owner->CreateWorkspace("Guests");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner.c, ws->id);
  auto proj = owner->CreateChannel(ws->id, "proj");
  ASSERT_TRUE(proj.ok());
  auto other = owner->CreateChannel(ws->id, "other");
  ASSERT_TRUE(other.ok());
  auto accepted = Invite(owner, ws->id, guest, wire::Role::Guest, {proj->id});
  EXPECT_EQ(accepted.role, wire::Role::Guest);

  auto seen = guest->ListChannels(ws->id);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].id, proj->id);
  EXPECT_TRUE((*seen)[0].is_member);
  auto post = guest->Post(proj->id, "hello from a guest");
  ASSERT_TRUE(post.ok()) << post.error().message;
  auto page = owner->History(proj->id);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0]->author_id, guest.id);

  ExpectCode(guest->History(ws->general_channel_id), ErrorCode::kNotFound, "guest History #general");
  ExpectCode(guest->Post(ws->general_channel_id, "x"), ErrorCode::kNotFound, "guest Post #general");
  ExpectCode(guest->Subscribe(ws->general_channel_id), ErrorCode::kNotFound,
             "guest Subscribe #general");
  ExpectCode(guest->History(other->id), ErrorCode::kNotFound, "guest History other public");
  ExpectCode(guest->Post(other->id, "x"), ErrorCode::kNotFound, "guest Post other public");
  ExpectCode(guest->JoinChannel(other->id), ErrorCode::kNotFound, "guest JoinChannel public");
  ExpectCode(guest->JoinChannel(ws->general_channel_id), ErrorCode::kNotFound,
             "guest JoinChannel #general");
  ExpectCode(guest->CreateChannel(ws->id, "guestland"), ErrorCode::kForbidden,
             "guest CreateChannel");
  // Joining the (open) workspace again does not turn a guest into a member.
  (void)guest->JoinWorkspace(ws->id);
  ExpectCode(guest->History(ws->general_channel_id), ErrorCode::kNotFound,
             "guest History #general after JoinWorkspace");
  auto still = guest->ListChannels(ws->id);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->size(), 1u);
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, RolesAndOwnershipTransfer) {
  User owner = SignIn("owner");
  User bob = SignIn("bob");
  User carol = SignIn("carol");
  auto ws = owner->CreateWorkspace("Roles");
  ASSERT_TRUE(ws.ok());
  Invite(owner, ws->id, bob);
  Invite(owner, ws->id, carol);

  ExpectCode(carol->SetMemberRole(ws->id, bob.id, wire::Role::Admin), ErrorCode::kForbidden,
             "member SetMemberRole");
  ExpectCode(carol->SetMemberRole(ws->id, carol.id, wire::Role::Admin), ErrorCode::kForbidden,
             "member promoting themself");
  ExpectCode(bob->CreateInvite(ws->id, Email("x"), wire::Role::Member), ErrorCode::kForbidden,
             "member CreateInvite");
  ASSERT_TRUE(owner->SetMemberRole(ws->id, bob.id, wire::Role::Admin).ok());
  auto inv = bob->CreateInvite(ws->id, Email("x"), wire::Role::Member);
  EXPECT_TRUE(inv.ok()) << "admin CreateInvite: " << inv.error().message;
  ExpectCode(bob->SetMemberRole(ws->id, carol.id, wire::Role::Admin), ErrorCode::kForbidden,
             "admin SetMemberRole (owner only)");

  ASSERT_TRUE(owner->TransferOwnership(ws->id, bob.id).ok());
  auto bob_ws = bob->ListWorkspaces();
  ASSERT_TRUE(bob_ws.ok());
  ASSERT_EQ(bob_ws->size(), 1u);
  EXPECT_EQ((*bob_ws)[0].owner_id, bob.id);
  EXPECT_EQ((*bob_ws)[0].role, wire::Role::Owner);
  auto old_ws = owner->ListWorkspaces();
  ASSERT_TRUE(old_ws.ok());
  ASSERT_EQ(old_ws->size(), 1u);
  EXPECT_EQ((*old_ws)[0].owner_id, bob.id);
  EXPECT_EQ((*old_ws)[0].role, wire::Role::Admin);
  auto members = bob->ListMembers(ws->id);
  ASSERT_TRUE(members.ok());
  for (auto& mi : *members) {
    if (mi.user_id == bob.id) { EXPECT_EQ(mi.role, wire::Role::Owner); }
    if (mi.user_id == owner.id) { EXPECT_EQ(mi.role, wire::Role::Admin); }
    if (mi.user_id == carol.id) { EXPECT_EQ(mi.role, wire::Role::Member); }
  }
  // The old owner no longer has owner-only powers.
  ExpectCode(owner->SetMemberRole(ws->id, carol.id, wire::Role::Admin), ErrorCode::kForbidden,
             "former owner SetMemberRole");
  EXPECT_TRUE(bob->SetMemberRole(ws->id, carol.id, wire::Role::Admin).ok());
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, SettingsGovernPrivateChannelsAndAnnouncements) {
  User owner = SignIn("owner");
  User admin = SignIn("admin");
  User member = SignIn("member");
  auto ws = owner->CreateWorkspace("Settings");
  ASSERT_TRUE(ws.ok());
  Invite(owner, ws->id, admin);
  Invite(owner, ws->id, member);
  ASSERT_TRUE(owner->SetMemberRole(ws->id, admin.id, wire::Role::Admin).ok());

  wire::WorkspaceSettingsT s;
  s.members_create_private = false;
  auto updated = owner->UpdateWorkspaceSettings(ws->id, s);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  ExpectCode(member->UpdateWorkspaceSettings(ws->id, s), ErrorCode::kForbidden,
             "member UpdateWorkspaceSettings");
  ExpectCode(member->CreateChannel(ws->id, "secret", true), ErrorCode::kForbidden,
             "member private CreateChannel");
  auto admin_priv = admin->CreateChannel(ws->id, "secret", true);
  EXPECT_TRUE(admin_priv.ok()) << admin_priv.error().message;
  auto member_pub = member->CreateChannel(ws->id, "open-talk");
  EXPECT_TRUE(member_pub.ok()) << "member public CreateChannel: " << member_pub.error().message;

  auto news = owner->CreateChannel(ws->id, "news");
  ASSERT_TRUE(news.ok());
  ASSERT_TRUE(member->JoinChannel(news->id).ok());
  ASSERT_TRUE(admin->JoinChannel(news->id).ok());
  ExpectCode(member->UpdateChannel(news->id, std::nullopt, true), ErrorCode::kForbidden,
             "member UpdateChannel on another's channel");
  auto ann = owner->UpdateChannel(news->id, std::nullopt, true);
  ASSERT_TRUE(ann.ok()) << ann.error().message;
  EXPECT_TRUE(ann->announcement);
  ExpectCode(member->Post(news->id, "me too"), ErrorCode::kForbidden, "member Post announcement");
  EXPECT_TRUE(admin->Post(news->id, "from admin").ok());
  EXPECT_TRUE(owner->Post(news->id, "from owner").ok());

  s.members_post_announcements = true;
  ASSERT_TRUE(owner->UpdateWorkspaceSettings(ws->id, s).ok());
  auto post = member->Post(news->id, "now I may");
  EXPECT_TRUE(post.ok()) << post.error().message;
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, ArchivedChannelsAreReadOnly) {
  User owner = SignIn("owner");
  User member = SignIn("member");
  auto ws = owner->CreateWorkspace("Archive");
  ASSERT_TRUE(ws.ok());
  Invite(owner, ws->id, member);
  auto old = owner->CreateChannel(ws->id, "old");
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(member->JoinChannel(old->id).ok());
  ASSERT_TRUE(member->Post(old->id, "before").ok());
  auto archived = owner->UpdateChannel(old->id, true, std::nullopt);
  ASSERT_TRUE(archived.ok()) << archived.error().message;
  EXPECT_TRUE(archived->archived);
  ExpectCode(owner->Post(old->id, "x"), ErrorCode::kForbidden, "owner Post archived");
  ExpectCode(member->Post(old->id, "x"), ErrorCode::kForbidden, "member Post archived");
  auto page = member->History(old->id);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0]->text, "before");
  auto un = owner->UpdateChannel(old->id, false, std::nullopt);
  ASSERT_TRUE(un.ok()) << un.error().message;
  EXPECT_FALSE(un->archived);
  auto post = member->Post(old->id, "after");
  EXPECT_TRUE(post.ok()) << post.error().message;
  ExpectCode(owner->UpdateChannel(ws->general_channel_id, true, std::nullopt),
             ErrorCode::kForbidden, "archiving #general");
  EXPECT_TRUE(owner->Post(ws->general_channel_id, "general still open").ok());
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, EditByAuthorDeleteByAuthorOrAdmin) {
  User owner = SignIn("owner");
  User admin = SignIn("admin");
  User alice = SignIn("alice");
  User bob = SignIn("bob");
  auto ws = owner->CreateWorkspace("Edits");
  ASSERT_TRUE(ws.ok());
  Invite(owner, ws->id, admin);
  Invite(owner, ws->id, alice);
  Invite(owner, ws->id, bob);
  ASSERT_TRUE(owner->SetMemberRole(ws->id, admin.id, wire::Role::Admin).ok());
  const uint64_t general = ws->general_channel_id;

  auto ack = alice->Post(general, "helo");
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(NextMessage(*bob.c, general).text, "helo");
  auto edited = alice->EditMessage(general, ack->seq, "hello");
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  ASSERT_TRUE(edited->message);
  EXPECT_EQ(edited->message->text, "hello");
  EXPECT_EQ(edited->message->seq, ack->seq);
  EXPECT_GT(edited->message->edited_at_ms, 0);
  EXPECT_TRUE(edited->unknown_mentions.empty());
  auto ev = NextMatching(*bob.c, [](const wire::FrameT& f) { return f.body.AsMessageEdited(); });
  ASSERT_TRUE(ev.has_value());
  auto* me = ev->body.AsMessageEdited();
  EXPECT_EQ(me->channel_id, general);
  EXPECT_EQ(me->seq, ack->seq);
  EXPECT_EQ(me->text, "hello");
  EXPECT_EQ(me->by, alice.id);
  auto page = bob->History(general);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0]->text, "hello");
  EXPECT_GT(page->messages[0]->edited_at_ms, 0);

  ExpectCode(bob->EditMessage(general, ack->seq, "pwned"), ErrorCode::kForbidden,
             "non-author EditMessage");
  ExpectCode(admin->EditMessage(general, ack->seq, "pwned"), ErrorCode::kForbidden,
             "admin EditMessage of another's message");
  ExpectCode(bob->DeleteMessage(general, ack->seq), ErrorCode::kForbidden,
             "non-author member DeleteMessage");
  ASSERT_TRUE(admin->DeleteMessage(general, ack->seq).ok());
  auto del = NextMatching(*bob.c, [](const wire::FrameT& f) { return f.body.AsMessageDeleted(); });
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->body.AsMessageDeleted()->seq, ack->seq);
  EXPECT_EQ(del->body.AsMessageDeleted()->by, admin.id);
  page = bob->History(general);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_TRUE(page->messages[0]->deleted);
  EXPECT_EQ(page->messages[0]->text, "");
  EXPECT_EQ(page->messages[0]->seq, ack->seq);

  auto own = bob->Post(general, "mine");
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(bob->DeleteMessage(general, own->seq).ok()) << "author deleting own message";
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, DeactivationClosesConnectionsAndHidesTheWorkspace) {
  User owner = SignIn("owner");
  User admin = SignIn("admin");
  User bob = SignIn("bob");
  auto ws = owner->CreateWorkspace("Deact");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner.c, ws->id);
  Invite(owner, ws->id, admin);
  Invite(owner, ws->id, bob);
  ASSERT_TRUE(owner->SetMemberRole(ws->id, admin.id, wire::Role::Admin).ok());
  // A second connection of bob's, to see that every connection is closed.
  wire::LoginOkT bob2_login;
  auto bob2 = server_->SignedIn(bob.email, &bob2_login);
  ASSERT_TRUE(bob->History(ws->general_channel_id).ok());

  ASSERT_TRUE(admin->SetMemberActive(ws->id, bob.id, false).ok());
  for (wire::Client* c : {bob.c.get(), bob2.get()}) {
    bool saw_error = false;
    for (;;) {
      auto f = c->NextEvent(10000);
      if (!f.ok()) break;  // closed (or timed out: checked below)
      if (auto* err = f->body.AsError()) {
        saw_error = true;
        EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kUnauthenticated));
        EXPECT_EQ(err->details, "deactivated");
      }
    }
    EXPECT_TRUE(saw_error) << "no deactivated Error frame";
    EXPECT_TRUE(c->closed()) << "connection not closed";
  }
  auto members = owner->ListMembers(ws->id);
  ASSERT_TRUE(members.ok());
  for (auto& mi : *members) {
    if (mi.user_id == bob.id) { EXPECT_FALSE(mi.active); }
  }

  // Deactivation ended bob's sessions: their tokens no longer work.
  auto resume = server_->Connect();
  ExpectCode(resume->LoginWithToken(bob2_login.token), ErrorCode::kInvalidCredentials,
             "resuming a deactivated user's old session");
  auto refresh = server_->Connect();
  auto rotated = refresh->Refresh(bob2_login.refresh_token);
  EXPECT_FALSE(rotated.ok()) << "refresh token of an ended session still rotates";

  User again{server_->SignedIn(bob.email), bob.id, bob.email};
  ExpectCode(again->ListChannels(ws->id), ErrorCode::kNotFound, "deactivated ListChannels");
  ExpectCode(again->History(ws->general_channel_id), ErrorCode::kNotFound,
             "deactivated History #general");
  ExpectCode(again->Post(ws->general_channel_id, "x"), ErrorCode::kNotFound,
             "deactivated Post #general");
  ExpectCode(again->Subscribe(ws->general_channel_id), ErrorCode::kNotFound,
             "deactivated Subscribe #general");
  ExpectCode(again->JoinWorkspace(ws->id), ErrorCode::kForbidden,
             "deactivated JoinWorkspace on an open workspace");
  auto list = again->ListWorkspaces();
  ASSERT_TRUE(list.ok());
  for (auto& w : *list) EXPECT_NE(w.id, ws->id) << "ListWorkspaces shows the workspace";

  ASSERT_TRUE(admin->SetMemberActive(ws->id, bob.id, true).ok());
  auto page = again->History(ws->general_channel_id);
  EXPECT_TRUE(page.ok()) << "reactivated History: " << page.error().message;
  auto post = again->Post(ws->general_channel_id, "I'm back");
  EXPECT_TRUE(post.ok()) << "reactivated Post: " << post.error().message;
}

// ---------------------------------------------------------------------------------------------
TEST_F(AccessTest, AuditRecordsSecurityEvents) {
  User owner = SignIn("owner");
  User bob = SignIn("bob");
  User carol = SignIn("carol");
  User outsider = SignIn("outsider");
  auto ws = owner->CreateWorkspace("Audit");
  ASSERT_TRUE(ws.ok());
  Invite(owner, ws->id, bob);
  Invite(owner, ws->id, carol);
  ASSERT_TRUE(owner->SetMemberRole(ws->id, bob.id, wire::Role::Admin).ok());
  ASSERT_TRUE(bob->SetMemberActive(ws->id, carol.id, false).ok());
  // Members sign in again after joining.
  auto bob2 = server_->SignedIn(bob.email);

  auto audit = owner->ListAudit(ws->id, 200);
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  auto has = [&](const std::string& kind, uint64_t user, uint64_t actor) {
    for (auto& e : *audit) {
      if (e.kind == kind && e.user_id == user && (actor == 0 || e.actor_id == actor)) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("invite_accepted", bob.id, 0));
  EXPECT_TRUE(has("invite_accepted", carol.id, 0));
  EXPECT_TRUE(has("role_changed", bob.id, owner.id));
  EXPECT_TRUE(has("member_deactivated", carol.id, bob.id));
  EXPECT_TRUE(has("sign_in", bob.id, 0));
  EXPECT_FALSE(has("sign_in", outsider.id, 0)) << "an outsider's sign-in is in A's audit";
  for (auto& e : *audit) {
    EXPECT_TRUE(e.workspace_id == ws->id || e.workspace_id == 0) << e.kind;
  }

  auto by_admin = bob->ListAudit(ws->id);
  EXPECT_TRUE(by_admin.ok()) << "admin ListAudit";
  User member = SignIn("member");
  Invite(owner, ws->id, member);
  ExpectCode(member->ListAudit(ws->id), ErrorCode::kForbidden, "member ListAudit");
  ExpectCode(outsider->ListAudit(ws->id), ErrorCode::kNotFound, "outsider ListAudit");
}

}  // namespace
}  // namespace parley::testing
