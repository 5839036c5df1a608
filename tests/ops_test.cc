// The operator's side of a real parleyd: the admin port (/metrics in Prometheus text format,
// /healthz, /readyz, refusals of bad HTTP), structured error logs and SIGHUP, the SIGTERM drain
// (GoingAway, nothing acknowledged lost, exit 0), and flag validation (exit 2).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "persist/data_dir.h"
#include "persist/test_temp_dir.h"
#include "tests/test_server.h"

namespace parley::testing {
namespace {

struct HttpAnswer {
  int status = 0;  // 0: no answer (connection failed or closed without one)
  std::string head;
  std::string body;
};

int ConnectTo(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

HttpAnswer ReadAnswer(int fd, int timeout_ms = 10000) {
  std::string all;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, timeout_ms) > 0) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  HttpAnswer a;
  size_t end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
  a.status = std::stoi(all.substr(9, 3));
  a.head = all.substr(0, end);
  a.body = all.substr(end + 4);
  return a;
}

// Sends `request` as is and reads the whole answer (the server closes after one).
HttpAnswer Http(uint16_t port, const std::string& request) {
  int fd = ConnectTo(port);
  if (fd < 0) return {};
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  HttpAnswer a = ReadAnswer(fd);
  close(fd);
  return a;
}

HttpAnswer Get(uint16_t port, const std::string& path) {
  return Http(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

// Prometheus text format: every sample's family is declared (HELP and TYPE) before it, names
// and labels are well-formed, values are numbers. Returns the samples by "name{labels}".
std::map<std::string, double> ParseExposition(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)\})? ([-+0-9.eE]+|\+Inf|NaN)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(types.count(m[1].str()), 0u) << "family declared twice: " << line;
      types[m[1].str()] = m[2].str();
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a Prometheus sample: " << line;
      continue;
    }
    std::string name = m[1].str();
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      size_t at = name.size() >= strlen(suffix) ? name.size() - strlen(suffix) : 0;
      if (name.compare(at, std::string::npos, suffix) == 0 && types.count(name.substr(0, at)) &&
          types[name.substr(0, at)] == "histogram") {
        family = name.substr(0, at);
      }
    }
    EXPECT_TRUE(types.count(family)) << "sample before its # TYPE: " << line;
    samples[name + "{" + m[3].str() + "}"] = std::stod(m[5].str());
  }
  return samples;
}

// The sum over every shard of the samples of `name` whose labels include `label` (e.g.
// kind="PostMessage"; empty: all).
double Total(const std::map<std::string, double>& samples, const std::string& name,
             const std::string& label = "") {
  double sum = 0;
  for (const auto& [key, value] : samples) {
    if (key.rfind(name + "{", 0) != 0) continue;
    if (!label.empty() && key.find(label) == std::string::npos) continue;
    sum += value;
  }
  return sum;
}

std::map<std::string, double> Scrape(const TestServer& server) {
  HttpAnswer a = Get(server.admin_port(), "/metrics");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << a.head;
  EXPECT_NE(a.head.find("Connection: close"), std::string::npos) << a.head;
  return ParseExposition(a.body);
}

using persist::ReadFile;

struct Workspace {
  uint64_t id = 0;
  uint64_t channel = 0;
};

Workspace MakeWorkspace(const TestServer& server, const std::string& owner) {
  auto c = server.SignedIn(owner);
  auto ws = c->CreateWorkspace("Ops");
  if (!ws.ok()) throw std::runtime_error("CreateWorkspace: " + ws.error().message);
  OpenWorkspace(*c, ws->id);
  return {ws->id, ws->general_channel_id};
}

