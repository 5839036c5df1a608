// The abuse limits against a real parleyd (shard/limits.h): connection counts, the handshake,
// frame and idle timeouts (slowloris), requests in flight, subscriptions, the shard's outbound
// budget, typing coalesced for a reader that is behind, and floods that leave others served.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <initializer_list>
#include <thread>

#include "tests/test_server.h"

namespace parley::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::unique_ptr<wire::Client> Raw(const TestServer& server) {
  wire::ClientOptions o;
  o.port = server.port();
  o.send_hello = false;
  auto c = wire::Client::Connect(o);
  EXPECT_TRUE(c.ok());
  return c.ok() ? std::move(*c) : nullptr;
}

Result<std::unique_ptr<wire::Client>> Connect(const TestServer& server) {
  wire::ClientOptions o;
  o.port = server.port();
  return wire::Client::Connect(o);
}

wire::Bytes HelloFrame() {
  wire::HelloT hello;
  hello.min_version = hello.max_version = 1;
  hello.client = "limits-test";
  return wire::EncodeFrame(1, wire::MakeBody(std::move(hello)));
}

// Reads frames until the server closes the connection; returns the last Error's code.
ErrorCode ErrorBeforeClose(wire::Client& c, int timeout_ms, std::string* details = nullptr) {
  ErrorCode last = ErrorCode::kOk;
  while (!c.closed()) {
    auto f = c.ReadFrame(timeout_ms);
    if (!f.ok()) break;
    if (const wire::ErrorT* e = f->body.AsError()) {
      last = static_cast<ErrorCode>(e->code);
      if (details) *details = e->details;
    }
  }
  return last;
}

// A signed-in reader with a 4 KiB receive buffer, set before connecting: what the server sends
// it beyond a few kilobytes waits in the server's queue, not in socket buffers.
std::unique_ptr<wire::Client> SlowReader(const TestServer& server, const std::string& email) {
  wire::ClientOptions o;
  o.port = server.port();
  o.recv_buffer_bytes = 4096;
  auto c = wire::Client::Connect(o);
  EXPECT_TRUE(c.ok());
  if (!c.ok()) return nullptr;
  (void)(*c)->Register(email, "correct horse battery staple", "slow");
  EXPECT_TRUE((*c)->Login(email, "correct horse battery staple").ok());
  return std::move(*c);
}

// A workspace of `owner`'s that every one of `members` joins; returns its #general (0 on failure,
// with the failure reported).
uint64_t SharedGeneral(wire::Client& owner, std::initializer_list<wire::Client*> members) {
  auto ws = owner.CreateWorkspace("Limits");
  EXPECT_TRUE(ws.ok());
  if (!ws.ok()) return 0;
  OpenWorkspace(owner, ws->id);
  for (wire::Client* member : members) {
    auto joined = member->JoinWorkspace(ws->id);
    EXPECT_TRUE(joined.ok());
    if (!joined.ok()) return 0;
  }
  return ws->general_channel_id;
}

void ExpectServed(const TestServer& server) {
  auto other = server.SignedIn(Email("bystander"));
  EXPECT_TRUE(other->Ping().ok());
}

TEST(LimitsTest, ConnectionsPerAddressAreCappedWithARetryHint) {
  TestServer server({1, "sync", {"--max_connections_per_address=3"}});
  server.Start();
  std::vector<std::unique_ptr<wire::Client>> held;
  for (int i = 0; i < 3; ++i) {
    auto c = Connect(server);
    ASSERT_TRUE(c.ok()) << c.error().message;
    held.push_back(std::move(*c));
  }
  auto refused = Connect(server);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(refused.error().details, "max_connections_per_address");
  EXPECT_GE(refused.error().retry_after_ms, 1000u);
  // A closed connection gives its place back.
  held.pop_back();
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    admitted = Connect(server).ok();
    if (!admitted) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(admitted);
}

TEST(LimitsTest, ServerWideConnectionCap) {
  TestServer server({2, "sync", {"--max_connections=2"}});  // one per shard
  server.Start();
  std::vector<std::unique_ptr<wire::Client>> held;
  int refused = 0;
  for (int i = 0; i < 8; ++i) {
    auto c = Connect(server);
    if (c.ok()) {
      held.push_back(std::move(*c));
    } else {
      EXPECT_EQ(c.error().code, ErrorCode::kOverloaded);
      EXPECT_EQ(c.error().details, "max_connections");
      ++refused;
    }
  }
  EXPECT_LE(held.size(), 2u);
  EXPECT_GE(refused, 6);
}

