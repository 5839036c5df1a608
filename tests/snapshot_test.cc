// Snapshots against a real parleyd: those it writes while serving and at a graceful stop equal a
// full replay of its log (loaded, then the tail applied), a restart loads the newest one and
// replays only what follows it, and a SIGKILL after snapshots loses nothing acknowledged.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/snapshot.h"
#include "tests/test_server.h"

namespace parley::testing {
namespace {

constexpr uint32_t kShards = 2;

// The value of "key":"..." in the newest log line holding "msg":"ready".
std::string ReadyField(const TestServer& server, const std::string& key) {
  std::ifstream in(server.data_dir() + "/../parleyd.log");
  std::string line, ready;
  while (std::getline(in, line)) {
    if (line.find("\"msg\":\"ready\"") != std::string::npos) ready = line;
  }
  const std::string start = "\"" + key + "\":\"";
  size_t at = ready.find(start);
  if (at == std::string::npos) return "";
  at += start.size();
  return ready.substr(at, ready.find('"', at) - at);
}

std::unique_ptr<persist::LmdbLogStore> OpenShard(const TestServer& server, ShardId k) {
  persist::LmdbOptions options;
  options.read_only = true;
  auto store = persist::LmdbLogStore::Open(persist::ShardDir(server.data_dir(), k), options);
  if (!store.ok()) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

// Applies the log's records from `from` on.
void ApplyLog(persist::LogStore& store, Lsn from, ShardState& state) {
  Status st = store.Replay(from, [&](Lsn, std::string_view bytes) {
    Result<Event> e = persist::DecodeEvent(bytes);
    if (!e.ok()) return Status(e.error());
    state.Apply(std::move(*e));
    return OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
}

// Every feature's commands, by three users, so that each shard's state has a bit of everything.
void VariedHistory(TestServer& server) {
  wire::LoginOkT bob_login, carol_login;
  auto alice = server.SignedIn(Email("alice"));
  auto bob = server.SignedIn(Email("bob"), &bob_login);
  auto carol = server.SignedIn(Email("carol"), &carol_login);
  const uint64_t bob_id = bob_login.user_id, carol_id = carol_login.user_id;
  auto ws = alice->CreateWorkspace("Snap");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*alice, ws->id);
  ASSERT_TRUE(bob->JoinWorkspace(ws->id).ok());
  ASSERT_TRUE(carol->JoinWorkspace(ws->id).ok());
  const uint64_t general = ws->general_channel_id;
  auto ops = alice->CreateChannel(ws->id, "ops", true);
  ASSERT_TRUE(ops.ok());
  ASSERT_TRUE(alice->AddChannelMember(ops->id, bob_id).ok());
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(bob->Post(general, "message " + std::to_string(i), "c" + std::to_string(i)).ok());
  }
  auto top = alice->Post(general, "a thread <@" + std::to_string(bob_id) + "> deploy");
  ASSERT_TRUE(top.ok());
  ASSERT_TRUE(bob->Reply(general, top->seq, "a reply", true, "r1").ok());
  ASSERT_TRUE(alice->MarkThreadRead(general, top->seq).ok());
  ASSERT_TRUE(bob->AddReaction(general, top->seq, "tada").ok());
  ASSERT_TRUE(alice->Pin(general, top->seq).ok());
  ASSERT_TRUE(alice->AddBookmark(general, "Docs", "https://docs.example.com").ok());
  ASSERT_TRUE(bob->EditMessage(general, 1, "message 0, edited").ok());
  ASSERT_TRUE(bob->DeleteMessage(general, 2).ok());
  ASSERT_TRUE(alice->Post(ops->id, "private").ok());
  ASSERT_TRUE(bob->MarkRead(general).ok());
  ASSERT_TRUE(alice->SetChannelDetails(general, std::nullopt, "the topic", std::nullopt).ok());
  ASSERT_TRUE(alice->OpenConversation(ws->id, {bob_id}).ok());
  ASSERT_TRUE(alice->SetPresence(true).ok());
  ASSERT_TRUE(alice->SetStatus("Lunch", ":sandwich:", 0).ok());
  ASSERT_TRUE(bob->SetReadReceipts(false).ok());
  ASSERT_TRUE(bob->SetNotifyKeywords({"deploy"}).ok());
  ASSERT_TRUE(bob->SnoozeNotifications(30).ok());
  ASSERT_TRUE(bob->MarkNotificationsRead().ok());
  ASSERT_TRUE(alice->UpdateProfile("Alice S.", "Engineer").ok());
  auto key = alice->CreateApiKey("ci", wire::Scope::Read);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(alice->RevokeApiKey(key->info->id).ok());
  auto invite = alice->CreateInvite(ws->id, Email("dave"), wire::Role::Member);
  ASSERT_TRUE(invite.ok());
  ASSERT_TRUE(alice->SetMemberRole(ws->id, carol_id, wire::Role::Admin).ok());
  ASSERT_TRUE(alice->SetRetention(ws->id, 30).ok());  // nothing is old enough to expire
  ASSERT_TRUE(carol->Search("deploy").ok());  // a recent search
}

TEST(SnapshotServerTest, SnapshotsEqualFullReplayAndARestartReplaysOnlyTheTail) {
  TestServer server({kShards, "sync", {"--snapshot_every_events=20"}});
  server.Start();
  VariedHistory(server);
  server.Terminate();  // graceful: a snapshot at each shard's last LSN

  std::vector<Lsn> newest(kShards, 0);
  for (ShardId k = 0; k < kShards; ++k) {
    auto store = OpenShard(server, k);
    ShardState full(k, kShards);
    ApplyLog(*store, 1, full);
    const std::string expected = persist::EncodeSnapshot(full, full.version(), 0);
    Result<std::vector<Lsn>> lsns = store->SnapshotLsns();
    ASSERT_TRUE(lsns.ok());
    if (full.version() == 0) continue;
    ASSERT_FALSE(lsns->empty()) << "shard " << k;
    EXPECT_LE(lsns->size(), 2u);
    EXPECT_EQ(lsns->front(), full.version()) << "shard " << k << ": none taken at the stop";
    newest[k] = lsns->front();
    for (Lsn lsn : *lsns) {
      ShardState loaded(k, kShards);
      Status read = store->ReadSnapshot(lsn, [&](std::string_view bytes) {
        Result<persist::SnapshotHeader> h = persist::DecodeSnapshotHeader(bytes);
        if (!h.ok()) return Status(h.error());
        Status hashed = store->ReadRecord(lsn, [&](std::string_view record) {
          EXPECT_EQ(h->record_hash, persist::RecordHash(record));
          return OkStatus();
        });
        if (!hashed.ok()) return hashed;
        return persist::DecodeSnapshot(bytes, loaded);
      });
      ASSERT_TRUE(read.ok()) << read.error().details;
      ApplyLog(*store, lsn + 1, loaded);
      EXPECT_EQ(persist::EncodeSnapshot(loaded, loaded.version(), 0), expected)
          << "shard " << k << ", snapshot at " << lsn;
      EXPECT_TRUE(loaded == full);
    }
  }

  server.Start();
  EXPECT_EQ(ReadyField(server, "snapshot_lsns"),
            std::to_string(newest[0]) + "," + std::to_string(newest[1]));
  EXPECT_EQ(ReadyField(server, "replayed_events"), "0");
  auto alice = server.SignedIn(Email("alice"));
  auto list = alice->ListWorkspaces();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  auto page = alice->History((*list)[0].general_channel_id, 0, 0, 200);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 32u);  // 30, the thread's top and its reply to the channel
}

// A SIGKILL leaves periodic snapshots behind: the restart loads them, replays the tail, and
// every acknowledged post is there once; posting continues with fresh seqs and ids.
TEST(SnapshotServerTest, KillAfterSnapshotsLosesNothingAcknowledged) {
  TestServer server({kShards, "sync", {"--snapshot_every_events=10"}});
  server.Start();
  auto alice = server.SignedIn(Email("alice"));
  auto ws = alice->CreateWorkspace("Snap");
  ASSERT_TRUE(ws.ok());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 45; ++i) {
    auto posted = alice->Post(ws->general_channel_id, "post " + std::to_string(i));
    ASSERT_TRUE(posted.ok());
    ids.push_back(posted->message_id);
  }
  server.Restart();  // SIGKILL
  const std::string lsns = ReadyField(server, "snapshot_lsns");
  EXPECT_NE(lsns, "0,0") << "no snapshot loaded";
  auto again = server.SignedIn(Email("alice"));
  auto posted = again->Post(ws->general_channel_id, "after");
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->seq, 46u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), posted->message_id), 0);
  auto page = again->History(ws->general_channel_id, 0, 0, 200);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 46u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(page->messages[i]->id, ids[i]);
}

// --snapshot_every_events=0 writes none, not even at a stop.
TEST(SnapshotServerTest, ZeroTurnsSnapshotsOff) {
  TestServer server({kShards, "sync", {"--snapshot_every_events=0"}});
  server.Start();
  auto alice = server.SignedIn(Email("alice"));
  ASSERT_TRUE(alice->CreateWorkspace("Snap").ok());
  server.Terminate();
  for (ShardId k = 0; k < kShards; ++k) {
    auto store = OpenShard(server, k);
    EXPECT_TRUE(store->SnapshotLsns()->empty()) << "shard " << k;
  }
  server.Start();
  EXPECT_EQ(ReadyField(server, "snapshot_lsns"), "0,0");
  EXPECT_NE(ReadyField(server, "replayed_events"), "0");
}

}  // namespace
}  // namespace parley::testing
