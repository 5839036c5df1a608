// Search against a real three-shard parleyd: ranking, the query language's filters, snippets,
// edits and deletes, access control (at query time, across workspaces, for guests), channel and
// people searches, recent searches, restart and the rebuild of a missing or stale index.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

using Options = wire::Client::SearchOptions;

// A new index commit is searchable within about a second: poll until `done` holds (or 15 s).
wire::SearchResultsT SearchUntil(wire::Client& c, const std::string& query,
                                 const std::function<bool(const wire::SearchResultsT&)>& done,
                                 Options options = {}) {
  wire::SearchResultsT last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Search(query, options);
    if (!r.ok() && r.error().code == ErrorCode::kUnavailable) continue;  // a busy index: again
    if (!r.ok()) {
      ADD_FAILURE() << query << ": " << r.error().message;
      return last;
    }
    last = std::move(*r);
    if (done(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "search \"" << query << "\" never gave what the test waits for";
  return last;
}

// The seqs of a message search's results, waiting until there are `count` of them.
std::vector<uint64_t> SeqsOf(wire::Client& c, const std::string& query, size_t count,
                             Options options = {}) {
  auto r = SearchUntil(
      c, query, [&](const wire::SearchResultsT& r) { return r.messages.size() == count; },
      options);
  std::vector<uint64_t> seqs;
  for (const auto& m : r.messages) seqs.push_back(m->seq);
  return seqs;
}

// The seqs an immediate search returns (for what must hold at once, or never).
std::vector<uint64_t> SeqsNow(wire::Client& c, const std::string& query, Options options = {}) {
  auto r = c.Search(query, options);
  EXPECT_TRUE(r.ok()) << query << ": " << r.error().message;
  std::vector<uint64_t> seqs;
  if (r.ok()) {
    for (const auto& m : r->messages) seqs.push_back(m->seq);
  }
  return seqs;
}

uint64_t Posted(Person& p, uint64_t channel, const std::string& text) {
  auto ack = p->Post(channel, text);
  EXPECT_TRUE(ack.ok()) << ack.error().message;
  return ack.ok() ? ack->seq : 0;
}

std::string UtcDate(int64_t ms, int add_days = 0) {
  std::time_t t = static_cast<std::time_t>(ms / 1000 + int64_t{add_days} * 86400);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

void ExpectError(const Result<wire::SearchResultsT>& r, ErrorCode code, const std::string& part) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
}

class SearchTest : public MultiShardTest {
 protected:
  // A workspace of `owner`'s, on a shard of its own; `others` join it and #dev (public).
  struct Team {
    uint64_t ws = 0;
    uint64_t dev = 0;
  };
  static Team NewTeam(Person& owner, std::vector<Person*> others, const std::string& name) {
    Team t;
    t.ws = OpenNewWorkspace(owner, name).id;
    auto dev = owner->CreateChannel(t.ws, "dev");
    EXPECT_TRUE(dev.ok());
    t.dev = dev.ok() ? dev->id : 0;
    for (Person* p : others) {
      EXPECT_TRUE((*p)->JoinWorkspace(t.ws).ok());
      EXPECT_TRUE((*p)->JoinChannel(t.dev).ok());
    }
    return t;
  }
};

TEST_F(SearchTest, RanksTheBetterMatchFirstWithSnippetsAndWhereItWas) {
  Person ann = SignIn(*server_, "ann");
  Team team = NewTeam(ann, {}, "Ranking");
  Posted(ann, team.dev, "the deploy of the billing service failed last night, see the logs");
  uint64_t strong = Posted(ann, team.dev, "deploy deploy: the deploy is stuck again");
  Posted(ann, team.dev, "lunch at noon?");
  auto r = SearchUntil(*ann.client, "deploy",
                       [](const wire::SearchResultsT& r) { return r.messages.size() == 2; });
  ASSERT_EQ(r.messages.size(), 2u);
  const wire::MessageHitT& top = *r.messages[0];
  EXPECT_EQ(top.seq, strong);
  EXPECT_EQ(top.channel_id, team.dev);
  EXPECT_EQ(top.channel_name, "dev");
  EXPECT_EQ(top.workspace_id, team.ws);
  EXPECT_EQ(top.author_id, ann.id);
  EXPECT_GT(top.at_ms, 0);
  EXPECT_EQ(top.snippet, "deploy deploy: the deploy is stuck again");
  ASSERT_EQ(top.highlights.size(), 3u);
  EXPECT_EQ(top.snippet.substr(top.highlights[0].offset(), top.highlights[0].length()), "deploy");
  EXPECT_EQ(r.kind, wire::SearchKind::Messages);
  EXPECT_EQ(r.estimated_total, 2u);
  EXPECT_FALSE(r.has_more);
  // Sorted by date instead: the newest first.
  Options by_date;
  by_date.sort = wire::SearchSort::Date;
  EXPECT_EQ(SeqsNow(*ann.client, "deploy", by_date), (std::vector<uint64_t>{2, 1}));
}

TEST_F(SearchTest, WordsPhrasesPrefixesExclusionsAndOtherScripts) {
  Person ann = SignIn(*server_, "ann");
  Team team = NewTeam(ann, {}, "Language");
  uint64_t green = Posted(ann, team.dev, "the build is green again");
  uint64_t reversed = Posted(ann, team.dev, "green is the build");
  uint64_t kube = Posted(ann, team.dev, "Kubernetes upgrade finished");
  uint64_t japanese = Posted(ann, team.dev, "東京で会議があります");
  uint64_t german = Posted(ann, team.dev, "Größere Änderungen am Fahrplan");
  EXPECT_EQ(SeqsOf(*ann.client, "änderungen", 1), (std::vector<uint64_t>{german}));  // the last
  EXPECT_EQ(SeqsNow(*ann.client, "\"build is green\""), (std::vector<uint64_t>{green}));
  EXPECT_EQ(SeqsNow(*ann.client, "kube*"), (std::vector<uint64_t>{kube}));
  EXPECT_EQ(SeqsNow(*ann.client, "UPGRADES"), (std::vector<uint64_t>{kube}));  // stem, case
  EXPECT_EQ(SeqsNow(*ann.client, "build -again"), (std::vector<uint64_t>{reversed}));
  EXPECT_EQ(SeqsNow(*ann.client, "会議"), (std::vector<uint64_t>{japanese}));
  EXPECT_EQ(SeqsNow(*ann.client, "GRÖßERE"), (std::vector<uint64_t>{german}));
}

TEST_F(SearchTest, EveryFilter) {
  Person ann = SignIn(*server_, "ann");
  Person bob = SignIn(*server_, "bob");
  Team team = NewTeam(ann, {&bob}, "Filters");
  auto ops = ann->CreateChannel(team.ws, "ops");
  ASSERT_TRUE(ops.ok());
  uint64_t link = Posted(ann, team.dev, "runbook at https://example.com/runbook");
  uint64_t by_bob = Posted(bob, team.dev, "runbook updated");
  uint64_t in_ops = Posted(ann, ops->id, "runbook reviewed");
  ASSERT_TRUE(ann->AddReaction(team.dev, by_bob, "thumbsup").ok());
  ASSERT_TRUE(ann->Pin(ops->id, in_ops).ok());
  auto reply = bob->Reply(team.dev, link, "runbook question");
  ASSERT_TRUE(reply.ok());
  // Everything is indexed once the last change shows.
  SeqsOf(*ann.client, "runbook is:thread", 2);
  EXPECT_EQ(SeqsNow(*ann.client, "runbook has:link"), (std::vector<uint64_t>{link}));
  EXPECT_EQ(SeqsNow(*ann.client, "runbook has:reaction"), (std::vector<uint64_t>{by_bob}));
  EXPECT_EQ(SeqsOf(*ann.client, "runbook has:pin", 1), (std::vector<uint64_t>{in_ops}));
  EXPECT_EQ(SeqsNow(*ann.client, "runbook in:#ops"), (std::vector<uint64_t>{in_ops}));
  EXPECT_EQ(SeqsNow(*ann.client, "in:#dev has:reaction"), (std::vector<uint64_t>{by_bob}));
  Options by_date;
  by_date.sort = wire::SearchSort::Date;
  // from: by email, by name, by id, and me.
  std::vector<uint64_t> bobs = {reply->seq, by_bob};
  EXPECT_EQ(SeqsNow(*ann.client, "runbook from:@" + bob.email, by_date), bobs);
  EXPECT_EQ(SeqsNow(*ann.client, "runbook from:@" + std::to_string(bob.id), by_date), bobs);
  EXPECT_EQ(SeqsNow(*bob.client, "runbook from:me", by_date), bobs);
  ASSERT_TRUE(bob->UpdateProfile("Bobby Tables").ok());
  EXPECT_EQ(SeqsNow(*ann.client, "runbook from:\"bobby tables\"", by_date), bobs);
  EXPECT_EQ(SeqsNow(*ann.client, "from:@bobby", by_date), bobs);
  // Dates, by the day of the first post in UTC (the default zone).
  auto first = ann->Search("runbook has:link");
  ASSERT_TRUE(first.ok() && first->messages.size() == 1);
  int64_t at = first->messages[0]->at_ms;
  EXPECT_EQ(SeqsNow(*ann.client, "has:link on:" + UtcDate(at)), (std::vector<uint64_t>{link}));
  EXPECT_TRUE(SeqsNow(*ann.client, "has:link before:" + UtcDate(at)).empty());
  EXPECT_EQ(SeqsNow(*ann.client, "has:link before:" + UtcDate(at, 1)),
            (std::vector<uint64_t>{link}));
  EXPECT_TRUE(SeqsNow(*ann.client, "has:link after:" + UtcDate(at)).empty());
  EXPECT_EQ(SeqsNow(*ann.client, "has:link after:" + UtcDate(at, -1)),
            (std::vector<uint64_t>{link}));
  // In a zone 14 hours ahead of UTC, the post falls on the day after its UTC day or on it.
  Options kiribati;
  kiribati.time_zone = "Pacific/Kiritimati";
  auto local = ann->Search("has:link on:" + UtcDate(at + 14 * 3600 * 1000), kiribati);
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_EQ(local->messages.size(), 1u);
}

TEST_F(SearchTest, InAPersonSearchesTheDirectConversation) {
  Person ann = SignIn(*server_, "ann");
  Person bob = SignIn(*server_, "bob");
  Person cy = SignIn(*server_, "cy");
  Team team = NewTeam(ann, {&bob, &cy}, "Direct");
  auto dm = ann->OpenConversation(team.ws, {bob.id});
  ASSERT_TRUE(dm.ok());
  auto other = ann->OpenConversation(team.ws, {cy.id});
  ASSERT_TRUE(other.ok());
  uint64_t said = Posted(bob, dm->id, "the salary review is friday");
  Posted(ann, other->id, "the salary review? no idea");
  Posted(ann, team.dev, "salary review policy is on the wiki");
  SeqsOf(*ann.client, "salary", 3);
  auto r = ann->Search("salary in:@" + bob.email);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->messages[0]->seq, said);
  EXPECT_EQ(r->messages[0]->channel_id, dm->id);
  EXPECT_EQ(r->messages[0]->channel_name, "");  // a conversation has no name
  // Cy is in none of Ann and Bob's conversation.
  EXPECT_TRUE(SeqsNow(*cy.client, "salary in:@" + bob.email).empty());
  EXPECT_EQ(SeqsNow(*cy.client, "salary").size(), 2u);
}

TEST_F(SearchTest, EditsAndDeletesTakeEffect) {
  Person ann = SignIn(*server_, "ann");
  Team team = NewTeam(ann, {}, "Edits");
  uint64_t edited = Posted(ann, team.dev, "standup moved to three");
  uint64_t deleted = Posted(ann, team.dev, "standup cancelled");
  SeqsOf(*ann.client, "standup", 2);
  ASSERT_TRUE(ann->EditMessage(team.dev, edited, "retro moved to four").ok());
  ASSERT_TRUE(ann->DeleteMessage(team.dev, deleted).ok());
  EXPECT_TRUE(SeqsOf(*ann.client, "standup", 0).empty());
  EXPECT_EQ(SeqsOf(*ann.client, "retro", 1), (std::vector<uint64_t>{edited}));
  auto r = ann->Search("retro");
  ASSERT_TRUE(r.ok() && r->messages.size() == 1);
  EXPECT_EQ(r->messages[0]->snippet, "retro moved to four");
}

TEST_F(SearchTest, OnlyWhatTheAskerMayReadAtQueryTime) {
  Person ann = SignIn(*server_, "ann");
  Person bob = SignIn(*server_, "bob");
  Person eve = SignIn(*server_, "eve");
  Team team = NewTeam(ann, {&bob, &eve}, "Access");
  auto secret = ann->CreateChannel(team.ws, "secret", true);
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(ann->AddChannelMember(secret->id, bob.id).ok());
  uint64_t plan = Posted(ann, secret->id, "acquisition plan for next quarter");
  Posted(ann, team.dev, "quarter planning in the usual room");
  EXPECT_EQ(SeqsOf(*bob.client, "quarter", 2).size(), 2u);
  EXPECT_EQ(SeqsOf(*eve.client, "quarter", 1), (std::vector<uint64_t>{1}));  // #dev only
  EXPECT_TRUE(SeqsNow(*eve.client, "acquisition").empty());
  ExpectError(eve->Search("plan in:#secret"), ErrorCode::kNotFound, "#secret");
  // Removed from the private channel: its messages are gone from Bob's results at once.
  EXPECT_EQ(SeqsNow(*bob.client, "acquisition"), (std::vector<uint64_t>{plan}));
  ASSERT_TRUE(ann->RemoveChannelMember(secret->id, bob.id).ok());
  EXPECT_TRUE(SeqsNow(*bob.client, "acquisition").empty());
  // Leaving a public channel too: reading it takes membership.
  ASSERT_TRUE(eve->LeaveChannel(team.dev).ok());
  EXPECT_TRUE(SeqsNow(*eve.client, "quarter").empty());
  // Deactivated in the workspace (which ends Bob's sessions): nothing of it.
  EXPECT_EQ(SeqsNow(*bob.client, "quarter"), (std::vector<uint64_t>{1}));
  ASSERT_TRUE(ann->SetMemberActive(team.ws, bob.id, false).ok());
  bob = SignIn(*server_, "bob");
  EXPECT_TRUE(SeqsNow(*bob.client, "quarter").empty());
}

TEST_F(SearchTest, OtherWorkspacesAndGuests) {
  Person ann = SignIn(*server_, "ann");
  Person zed = SignIn(*server_, "zed");
  Team mine = NewTeam(ann, {}, "Mine");
  Team theirs = NewTeam(zed, {}, "Theirs");
  Posted(ann, mine.dev, "the migration is done");
  Posted(zed, theirs.dev, "the migration is late");
  EXPECT_EQ(SeqsOf(*ann.client, "migration", 1).size(), 1u);
  auto r = ann->Search("migration");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->messages[0]->workspace_id, mine.ws);
  ExpectError(ann->Search("migration in:#nowhere"), ErrorCode::kNotFound, "#nowhere");
  // Someone Ann shares no workspace with is nobody to her filters: the answer is the same as
  // for an address nobody has, so it tells nothing of who exists.
  ExpectError(ann->Search("migration from:@" + zed.email), ErrorCode::kNotFound, "zed-");
  ExpectError(ann->Search("migration from:@" + Email("nobody")), ErrorCode::kNotFound, "nobody");
  // A guest of Ann's workspace sees only the channel they were invited to.
  auto ops = ann->CreateChannel(mine.ws, "ops");
  ASSERT_TRUE(ops.ok());
  Posted(ann, ops->id, "migration runbook for ops");
  std::string email = Email("guest");
  auto invite = ann->CreateInvite(mine.ws, email, wire::Role::Guest, {ops->id});
  ASSERT_TRUE(invite.ok()) << invite.error().message;
  auto guest = server_->SignedIn(email);
  ASSERT_TRUE(guest->AcceptInvite(invite->token).ok());
  auto seen = SearchUntil(*guest, "migration",
                          [](const wire::SearchResultsT& r) { return r.messages.size() == 1; });
  ASSERT_EQ(seen.messages.size(), 1u);
  EXPECT_EQ(seen.messages[0]->channel_id, ops->id);
  // Channel and people searches: the guest sees only their channel and its people.
  Options channels;
  channels.kind = wire::SearchKind::Channels;
  auto visible = guest->Search("dev", channels);
  ASSERT_TRUE(visible.ok());
  EXPECT_TRUE(visible->channels.empty());
  Options people;
  people.kind = wire::SearchKind::People;
  auto zeds = guest->Search("zed", people);
  ASSERT_TRUE(zeds.ok());
  EXPECT_TRUE(zeds->people.empty());
}

