// Message retention against a real three-shard parleyd. The server's clock cannot be moved, so
// it runs with --retention_unit_s=1: a retention of N "days" is N seconds, and the sweep's rules
// (the same code as in production, with a shorter unit) can be watched within seconds.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

constexpr uint32_t kRetentionUnits = 3;  // seconds, with --retention_unit_s=1

std::vector<uint64_t> HistorySeqs(Person& p, uint64_t channel) {
  auto page = p->History(channel);
  EXPECT_TRUE(page.ok()) << page.error().message;
  std::vector<uint64_t> seqs;
  if (page.ok()) {
    for (const auto& m : page->messages) seqs.push_back(m->seq);
  }
  return seqs;
}

// The seqs a message search finds once `done` holds (the index follows the log within about a
// second); a failure after 15 s.
std::vector<uint64_t> SearchUntil(Person& p, const std::string& query,
                                  const std::function<bool(const std::vector<uint64_t>&)>& done) {
  std::vector<uint64_t> seqs;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = p->Search(query);
    if (r.ok()) {
      seqs.clear();
      for (const auto& m : r->messages) seqs.push_back(m->seq);
      if (done(seqs)) return seqs;
    } else if (r.error().code != ErrorCode::kUnavailable) {
      ADD_FAILURE() << query << ": " << r.error().message;
      return seqs;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "search \"" << query << "\" never gave what the test waits for";
  return seqs;
}

TEST(RetentionServerTest, OnlyAdminsSetItWithinBounds) {
  TestServer server(ThreeShards());
  server.Start();
  Person alice = SignIn(server, "alice");
  Person bob = SignIn(server, "bob");
  wire::WorkspaceInfoT ws = OpenNewWorkspace(alice, "Acme");
  ASSERT_TRUE(bob->JoinWorkspace(ws.id).ok());

  auto set = alice->SetRetention(ws.id, 30);
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_TRUE(set->settings && set->settings->retention_days.has_value());
  EXPECT_EQ(set->settings->retention_days.value(), 30u);
  EXPECT_TRUE(set->settings->join_open);  // the other settings are kept

  auto by_member = bob->SetRetention(ws.id, 1);
  ASSERT_FALSE(by_member.ok());
  EXPECT_EQ(by_member.error().code, ErrorCode::kForbidden);
  auto too_long = alice->SetRetention(ws.id, 3651);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(too_long.error().details, "retention_days");

  auto listed = bob->ListWorkspaces();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].settings->retention_days.value_or(0), 30u);
}

// Old messages leave history, search, pins and threads; subscribers are told; a new post takes
// the next seq; and a restart (replay of the log) shows the same.
TEST(RetentionServerTest, TheSweepExpiresOldMessagesDurably) {
  TestServer server(ThreeShards({"--retention_unit_s=1"}));
  server.Start();
  Person alice = SignIn(server, "alice");
  Person bob = SignIn(server, "bob");
  wire::WorkspaceInfoT ws = OpenNewWorkspace(alice, "Acme");
  ASSERT_TRUE(bob->JoinWorkspace(ws.id).ok());
  const uint64_t general = ws.general_channel_id;
  ASSERT_TRUE(bob->Subscribe(general).ok());

  auto old1 = alice->Post(general, "quokka report one");
  auto old2 = alice->Post(general, "quokka report two");
  ASSERT_TRUE(old1.ok() && old2.ok());
  ASSERT_TRUE(alice->Pin(general, old1->seq).ok());
  ASSERT_TRUE(bob->Reply(general, old1->seq, "quokka reply").ok());
  SearchUntil(alice, "quokka", [](const auto& seqs) { return seqs.size() == 3; });
  // The old ones are past the retention once it is set; "fresh" stays for kRetentionUnits more.
  std::this_thread::sleep_for(std::chrono::milliseconds(kRetentionUnits * 1000 + 200));
  auto fresh = alice->Post(general, "quokka fresh");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(alice->SetRetention(ws.id, kRetentionUnits).ok());

  auto expired = NextMatching(*bob.client, [](wire::FrameT& f) {
    return f.body.AsMessagesExpired() != nullptr;
  });
  ASSERT_TRUE(expired.has_value());
  const wire::MessagesExpiredT& e = *expired->body.AsMessagesExpired();
  EXPECT_EQ(e.channel_id, general);
  EXPECT_EQ(e.from_seq, 1u);
  EXPECT_EQ(e.up_to_seq, fresh->seq - 1);  // both posts and the reply
  EXPECT_GT(e.at_ms, 0);

  EXPECT_EQ(HistorySeqs(alice, general), std::vector<uint64_t>{fresh->seq});
  auto pins = alice->ListPins(general);
  ASSERT_TRUE(pins.ok());
  EXPECT_TRUE(pins->pins.empty());
  auto thread = alice->ThreadHistory(general, old1->seq);
  ASSERT_FALSE(thread.ok());
  EXPECT_EQ(thread.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(SearchUntil(alice, "quokka", [](const auto& seqs) { return seqs.size() == 1; }),
            std::vector<uint64_t>{fresh->seq});

  server.Restart();
  Person again = SignIn(server, "alice");
  std::vector<uint64_t> after_restart = HistorySeqs(again, general);
  for (uint64_t seq : after_restart) EXPECT_GT(seq, e.up_to_seq);  // "fresh" may be gone too
  auto next = again->Post(general, "after the restart");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, fresh->seq + 1);  // seqs are never reused
  auto found = again->Search("quokka report");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->messages.empty());
}

}  // namespace
}  // namespace parley::testing
