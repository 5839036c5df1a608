// parley-admin against real parleyd processes and data directories: a backup taken while
// parleyd serves concurrent writes, restored and served with every message acknowledged before
// the backup began; a version-0 directory refused by parleyd (naming the migration), migrated,
// and served; migrate and seed refusing a directory parleyd has open; a generated seed served,
// and the same for the same seed.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "persist/v0_data_dir.h"
#include "tests/test_server.h"

namespace parley::testing {
namespace {

struct AdminRun {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs parley-admin with `args` (shell words, already quoted where needed) to completion.
AdminRun Admin(const std::string& args) {
  AdminRun run;
  FILE* p = ::popen((std::string(PARLEY_ADMIN_PATH) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) run.output.append(buf, n);
  int status = ::pclose(p);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A directory beside the server's data directory (removed with it).
std::string Beside(const TestServer& server, const std::string& name) {
  return server.data_dir() + "/../" + name;
}

TestServerOptions Unprovisioned() {
  TestServerOptions options;
  options.init_data_dir = false;
  return options;
}

// Every message text of `channel`, oldest first.
std::vector<std::string> Texts(wire::Client& c, uint64_t channel) {
  std::vector<std::string> all;
  for (uint64_t after = 0;;) {
    auto page = c.Sync(channel, after, 200);
    EXPECT_TRUE(page.ok()) << page.error().message;
    if (!page.ok()) break;
    for (auto& m : page->messages) {
      after = m->seq;
      all.push_back(m->text);
    }
    if (!page->has_more) break;
  }
  return all;
}

TEST(AdminTest, HotBackupHoldsEveryMessageAcknowledgedBeforeItBegan) {
  TestServer server;
  server.Start();
  auto owner = server.SignedIn("owner@example.com");
  auto ws = owner->CreateWorkspace("Backed up");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  const uint64_t channel = ws->general_channel_id;

  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      auto c = server.SignedIn("owner@example.com");
      for (int i = 0; !stop; ++i) {
        std::string text = "w" + std::to_string(w) + "-" + std::to_string(i);
        if (!c->Post(channel, text).ok()) {
          ++failures;
          return;
        }
        std::lock_guard lock(mu);
        acked.push_back(text);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::string> acked_before;
  {
    std::lock_guard lock(mu);  // the writers go on appending (and reallocating) meanwhile
    acked_before = acked;
  }
  const std::string backup = Beside(server, "backup");
  AdminRun backed_up = Admin("backup --data_dir " + server.data_dir() + " --to " + backup);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // writes after it, too
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_EQ(backed_up.code, 0) << backed_up.output;
  EXPECT_NE(backed_up.output.find("backed up"), std::string::npos) << backed_up.output;
  EXPECT_EQ(failures, 0);  // parleyd served on while it was copied
  ASSERT_GT(acked_before.size(), 0u);

  TestServer restored(Unprovisioned());
  AdminRun run = Admin("restore --from " + backup + " --data_dir " + restored.data_dir());
  ASSERT_EQ(run.code, 0) << run.output;
  restored.Start();
  auto c = restored.SignedIn("owner@example.com");
  std::vector<std::string> texts = Texts(*c, channel);
  std::map<std::string, int> seen;
  for (const std::string& t : texts) ++seen[t];
  for (const std::string& t : acked_before) {
    EXPECT_EQ(seen[t], 1) << "acknowledged before the backup: " << t;
  }
  EXPECT_LE(texts.size(), acked.size());
  // The restored server takes new writes on top of the restored log.
  EXPECT_TRUE(c->Post(channel, "after the restore").ok());
  std::printf("hot backup: %zu acknowledged before it began, %zu in it, %zu in all\n",
              acked_before.size(), texts.size(), acked.size());
}

TEST(AdminTest, RestoreRefusesWhatItCannotTrust) {
  TestServer server;
  server.Start();
  server.Terminate();
  const std::string backup = Beside(server, "backup");
  ASSERT_EQ(Admin("backup --data_dir " + server.data_dir() + " --to " + backup).code, 0);
  AdminRun again = Admin("backup --data_dir " + server.data_dir() + " --to " + backup);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.output.find("not an empty directory"), std::string::npos) << again.output;

  AdminRun onto = Admin("restore --from " + backup + " --data_dir " + server.data_dir());
  EXPECT_EQ(onto.code, 1);
  EXPECT_NE(onto.output.find("not an empty directory"), std::string::npos) << onto.output;
  std::rename((backup + "/manifest.json").c_str(), (backup + "/manifest.old").c_str());
  AdminRun incomplete = Admin("restore --from " + backup + " --data_dir " + Beside(server, "r1"));
  EXPECT_EQ(incomplete.code, 1);
  EXPECT_NE(incomplete.output.find("incomplete backup"), std::string::npos) << incomplete.output;
  FILE* f = std::fopen((backup + "/manifest.json").c_str(), "w");
  std::fputs("{\"manifest_version\": 1}", f);
  std::fclose(f);
  AdminRun bad = Admin("restore --from " + backup + " --data_dir " + Beside(server, "r2"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.output.find("invalid backup manifest"), std::string::npos) << bad.output;
}

TEST(AdminTest, VersionZeroDirectoryIsRefusedThenMigratedAndServed) {
  TestServer old;
  old.Start();
  auto c = old.SignedIn("owner@example.com");
  auto ws = c->CreateWorkspace("Old times");
  ASSERT_TRUE(ws.ok());
  ASSERT_TRUE(c->Post(ws->general_channel_id, "written under version 1, kept through 0").ok());
  c.reset();
  old.Terminate();

  TestServer migrated(Unprovisioned());
  Status written = persist::WriteV0DataDir(old.data_dir(), migrated.data_dir());
  ASSERT_TRUE(written.ok()) << written.error().message;
  std::string err;
  EXPECT_EQ(RunParleyd({"--data_dir=" + migrated.data_dir(), "--port=0", "--admin_port=-1"}, &err),
            1);
  EXPECT_NE(err.find("parley-admin migrate --data_dir " + migrated.data_dir()), std::string::npos)
      << err;

  AdminRun dry = Admin("migrate --dry_run --data_dir " + migrated.data_dir());
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_NE(dry.output.find("would upgrade shard 1: format version 0 -> 1"), std::string::npos)
      << dry.output;
  EXPECT_EQ(RunParleyd({"--data_dir=" + migrated.data_dir(), "--port=0", "--admin_port=-1"}, &err),
            1);

  AdminRun run = Admin("migrate --data_dir " + migrated.data_dir());
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("migrated " + migrated.data_dir() + ": 2 steps"), std::string::npos)
      << run.output;
  migrated.Start();
  auto after = migrated.SignedIn("owner@example.com");
  EXPECT_EQ(Texts(*after, ws->general_channel_id),
            std::vector<std::string>{"written under version 1, kept through 0"});

  AdminRun busy = Admin("migrate --data_dir " + migrated.data_dir());
  EXPECT_EQ(busy.code, 1);
  EXPECT_NE(busy.output.find("open in another process"), std::string::npos) << busy.output;
  AdminRun seed = Admin("seed --data_dir " + migrated.data_dir());
  EXPECT_EQ(seed.code, 1);
  EXPECT_NE(seed.output.find("open in another process"), std::string::npos) << seed.output;
}

// Per channel of workspace bench-replay, its messages as "seq:text", as p0 sees them.
std::map<std::string, std::vector<std::string>> GeneratedWorkspace(const TestServer& server) {
  std::map<std::string, std::vector<std::string>> out;
  auto c = server.Connect();
  auto login = c->Login("p0.replay@bench.test", "bench-password-1");
  EXPECT_TRUE(login.ok()) << login.error().message;
  if (!login.ok()) return out;
  auto list = c->ListWorkspaces();
  EXPECT_TRUE(list.ok());
  for (const auto& ws : *list) {
    if (ws.name != "bench-replay") continue;
    auto channels = c->ListChannels(ws.id);
    EXPECT_TRUE(channels.ok());
    for (const auto& ch : *channels) {
      std::vector<std::string>& texts = out[ch.name];
      for (uint64_t after = 0;;) {
        auto page = c->Sync(ch.id, after, 200);
        EXPECT_TRUE(page.ok()) << page.error().message;
        if (!page.ok()) break;
        for (auto& m : page->messages) {
          after = m->seq;
          texts.push_back(std::to_string(m->seq) + ":" + m->text);
        }
        if (!page->has_more) break;
      }
    }
  }
  return out;
}

TEST(AdminTest, GeneratedSeedIsServedAndRepeatable) {
  std::map<std::string, std::vector<std::string>> workspaces[2];
  for (auto& workspace : workspaces) {
    TestServer server(Unprovisioned());
    ASSERT_EQ(Admin("init --shards 2 --data_dir " + server.data_dir()).code, 0);
    AdminRun seed = Admin("seed --data_dir " + server.data_dir() +
                          " --messages 400 --users 6 --channels 3 --rng_seed 7 --bytes 40");
    ASSERT_EQ(seed.code, 0) << seed.output;
    EXPECT_NE(seed.output.find("6 users, 3 channels and 400 messages"), std::string::npos)
        << seed.output;
    server.Start();
    workspace = GeneratedWorkspace(server);
  }
  size_t messages = 0;
  for (const auto& [name, texts] : workspaces[0]) messages += texts.size();
  EXPECT_EQ(messages, 400u);  // posts and replies; #random (made with every workspace) is empty
  EXPECT_EQ(workspaces[0].size(), 4u);
  EXPECT_EQ(workspaces[0], workspaces[1]);
}

}  // namespace
}  // namespace parley::testing