// A burst of token resumes past --resumes_per_second: the excess is answered `overloaded` with
// retry hints spread over the time the rate needs to admit them all (not a fixed short wait
// that would bring them all back at once), and every client that follows its hint gets in.
TEST(LimitsTest, ResumeBurstIsSpreadByRetryHintsAndEveryoneGetsIn) {
  constexpr int kRate = 20;
  constexpr int kClients = 80;
  TestServer server({1, "async", {"--resumes_per_second=" + std::to_string(kRate)}});
  server.Start();
  wire::LoginOkT login;
  server.SignedIn(Email("storm"), &login);
  std::vector<std::unique_ptr<wire::Client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(server.Connect());

  std::vector<uint32_t> hints;
  std::vector<int> waiting;
  for (int i = 0; i < kClients; ++i) {
    auto resumed = clients[i]->LoginWithToken(login.token);
    if (resumed.ok()) continue;
    ASSERT_EQ(resumed.error().code, ErrorCode::kOverloaded) << resumed.error().message;
    ASSERT_GT(resumed.error().retry_after_ms, 0u);
    hints.push_back(resumed.error().retry_after_ms);
    waiting.push_back(i);
  }
  // The bucket holds one second's worth; the rest (about 60) need about 3 s at 20/s.
  ASSERT_GE(hints.size(), static_cast<size_t>(kClients - 2 * kRate));
  EXPECT_GT(*std::max_element(hints.begin(), hints.end()), 1500u) << "hints are not spread";

  // Each refused client comes back after its hint (and again if refused again).
  std::vector<std::pair<steady_clock::time_point, int>> due;
  const auto now = steady_clock::now();
  for (size_t k = 0; k < waiting.size(); ++k) due.emplace_back(now + milliseconds(hints[k]), waiting[k]);
  int retries = 0;
  while (!due.empty()) {
    std::sort(due.begin(), due.end());
    auto [at, i] = due.front();
    due.erase(due.begin());
    std::this_thread::sleep_until(at);
    auto resumed = clients[i]->LoginWithToken(login.token);
    if (resumed.ok()) continue;
    ASSERT_EQ(resumed.error().code, ErrorCode::kOverloaded);
    ASSERT_LT(++retries, 4 * kClients) << "clients following the hints keep being refused";
    due.emplace_back(steady_clock::now() + milliseconds(resumed.error().retry_after_ms), i);
  }
  for (auto& c : clients) EXPECT_TRUE(c->ListWorkspaces().ok());  // all signed in
}

// Slowloris, before and after the handshake: a connection that says nothing, and one that
// starts a frame and never finishes it, are told why and closed; others are served meanwhile.
TEST(LimitsTest, SilentAndTricklingConnectionsTimeOut) {
  TestServer server({1, "sync", {"--handshake_timeout_s=1", "--frame_timeout_s=1"}});
  server.Start();
  auto silent = Raw(server);
  auto trickle = Raw(server);
  wire::Bytes hello = HelloFrame();
  ASSERT_TRUE(trickle->SendRaw(hello.data(), hello.size()).ok());
  ASSERT_TRUE(trickle->ReadFrame(5000).ok());  // Welcome
  wire::Bytes ping = wire::EncodeFrame(2, wire::MakeBody(wire::PingT{}));
  ASSERT_TRUE(trickle->SendRaw(ping.data(), 3).ok());  // part of the length prefix only
  ExpectServed(server);

  std::string details;
  EXPECT_EQ(ErrorBeforeClose(*silent, 5000, &details), ErrorCode::kHelloRequired);
  EXPECT_EQ(details, "handshake_timeout_ms=1000");
  EXPECT_TRUE(silent->closed());
  EXPECT_EQ(ErrorBeforeClose(*trickle, 5000, &details), ErrorCode::kMalformedFrame);
  EXPECT_EQ(details, "frame_timeout_ms=1000");
  EXPECT_TRUE(trickle->closed());
}

TEST(LimitsTest, IdleConnectionsCloseAndPingingOnesStay) {
  TestServer server({1, "sync", {"--idle_timeout_s=2"}});
  server.Start();
  auto idle = server.SignedIn(Email("idle"));
  auto busy = server.SignedIn(Email("busy"));
  const auto until = steady_clock::now() + milliseconds(4500);
  while (steady_clock::now() < until) {
    ASSERT_TRUE(busy->Ping().ok());
    std::this_thread::sleep_for(milliseconds(300));
  }
  std::string details;
  EXPECT_EQ(ErrorBeforeClose(*idle, 3000, &details), ErrorCode::kUnavailable);
  EXPECT_EQ(details, "idle_timeout_ms=2000");
  EXPECT_TRUE(idle->closed());
  EXPECT_TRUE(busy->Ping().ok());
}