TEST(OpsTest, MetricsParseAndMoveWithTraffic) {
  TestServer server;
  server.Start();
  ASSERT_NE(server.admin_port(), 0);
  auto before = Scrape(server);
  EXPECT_EQ(before["parley_ready{}"], 1);
  for (const char* family :
       {"parley_connections_open", "parley_errors_total", "parley_log_commit_seconds_count",
        "parley_loop_busy_seconds_total", "parley_mailbox_depth", "parley_replay_seconds",
        "parley_search_index_lag_events"}) {
    EXPECT_GT(std::count_if(before.begin(), before.end(),
                            [&](auto& kv) { return kv.first.rfind(family, 0) == 0; }),
              0)
        << family;
  }

  Workspace ws = MakeWorkspace(server, Email("owner"));
  auto listener = server.SignedIn(Email("listener"));
  ASSERT_TRUE(listener->JoinWorkspace(ws.id).ok());
  auto poster = server.SignedIn(Email("poster"));
  ASSERT_TRUE(poster->JoinWorkspace(ws.id).ok());
  auto posts_before = Scrape(server);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(poster->Post(ws.channel, "m" + std::to_string(i)).ok());
  EXPECT_FALSE(poster->Post(ws.channel + 999, "nowhere").ok());  // an error, by code
  auto after = Scrape(server);

  const std::string post = "kind=\"PostMessage\"";
  EXPECT_EQ(Total(after, "parley_requests_total", post) -
                Total(posts_before, "parley_requests_total", post),
            6);
  EXPECT_GE(Total(after, "parley_request_duration_seconds_count", post), 6);
  // Each post reaches the listener and the poster (both subscribed).
  EXPECT_GE(
      Total(after, "parley_deliveries_total") - Total(posts_before, "parley_deliveries_total"), 10);
  EXPECT_GE(Total(after, "parley_events_committed_total") -
                Total(posts_before, "parley_events_committed_total"),
            5);
  EXPECT_GT(Total(after, "parley_log_commit_batch_records_count"),
            Total(posts_before, "parley_log_commit_batch_records_count"));
  EXPECT_GT(Total(after, "parley_errors_total", "code=\"forbidden\"") +
                Total(after, "parley_errors_total", "code=\"not_found\""),
            0);
  EXPECT_GE(Total(after, "parley_connections_open"), 2);  // the owner's has closed
  EXPECT_GE(Total(after, "parley_connections_accepted_total"), 3);
  EXPECT_GT(Total(after, "parley_loop_wait_seconds_total"), 0);
  // Histograms: buckets cumulative, +Inf equal to the count.
  for (uint32_t k = 0; k < 2; ++k) {
    std::string shard = "shard=\"" + std::to_string(k) + "\"";
    double last = 0;
    for (const char* le : {"0.0001", "0.001", "0.01", "0.1", "1", "+Inf"}) {
      double v = after["parley_log_commit_seconds_bucket{" + shard + ",le=\"" + le + "\"}"];
      EXPECT_GE(v, last) << shard << " le=" << le;
      last = v;
    }
    EXPECT_EQ(last, after["parley_log_commit_seconds_count{" + shard + "}"]);
  }
}

// Reconnecting readers that Sync the same channel from the same seq share one read and one
// encoding of the page (parley_history_pages_shared_total), each answer carrying its own request
// id; a change to the channel is seen by the next read, and outsiders are still refused.
TEST(OpsTest, IdenticalSyncsShareOnePageUntilTheChannelChanges) {
  TestServer server({1, "async", {}});
  server.Start();
  Workspace ws = MakeWorkspace(server, Email("owner"));
  auto poster = server.SignedIn(Email("poster"));
  ASSERT_TRUE(poster->JoinWorkspace(ws.id).ok());
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(poster->Post(ws.channel, "m" + std::to_string(i)).ok());

  constexpr int kReaders = 12;
  std::vector<std::unique_ptr<wire::Client>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(server.SignedIn(Email("reader" + std::to_string(i % 3))));
    ASSERT_TRUE(readers.back()->JoinWorkspace(ws.id).ok());
    ASSERT_TRUE(readers.back()->Ping().ok());  // a first request: ids differ between readers
  }
  const double shared_before = Total(Scrape(server), "parley_history_pages_shared_total");
  for (auto& reader : readers) {
    auto page = reader->Sync(ws.channel, 5);  // the client checks the answer's request id
    ASSERT_TRUE(page.ok()) << page.error().message;
    ASSERT_EQ(page->messages.size(), 5u);
    EXPECT_EQ(page->messages.front()->seq, 6u);
    EXPECT_EQ(page->messages.back()->text, "m10");
    EXPECT_EQ(page->last_seq, 10u);
  }
  EXPECT_GE(Total(Scrape(server), "parley_history_pages_shared_total") - shared_before,
            kReaders - 1);

  // A reaction and a new post change the channel: the next identical read shows both.
  ASSERT_TRUE(poster->AddReaction(ws.channel, 7, "tada").ok());
  ASSERT_TRUE(poster->Post(ws.channel, "m11").ok());
  for (auto& reader : readers) {
    auto page = reader->Sync(ws.channel, 5);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->messages.size(), 6u);
    EXPECT_EQ(page->messages.back()->text, "m11");
    ASSERT_EQ(page->messages[1]->reactions.size(), 1u);
    EXPECT_EQ(page->messages[1]->reactions[0]->emoji, "tada");
  }

  // A private channel's shared page is not shared with someone outside it.
  auto owner = server.SignedIn(Email("owner"));
  auto secret = owner->CreateChannel(ws.id, "secret", /*is_private=*/true);
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(owner->Post(secret->id, "hidden").ok());
  ASSERT_TRUE(owner->Sync(secret->id, 0).ok());
  auto outsider = readers[0]->Sync(secret->id, 0);
  ASSERT_FALSE(outsider.ok());
  EXPECT_TRUE(outsider.error().code == ErrorCode::kForbidden ||
              outsider.error().code == ErrorCode::kNotFound)
      << outsider.error().message;
}

