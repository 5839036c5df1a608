// What the log promises, against a real parleyd killed with SIGKILL: every acknowledged message
// comes back exactly once and in order; retried client message ids stay deduplicated across
// restarts; a reconnecting client resumes from its last seq; parleyd refuses a bad data dir.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "persist/data_dir.h"
#include "tests/test_server.h"

namespace parley::testing {
namespace {

constexpr const char* kOwner = "owner@example.com";

struct Fixture {
  uint64_t workspace = 0;
  uint64_t channel = 0;
};

Fixture MakeWorkspace(TestServer& server) {
  auto c = server.SignedIn(kOwner);
  auto ws = c->CreateWorkspace("Durable");
  if (!ws.ok()) throw std::runtime_error("CreateWorkspace: " + ws.error().message);
  OpenWorkspace(*c, ws->id);
  return {ws->id, ws->general_channel_id};
}

TEST(DurabilityTest, AcknowledgedMessagesSurviveKillNineExactlyOnceInOrder) {
  TestServer server;
  server.Start();
  Fixture f = MakeWorkspace(server);
  uint64_t acked = 0;
  for (int round = 0; round < 3; ++round) {
    // Several writers on several connections; the server dies while they write.
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    std::vector<std::vector<std::string>> acked_texts(4);
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        std::unique_ptr<wire::Client> c;
        try {
          c = server.SignedIn(kOwner);
        } catch (const std::exception&) {
          return;  // the server died before this writer signed in
        }
        for (int i = 0; !stop.load(); ++i) {
          std::string text =
              "r" + std::to_string(round) + "w" + std::to_string(w) + "i" + std::to_string(i);
          if (!c->Post(f.channel, text).ok()) return;
          acked_texts[w].push_back(text);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    server.Kill();
    stop = true;
    for (auto& t : writers) t.join();
    server.Start();
    auto c = server.SignedIn(kOwner);
    // Everything in the channel, oldest first.
    std::vector<std::string> all;
    uint64_t after = 0;
    for (;;) {
      auto page = c->Sync(f.channel, after, 200);
      ASSERT_TRUE(page.ok()) << page.error().message;
      for (auto& m : page->messages) {
        EXPECT_EQ(m->seq, after + 1);
        after = m->seq;
        all.push_back(m->text);
      }
      if (!page->has_more) break;
    }
    // Each writer's acknowledged posts appear exactly once, in the order it sent them.
    for (auto& texts : acked_texts) {
      size_t pos = 0;
      for (const std::string& t : texts) {
        size_t found =
            std::find(all.begin() + static_cast<ptrdiff_t>(pos), all.end(), t) - all.begin();
        ASSERT_LT(found, all.size()) << "lost acknowledged message " << t;
        EXPECT_EQ(std::count(all.begin(), all.end(), t), 1) << t;
        pos = found + 1;
      }
      acked += texts.size();
    }
  }
  EXPECT_GT(acked, 0u);
  std::printf("kill -9: 3 kills, %llu acknowledged messages, 0 lost\n",
              static_cast<unsigned long long>(acked));
}

TEST(DurabilityTest, RetriedClientMessageIdPostsOnceEvenAcrossRestart) {
  TestServer server;
  server.Start();
  Fixture f = MakeWorkspace(server);
  auto c = server.SignedIn(kOwner);
  auto first = c->Post(f.channel, "exactly once", "client-id-1");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  auto retry = c->Post(f.channel, "exactly once", "client-id-1");
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, first->seq);
  EXPECT_EQ(retry->message_id, first->message_id);
  server.Restart();
  auto c2 = server.SignedIn(kOwner);
  auto after_restart = c2->Post(f.channel, "exactly once", "client-id-1");
  ASSERT_TRUE(after_restart.ok());
  EXPECT_TRUE(after_restart->duplicate);
  EXPECT_EQ(after_restart->seq, first->seq);
  // Another user may use the same client id: ids are per author.
  auto other = server.SignedIn("other@example.com");
  ASSERT_TRUE(other->JoinWorkspace(f.workspace).ok());
  auto theirs = other->Post(f.channel, "mine", "client-id-1");
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->duplicate);
  auto page = c2->History(f.channel);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 2u);
}