// Posts wait for the disk before they are answered: 40 pipelined in one write are in flight
// together, and past the limit each is answered rate_limited at once.
TEST(LimitsTest, RequestsInFlightPerConnectionAreBounded) {
  TestServer server({1, "sync", {"--max_inflight_requests=4"}});
  server.Start();
  wire::LoginOkT login;
  auto c = server.SignedIn(Email("pipeliner"), &login);
  auto ws = c->CreateWorkspace("Pipelined");
  ASSERT_TRUE(ws.ok());
  wire::Bytes burst;
  constexpr int kPosts = 40;
  for (int i = 0; i < kPosts; ++i) {
    wire::PostMessageT post;
    post.channel_id = ws->general_channel_id;
    post.text = "pipelined " + std::to_string(i);
    wire::Bytes frame = wire::EncodeFrame(1000 + i, wire::MakeBody(std::move(post)));
    burst.insert(burst.end(), frame.begin(), frame.end());
  }
  ASSERT_TRUE(c->SendRaw(burst.data(), burst.size()).ok());
  int acked = 0, limited = 0;
  std::string details;
  while (acked + limited < kPosts) {
    auto f = c->ReadFrame(5000);
    ASSERT_TRUE(f.ok()) << f.error().message;
    if (f->request_id < 1000) continue;  // an event
    if (const wire::ErrorT* e = f->body.AsError()) {
      EXPECT_EQ(e->code, static_cast<uint16_t>(ErrorCode::kRateLimited));
      details = e->details;
      ++limited;
    } else {
      ++acked;
    }
  }
  EXPECT_GE(acked, 4);
  EXPECT_GT(limited, 0);
  EXPECT_EQ(details, "max_inflight_requests=4");
  // Answered requests leave the count: the connection keeps working.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c->Post(ws->general_channel_id, "after").ok());
}

// Past max_subscriptions a connection is told once; the channels it could not follow are still
// readable with Sync, and other connections of the same user are unaffected.
TEST(LimitsTest, SubscriptionsPerConnectionAreBounded) {
  // A signed-in connection follows its own presence topic, the workspace and its two channels.
  TestServer server({1, "sync", {"--max_subscriptions=4"}});
  server.Start();
  auto owner = server.SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Many channels");
  ASSERT_TRUE(ws.ok());
  std::vector<uint64_t> channels;
  for (int i = 0; i < 3; ++i) {
    auto ch = owner->CreateChannel(ws->id, "extra-" + std::to_string(i), false);
    ASSERT_TRUE(ch.ok()) << ch.error().message;
    channels.push_back(ch->id);
  }
  auto again = server.SignedIn(Email("owner"));  // signs in with 6 subscriptions to take
  bool told = false;
  for (int i = 0; i < 20 && !told; ++i) {
    auto e = again->NextEvent(200);
    if (!e.ok()) continue;
    if (const wire::ErrorT* err = e->body.AsError()) {
      EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kLimitExceeded));
      EXPECT_EQ(err->details, "max_subscriptions=4");
      told = true;
    }
  }
  EXPECT_TRUE(told);
  for (uint64_t ch : channels) ASSERT_TRUE(owner->Post(ch, "still readable").ok());
  for (uint64_t ch : channels) {
    auto page = again->Sync(ch, 0, 10);
    ASSERT_TRUE(page.ok()) << page.error().message;
    EXPECT_EQ(page->messages.size(), 1u);
  }
  EXPECT_TRUE(again->Ping().ok());
}

// Reads events until `until` or an idle gap; counts posts and typing events.
struct Drained {
  int posts = 0;
  int typing = 0;
  bool last_typing = false;
  bool lagged = false;
};
Drained Drain(wire::Client& c) {
  Drained d;
  for (;;) {
    auto f = c.ReadFrame(1500);
    if (!f.ok()) break;
    if (f->body.AsMessagePosted()) ++d.posts;
    if (const wire::UserTypingT* t = f->body.AsUserTyping()) {
      ++d.typing;
      d.last_typing = t->typing;
    }
    if (const wire::ErrorT* e = f->body.AsError()) {
      d.lagged = d.lagged || e->code == static_cast<uint16_t>(ErrorCode::kLagged);
    }
  }
  return d;
}