TEST_F(SearchTest, ChannelsAndPeopleAreTheirOwnKinds) {
  Person ann = SignIn(*server_, "ann");
  Person bob = SignIn(*server_, "bob");
  Person zed = SignIn(*server_, "zed");
  Team team = NewTeam(ann, {&bob}, "Kinds");
  NewTeam(zed, {}, "Elsewhere");
  auto deploys = ann->CreateChannel(team.ws, "backend-deploys");
  ASSERT_TRUE(deploys.ok());
  auto hidden = ann->CreateChannel(team.ws, "deploy-keys", true);
  ASSERT_TRUE(hidden.ok());
  ASSERT_TRUE(ann->SetChannelDetails(team.dev, std::nullopt, "who deploys this week",
                                     std::nullopt).ok());
  ASSERT_TRUE(bob->UpdateProfile("Bob Stone", "Deploy engineer").ok());
  ASSERT_TRUE(zed->UpdateProfile("Zed Deploy", "").ok());
  Options channels;
  channels.kind = wire::SearchKind::Channels;
  auto found = SearchUntil(
      *bob.client, "deploys",
      [](const wire::SearchResultsT& r) { return r.channels.size() == 2; }, channels);
  ASSERT_EQ(found.channels.size(), 2u);
  EXPECT_EQ(found.channels[0]->name, "backend-deploys");  // the name weighs most
  EXPECT_FALSE(found.channels[0]->is_member);
  EXPECT_EQ(found.channels[1]->channel_id, team.dev);
  EXPECT_TRUE(found.channels[1]->is_member);
  EXPECT_EQ(found.channels[1]->topic, "who deploys this week");
  // The private channel only for its members.
  auto own = SearchUntil(
      *ann.client, "keys", [](const wire::SearchResultsT& r) { return !r.channels.empty(); },
      channels);
  ASSERT_EQ(own.channels.size(), 1u);
  EXPECT_TRUE(own.channels[0]->is_private);
  EXPECT_TRUE(bob->Search("keys", channels)->channels.empty());
  // People: by name and title, only those who share a workspace.
  Options people;
  people.kind = wire::SearchKind::People;
  auto engineers = SearchUntil(
      *ann.client, "deploy", [](const wire::SearchResultsT& r) { return !r.people.empty(); },
      people);
  ASSERT_EQ(engineers.people.size(), 1u);
  EXPECT_EQ(engineers.people[0]->user_id, bob.id);
  EXPECT_EQ(engineers.people[0]->title, "Deploy engineer");
  EXPECT_EQ(SeqsNow(*ann.client, "deploy").size(), 0u);  // no messages say it
  ExpectError(ann->Search("deploy in:#dev", people), ErrorCode::kInvalidArgument, "filters");
}