TEST(DurabilityTest, ReconnectingClientSyncsExactlyWhatItMissed) {
  TestServer server;
  server.Start();
  Fixture f = MakeWorkspace(server);
  auto poster = server.SignedIn(kOwner);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(poster->Post(f.channel, "before " + std::to_string(i)).ok());
  uint64_t last_seen = 0;
  {
    wire::LoginOkT login;
    auto reader = server.SignedIn("reader@example.com", &login);
    ASSERT_TRUE(reader->JoinWorkspace(f.workspace).ok());
    auto page = reader->History(f.channel);
    last_seen = page->messages.back()->seq;
  }  // the reader disconnects
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(poster->Post(f.channel, "missed " + std::to_string(i)).ok());
  server.Restart();  // also across a restart
  wire::LoginOkT login;
  auto reader = server.SignedIn("reader@example.com", &login);
  // LoginOk tells the newest seq of every channel: the reader sees it is behind.
  bool found = false;
  for (auto& cursor : login.channels) {
    if (cursor->channel_id == f.channel) {
      EXPECT_EQ(cursor->last_seq, last_seen + 5);
      found = true;
    }
  }
  EXPECT_TRUE(found);
  auto missed = reader->Sync(f.channel, last_seen, 200);
  ASSERT_TRUE(missed.ok());
  ASSERT_EQ(missed->messages.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(missed->messages[i]->seq, last_seen + 1 + i);
    EXPECT_EQ(missed->messages[i]->text, "missed " + std::to_string(i));
  }
  EXPECT_FALSE(missed->has_more);
  // Live again: the next post arrives as an event with the next seq.
  auto poster2 = server.SignedIn(kOwner);
  ASSERT_TRUE(poster2->Post(f.channel, "live").ok());
  for (;;) {
    auto e = reader->NextEvent(10000);
    ASSERT_TRUE(e.ok());
    if (auto* p = e->body.AsMessagePosted()) {
      EXPECT_EQ(p->message->seq, last_seen + 6);
      break;
    }
  }
}

TEST(DurabilityTest, GracefulStopKeepsEverythingAndRestartsClean) {
  TestServer server;
  server.Start();
  Fixture f = MakeWorkspace(server);
  auto c = server.SignedIn(kOwner);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c->Post(f.channel, std::to_string(i)).ok());
  server.Terminate();
  server.Start();
  auto page = server.SignedIn(kOwner)->History(f.channel, 0, 0, 200);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 50u);
}

// SIGTERM while requests are in flight: whatever the server took on is acknowledged before it
// exits, so after a restart the channel holds exactly the acknowledged messages.
TEST(DurabilityTest, GracefulStopAcknowledgesEverythingItCommitted) {
  // Pipelines more than the default requests in flight per connection (1,024).
  TestServer server({2, "sync", {"--max_inflight_requests=4096"}});
  server.Start();
  Fixture f = MakeWorkspace(server);
  auto c = server.SignedIn(kOwner);
  const int kPosts = 3000;
  wire::Bytes batch;
  for (int i = 0; i < kPosts; ++i) {
    flatbuffers::FlatBufferBuilder fbb;
    auto post = wire::CreatePostMessageDirect(fbb, f.channel, "", std::to_string(i).c_str());
    wire::Bytes frame = wire::FinishFrame(fbb, 1000 + i, wire::Body::PostMessage, post.Union());
    batch.insert(batch.end(), frame.begin(), frame.end());
  }
  ASSERT_TRUE(c->SendRaw(batch.data(), batch.size()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  kill(server.pid(), SIGTERM);
  uint64_t acks = 0, refused = 0;
  for (;;) {
    auto frame = c->ReadFrame(10000);
    if (!frame.ok()) break;
    if (frame->body.AsPostAck()) ++acks;
    if (auto* e = frame->body.AsError()) {
      EXPECT_EQ(e->code, static_cast<uint16_t>(ErrorCode::kUnavailable));
      ++refused;
    }
  }
  server.Terminate();
  server.Start();
  auto page = server.SignedIn(kOwner)->Sync(f.channel, 0, 200);
  ASSERT_TRUE(page.ok());
  std::printf("graceful stop: %llu acknowledged, %llu refused, of %d pipelined\n",
              static_cast<unsigned long long>(acks), static_cast<unsigned long long>(refused),
              kPosts);
  EXPECT_GT(acks, 0u);
  EXPECT_EQ(page->last_seq, acks) << "refused " << refused;
}

TEST(DurabilityTest, ParleydRefusesDataDirectoriesItCannotServe) {
  std::string err;
  EXPECT_NE(RunParleyd({"--data_dir=/tmp/parley-does-not-exist-xyz", "--port=0"}, &err), 0);
  EXPECT_NE(err.find("parley-admin init"), std::string::npos) << err;

  char tmpl[] = "/tmp/parley-refuse-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  EXPECT_NE(RunParleyd({"--data_dir=" + dir, "--port=0"}, &err), 0);  // empty: uninitialised
  EXPECT_NE(err.find("parley-admin init"), std::string::npos) << err;

  std::string data = dir + "/data";
  ASSERT_TRUE(persist::InitDataDir(data, 2).ok());
  EXPECT_NE(RunParleyd({"--data_dir=" + data, "--port=0", "--shards=3"}, &err), 0);
  EXPECT_NE(err.find("2"), std::string::npos) << err;
  EXPECT_NE(err.find("parley-admin init"), std::string::npos) << err;
  EXPECT_NE(RunParleyd({"--data_dir=" + data, "--port=0", "--durability=maybe"}, &err), 0);
  EXPECT_NE(err.find("--durability"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::testing