TEST(OpsTest, HealthReadinessAndRefusals) {
  TestServer server;
  server.Start();
  const uint16_t admin = server.admin_port();
  EXPECT_EQ(Get(admin, "/healthz").status, 200);
  EXPECT_EQ(Get(admin, "/readyz").status, 200);
  EXPECT_EQ(Get(admin, "/readyz?verbose=1").status, 200);
  EXPECT_EQ(Get(admin, "/nope").status, 404);
  HttpAnswer post = Http(admin, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.head.find("Allow: GET"), std::string::npos);
  EXPECT_EQ(Http(admin, "\x01\x02 garbage\r\n\r\n").status, 400);
  EXPECT_EQ(Http(admin, "GET /metrics HTTP/9\r\n\r\n").status, 400);
  // A head that never ends is cut off at the size bound.
  EXPECT_EQ(Http(admin, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a')).status, 431);
}

TEST(OpsTest, SlowOrBrokenHttpClientsDoNotDisturbTheServer) {
  TestServer server;
  server.Start();
  const uint16_t admin = server.admin_port();
  // A client that connects and says nothing is answered 408 after the read timeout...
  int idle = ConnectTo(admin);
  ASSERT_GE(idle, 0);
  // ...and meanwhile the chat port serves as ever (the admin thread is apart from the shards).
  auto c = server.Connect();
  EXPECT_TRUE(c->Ping().ok());
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadAnswer(idle).status, 408);
  close(idle);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // One that hangs up mid-request, and one that sends megabytes.
  int gone = ConnectTo(admin);
  send(gone, "GET /met", 8, MSG_NOSIGNAL);
  close(gone);
  int flood = ConnectTo(admin);
  std::string junk(1 << 20, 'x');
  send(flood, junk.data(), junk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  close(flood);
  EXPECT_EQ(Get(admin, "/healthz").status, 200);
  EXPECT_EQ(Scrape(server)["parley_ready{}"], 1);
  EXPECT_TRUE(c->Ping().ok());
}

// SIGTERM while several clients write: each sees GoingAway after its last answer, the process
// exits 0, and after a restart every acknowledged post is there.
TEST(OpsTest, SigtermDrainsTellsClientsAndLosesNothingAcknowledged) {
  TestServer server;
  server.Start();
  Workspace ws = MakeWorkspace(server, Email("owner"));
  const int kWriters = 4;
  std::vector<std::vector<std::string>> acked(kWriters);
  std::vector<int> saw_going_away(kWriters, 0);
  std::vector<std::unique_ptr<wire::Client>> clients;
  for (int w = 0; w < kWriters; ++w) {
    clients.push_back(server.SignedIn(Email("writer" + std::to_string(w))));
    ASSERT_TRUE(clients.back()->JoinWorkspace(ws.id).ok());
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      wire::Client& c = *clients[w];
      for (int i = 0;; ++i) {
        std::string text = "w" + std::to_string(w) + "i" + std::to_string(i);
        auto ack = c.Post(ws.channel, text);
        if (!ack.ok()) {
          EXPECT_EQ(ack.error().code, ErrorCode::kUnavailable) << ack.error().message;
          break;
        }
        acked[w].push_back(text);
      }
      // Refused while draining, or cut off by GoingAway: either way GoingAway comes.
      while (!c.going_away()) {
        if (!c.NextEvent(5000).ok()) break;
      }
      saw_going_away[w] = c.going_away().has_value();
      if (c.going_away()) {
        EXPECT_GT(c.going_away()->retry_after_ms, 0u);
      }
      auto later = c.Ping();
      EXPECT_FALSE(later.ok());
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(10));
  for (auto& t : writers) t.join();
  for (int w = 0; w < kWriters; ++w) EXPECT_TRUE(saw_going_away[w]) << "writer " << w;
  std::string log = ReadFile(server.log_path());
  EXPECT_NE(log.find("\"msg\":\"stopped\""), std::string::npos);

  server.Start();
  auto reader = server.SignedIn(Email("owner"));
  std::set<std::string> present;
  uint64_t after = 0;
  for (;;) {
    auto page = reader->Sync(ws.channel, after, 200);
    ASSERT_TRUE(page.ok()) << page.error().message;
    for (auto& m : page->messages) {
      after = m->seq;
      present.insert(m->text);
    }
    if (!page->has_more) break;
  }
  size_t total = 0;
  for (auto& texts : acked) {
    total += texts.size();
    for (const std::string& t : texts) EXPECT_TRUE(present.count(t)) << "lost " << t;
  }
  EXPECT_GT(total, 0u);
}

// Error log lines carry what support needs (the client's request id, the connection, kind and
// code) and nothing else; SIGHUP moves logging to a fresh file after logrotate renamed it.
TEST(OpsTest, SighupReopensTheLogFileAndErrorsAreLoggedWithTheirRequestId) {
  TestServer probe;  // only for a temporary directory beside its data dir
  std::string log =
      (std::filesystem::path(probe.data_dir()).parent_path() / "server.jsonl").string();
  TestServer server({.shards = 2, .durability = "sync", .extra_flags = {"--log_file=" + log}});
  server.Start();
  EXPECT_NE(ReadFile(log).find("\"msg\":\"ready\""), std::string::npos);
  std::filesystem::rename(log, log + ".1");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ReadFile(log).find("log file reopened") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(ReadFile(log).find("log file reopened"), std::string::npos);

  // A protocol violation (a response body sent as a request) is logged; a refusal of ordinary
  // bad input (a post to a channel that does not exist) is only counted.
  auto c = server.SignedIn(Email("user"));
  wire::OkT ok;
  wire::Bytes frame = wire::EncodeFrame(4242, wire::MakeBody(std::move(ok)));
  ASSERT_TRUE(c->SendRaw(frame.data(), frame.size()).ok());
  Result<wire::FrameT> answer = c->ReadFrame(5000);
  while (answer.ok() && answer->request_id == 0) answer = c->ReadFrame(5000);  // events
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->request_id, 4242u);
  ASSERT_NE(answer->body.AsError(), nullptr);
  EXPECT_FALSE(c->Post(987654321, "secret words").ok());
  EXPECT_EQ(server.Terminate(), 0);

  std::string fresh = ReadFile(log);
  std::string old = ReadFile(log + ".1");
  EXPECT_EQ(old.find("request failed"), std::string::npos);
  EXPECT_EQ(old.find("stopped"), std::string::npos);
  size_t line_at = fresh.find("\"request_id\":\"4242\"");
  ASSERT_NE(line_at, std::string::npos) << fresh;
  std::string line = fresh.substr(fresh.rfind('\n', line_at) + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find("\"msg\":\"request failed\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"kind\":\"Ok\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"code\":\"bad_request\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"conn\":"), std::string::npos) << line;
  EXPECT_NE(line.find("\"session_id\":"), std::string::npos) << line;
  EXPECT_EQ(fresh.find("not_found"), std::string::npos);
  EXPECT_EQ(fresh.find("secret words"), std::string::npos);
  EXPECT_EQ(fresh.find("correct horse"), std::string::npos);  // the test password
  EXPECT_NE(fresh.find("\"msg\":\"stopped\""), std::string::npos);
}

TEST(OpsTest, BadFlagsExitTwoWithAMessage) {
  char tmpl[] = "/tmp/parley-flags-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string data = dir + "/data";
  ASSERT_TRUE(persist::InitDataDir(data, 1).ok());
  const std::string d = "--data_dir=" + data;
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  std::string short_key = dir + "/short.key";
  std::ofstream(short_key) << "too short";
  chmod(short_key.c_str(), 0600);
  std::string open_key = dir + "/open.key";
  std::ofstream(open_key) << std::string(32, 'k');
  chmod(open_key.c_str(), 0644);
  const Case cases[] = {
      {{d, "--port=70000"}, "--port must be 0..65535"},
      {{d, "--port=7555", "--admin_port=7555"}, "--admin_port must differ from --port"},
      {{d, "--admin_port=-2"}, "--admin_port must be -1"},
      {{d, "--host=localhost"}, "--host must be an IPv4 address"},
      {{d, "--admin_host=::1"}, "--admin_host must be an IPv4 address"},
      {{"--data_dir=" + dir + "/missing"}, "is not a directory"},
      {{d, "--log_file=" + dir + "/no/such/dir/log"}, "--log_file: directory"},
      {{d, "--ready_file=" + dir + "/nowhere/ready"}, "--ready_file: directory"},
      {{d, "--signing_key_file=" + dir + "/absent.key"}, "--signing_key_file: cannot read"},
      {{d, "--signing_key_file=" + short_key}, "expected 32"},
      {{d, "--signing_key_file=" + open_key}, "chmod 600"},
      {{d, "--max_frame_bytes=10"}, "--max_frame_bytes must be"},
      {{d, "--access_token_ttl_s=5"}, "--access_token_ttl_s must be"},
      {{d, "--rate_per_user=nan"}, "finite"},
      {{d, "--oidc_issuer=https://id.example.com"}, "need --oidc_jwks"},
  };
  for (const Case& c : cases) {
    std::string err;
    EXPECT_EQ(RunParleyd(c.flags, &err), 2) << c.flags.back() << ": " << err;
    EXPECT_NE(err.find(c.says), std::string::npos) << c.flags.back() << ": " << err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::testing