TEST_F(SearchTest, RecentSearches) {
  Person ann = SignIn(*server_, "ann");
  NewTeam(ann, {}, "Recent");
  for (std::string q : {"alpha", "beta", "alpha", "  gamma  "}) ASSERT_TRUE(ann->Search(q).ok());
  Options second_page;
  second_page.offset = 20;
  ASSERT_TRUE(ann->Search("not remembered", second_page).ok());
  auto list = ann->ListRecentSearches();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> queries;
  for (const auto& s : list->searches) queries.push_back(s->query);
  EXPECT_EQ(queries, (std::vector<std::string>{"gamma", "alpha", "beta"}));
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(ann->Search("q" + std::to_string(i)).ok());
  list = ann->ListRecentSearches();
  ASSERT_EQ(list->searches.size(), 20u);
  EXPECT_EQ(list->searches[0]->query, "q24");
  ASSERT_TRUE(ann->ClearRecentSearches().ok());
  EXPECT_TRUE(ann->ListRecentSearches()->searches.empty());
}

TEST_F(SearchTest, BadQueriesAreClearErrors) {
  Person ann = SignIn(*server_, "ann");
  NewTeam(ann, {}, "Errors");
  ExpectError(ann->Search(""), ErrorCode::kInvalidArgument, "empty");
  ExpectError(ann->Search("x has:star"), ErrorCode::kInvalidArgument, "has:star");
  ExpectError(ann->Search("x on:2026-02-30"), ErrorCode::kInvalidArgument, "2026-02-30");
  ExpectError(ann->Search(std::string(1001, 'a')), ErrorCode::kInvalidArgument, "1000");
  ExpectError(ann->Search("x from:@nobody-at-all"), ErrorCode::kNotFound, "nobody-at-all");
  ExpectError(ann->Search("x after:2026-01-02 before:2026-01-02"), ErrorCode::kInvalidArgument,
              "no day");
  Options zone;
  zone.time_zone = "Mars/Olympus";
  ExpectError(ann->Search("x", zone), ErrorCode::kInvalidArgument, "Mars/Olympus");
  Options deep;
  deep.offset = 10'001;
  auto refused = ann->Search("x", deep);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(SeqsNow(*ann.client, "before:1970-01-01").empty());
  Options many;
  many.limit = 5000;
  EXPECT_TRUE(ann->Search("x", many).ok());  // accepted; search_index_test checks the cap of 100
  // The connection still works.
  EXPECT_TRUE(ann->Search("x").ok());
}