// A reader whose queue is behind gets typing as "what is true now": hundreds of typing changes
// while it is behind arrive as a few, the last one the current state, and no post is lost.
TEST(LimitsTest, TypingIsCoalescedForAReaderThatIsBehind) {
  TestServer server({1, "async", {}});
  server.Start();
  auto owner = server.SignedIn(Email("owner"));
  auto slow = SlowReader(server, Email("slow"));
  const uint64_t ch = SharedGeneral(*owner, {slow.get()});
  ASSERT_NE(ch, 0u);

  // 7.8 MB of posts the slow reader does not read: the server's send buffer for it (at most
  // tcp_wmem's 4 MiB) fills, and then its queue passes a quarter of its 8 MiB bound (but not
  // the bound itself).
  const std::string text(3900, 'q');
  constexpr int kPosts = 2000;
  for (int i = 0; i < kPosts; ++i) ASSERT_TRUE(owner->Post(ch, text).ok());
  constexpr int kToggles = 400;
  for (int i = 0; i < kToggles; ++i) ASSERT_TRUE(owner->Typing(ch, i % 2 == 1).ok());
  ASSERT_TRUE(owner->Typing(ch, false).ok());  // typing, the state to end with

  Drained d = Drain(*slow);
  EXPECT_FALSE(d.lagged);
  EXPECT_EQ(d.posts, kPosts);
  EXPECT_GE(d.typing, 1);
  EXPECT_LT(d.typing, kToggles / 4) << "typing changes were not coalesced";
  EXPECT_TRUE(d.last_typing);
}

// The shard's budget for all outbound queues lags a stalled reader long before its own 8 MiB
// bound would, and a reader that keeps up is not disturbed.
TEST(LimitsTest, OutboundBudgetLagsTheStalledReaderOnly) {
  TestServer server({1, "async", {"--max_frame_bytes=65536", "--max_outbound_total_bytes=262144"}});
  server.Start();
  auto owner = server.SignedIn(Email("owner"));
  auto stalled = SlowReader(server, Email("stalled"));
  auto healthy = server.SignedIn(Email("healthy"));
  const uint64_t ch = SharedGeneral(*owner, {stalled.get(), healthy.get()});
  ASSERT_NE(ch, 0u);

  constexpr int kPosts = 1500;  // 4.5 MB: below the stalled reader's own bound
  const std::string text(3000, 'b');
  uint64_t healthy_last = 0;
  std::thread reader([&] { healthy_last = ReadPostsInOrder(*healthy, kPosts); });
  for (int i = 0; i < kPosts; ++i) ASSERT_TRUE(owner->Post(ch, text).ok());
  reader.join();
  EXPECT_EQ(healthy_last, static_cast<uint64_t>(kPosts));
  Drained d = Drain(*stalled);
  EXPECT_TRUE(d.lagged);
  EXPECT_LT(d.posts, kPosts);
}

// Oversized, malformed and unauthenticated floods on other connections: a normal client's
// requests are all answered meanwhile, and the server serves after.
TEST(LimitsTest, FloodsLeaveOthersServed) {
  TestServer server({2, "sync", {}});
  server.Start();
  std::atomic<bool> stop{false};
  std::vector<std::thread> flooders;
  flooders.emplace_back([&] {  // oversized frames: each connection is refused and closed
    while (!stop) {
      auto c = Raw(server);
      if (!c) continue;
      const uint8_t huge[4] = {0xff, 0xff, 0xff, 0x7f};
      (void)c->SendRaw(huge, sizeof(huge));
      (void)c->ReadFrame(1000);
    }
  });
  flooders.emplace_back([&] {  // garbage that fails verification, on one connection
    auto c = Raw(server);
    if (!c) return;
    wire::Bytes hello = HelloFrame();
    (void)c->SendRaw(hello.data(), hello.size());
    std::vector<uint8_t> junk(4 + 64, 0xab);
    junk[0] = 64;
    junk[1] = junk[2] = junk[3] = 0;
    while (!stop && c->SendRaw(junk.data(), junk.size()).ok()) (void)c->ReadFrame(1000);
  });
  flooders.emplace_back([&] {  // requests that need a sign-in, never signed in
    auto c = server.Connect();
    while (!stop && c->ListWorkspaces().error().code == ErrorCode::kUnauthenticated) {
    }
  });
  auto owner = server.SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Flooded");
  ASSERT_TRUE(ws.ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(owner->Post(ws->general_channel_id, "served " + std::to_string(i)).ok());
  }
  stop = true;
  for (auto& t : flooders) t.join();
  auto page = owner->Sync(ws->general_channel_id, 0, 200);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 100u);
  ExpectServed(server);
}

}  // namespace
}  // namespace parley::testing