TEST_F(SearchTest, PagesFollowOneAnother) {
  Person ann = SignIn(*server_, "ann");
  Team team = NewTeam(ann, {}, "Pages");
  for (int i = 0; i < 7; ++i) Posted(ann, team.dev, "weekly report " + std::to_string(i));
  SeqsOf(*ann.client, "weekly", 7);
  Options page;
  page.sort = wire::SearchSort::Date;
  page.limit = 3;
  std::vector<uint64_t> all;
  for (int i = 0; i < 5; ++i) {
    auto r = ann->Search("weekly", page);
    ASSERT_TRUE(r.ok());
    for (const auto& m : r->messages) all.push_back(m->seq);
    if (!r->has_more) break;
    page.offset = r->next_offset;
  }
  EXPECT_EQ(all, (std::vector<uint64_t>{7, 6, 5, 4, 3, 2, 1}));
}

// Restarts: an index committed before a SIGKILL serves after it, a deleted index is rebuilt at
// start from the log, and one of another format is rebuilt too.
TEST(SearchRestartTest, SurvivesRestartsAndRebuildsMissingOrStaleIndexes) {
  TestServer server(ThreeShards());
  server.Start();
  Person ann = SignIn(server, "ann");
  auto ws = OpenNewWorkspace(ann, "Restart");
  auto dev = ann->CreateChannel(ws.id, "dev");
  ASSERT_TRUE(dev.ok());
  Options all;
  all.limit = 50;
  for (int i = 0; i < 20; ++i) Posted(ann, dev->id, "invoice number " + std::to_string(i));
  SeqsOf(*ann.client, "invoice", 20, all);

  server.Restart();  // SIGKILL
  ann = SignIn(server, "ann");
  EXPECT_EQ(SeqsOf(*ann.client, "invoice", 20, all).size(), 20u);
  Posted(ann, dev->id, "invoice after the restart");
  EXPECT_EQ(SeqsOf(*ann.client, "invoice", 21, all).size(), 21u);

  server.Kill();
  std::filesystem::remove_all(server.data_dir() + "/search");
  server.Start();
  ann = SignIn(server, "ann");
  auto rebuilt = SearchUntil(
      *ann.client, "invoice",
      [](const wire::SearchResultsT& r) { return r.messages.size() == 21 && !r.indexing; },
      all);
  EXPECT_EQ(rebuilt.messages.size(), 21u);
}

}  // namespace
}  // namespace parley::testing
