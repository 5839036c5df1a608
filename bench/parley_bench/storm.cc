// The reconnect-storm scenario (parley only): --storm_clients connections (sessions of
// --storm_users accounts, each in #general and one of --storm_rooms rooms) are signed in and
// following their channels while a publisher posts --storm_rate posts/s over the rooms and
// --storm_observers other connections measure delivery latency. Then every storm connection is
// dropped at once (RST) and reconnects at once: each signs in again with its access token and,
// for every channel whose cursor passed the last seq it saw, Syncs from that seq until it has
// everything. Reported: the time from the drop until every client is resumed, the `overloaded`
// answers (with their retry hints) and retries it took, and the observers' latency before,
// during and after the storm. At the end every client must hold every room's last seq.
//
// The storm clients run in one thread on non-blocking sockets and epoll; the observers and the
// publisher use the blocking client, each in its own thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "bench/parley_bench/engine.h"
#include "bench/parley_bench/flags.h"
#include "bench/parley_bench/frames.h"
#include "bench/parley_bench/histogram.h"
#include "bench/parley_bench/must.h"
#include "wire/client.h"

DEFINE_int32(storm_clients, 10000, "storm: connections dropped and reconnecting at once");
DEFINE_int32(storm_users, 100, "storm: accounts the storm connections are sessions of");
DEFINE_int32(storm_rooms, 20, "storm: rooms; each account is in #general and one room");
DEFINE_int32(storm_observers, 10, "storm: connections measuring delivery latency (all rooms)");
DEFINE_double(storm_rate, 50, "storm: posts/s over the rooms during the whole run");
DEFINE_double(storm_phase_s, 5, "storm: seconds measured before the drop and after the resume");
DEFINE_double(storm_timeout_s, 120, "storm: most seconds for every client to resume");

namespace parley::bench {
namespace {

constexpr Must kMust{"storm"};
constexpr char kPassword[] = "bench-password-storm";
constexpr uint64_t kHelloId = 1;
constexpr uint64_t kLoginId = 2;
constexpr size_t kPayloadBytes = 100;

// --- the storm clients ----------------------------------------------------------------------

struct Cursor {
  uint64_t channel = 0;
  uint64_t seen = 0;  // every seq up to this one was received
  bool syncing = false;
};

struct StormConn {
  int fd = -1;
  uint32_t user = 0;
  uint32_t generation = 0;  // of fd: stale retry timers are ignored
  bool connecting = false;
  bool live = false;  // signed in, and every channel caught up
  bool ever_live = false;
  std::string in, out;
  uint64_t next_id = kLoginId + 1;
  std::vector<Cursor> cursors;
};

struct StormCounts {
  uint64_t overloaded = 0;       // sign-ins answered overloaded (each retried after its hint)
  uint64_t retry_hint_ms = 0;    // the hints' sum
  uint64_t connect_errors = 0;   // connect() failed (e.g. the listen backlog was full)
  uint64_t server_closes = 0;    // connections the server ended
  uint64_t syncs = 0;            // Sync requests sent
  uint64_t synced_messages = 0;  // messages received in their pages
  uint64_t gaps = 0;             // live events past a missing seq (each started a Sync)
  uint64_t failures = 0;
  std::string first_failure;
};

class Storm {
 public:
  Storm(std::vector<std::string> tokens, uint32_t clients) : tokens_(std::move(tokens)) {
    conns_.resize(clients);
    for (uint32_t i = 0; i < clients; ++i) conns_[i].user = i % tokens_.size();
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
      bench::Fail("storm", "epoll_create1", MakeError(ErrorCode::kInternal, strerror(errno)));
    }
  }
  ~Storm() {
    for (StormConn& c : conns_) Close(c);
    close(epoll_);
  }

  // Connects every client at once; returns when all are live or the deadline passes.
  void ConnectAll() {
    for (uint32_t i = 0; i < conns_.size(); ++i) Open(i);
  }
  // Drops every client's connection (RST, as a failed network would) and reconnects at once.
  void DropAll() {
    for (StormConn& c : conns_) {
      linger hard{1, 0};
      if (c.fd >= 0) setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      Close(c);
      c.live = false;
    }
    live_ = 0;
    ConnectAll();
  }

  // Runs the loop until `done` or the deadline (MonotonicNs) passes; false: the deadline.
  bool RunUntil(const std::function<bool()>& done, uint64_t deadline_ns) {
    epoll_event events[512];
    while (!done()) {
      uint64_t now = MonotonicNs();
      if (now >= deadline_ns) return false;
      RetryDue(now);
      int n = epoll_wait(epoll_, events, 512, 1);
      for (int k = 0; k < n; ++k) {
        uint64_t data = events[k].data.u64;
        auto i = static_cast<uint32_t>(data);
        if (conns_[i].generation != static_cast<uint32_t>(data >> 32)) continue;
        Ready(i, events[k].events);
      }
    }
    return true;
  }

  uint32_t live() const { return live_; }
  uint32_t clients() const { return static_cast<uint32_t>(conns_.size()); }
  const StormCounts& counts() const { return counts_; }
  Histogram& resume_ns() { return resume_ns_; }
  void set_dropped_at(uint64_t ns) { dropped_at_ = ns; }
  // Clients whose cursor for `channel` is below `last_seq`.
  uint32_t Behind(uint64_t channel, uint64_t last_seq) const {
    uint32_t behind = 0;
    for (const StormConn& c : conns_) {
      for (const Cursor& k : c.cursors) behind += k.channel == channel && k.seen < last_seq;
    }
    return behind;
  }

 private:
  void Fail(const std::string& what) {
    if (counts_.failures++ == 0) counts_.first_failure = what;
  }

  void Open(uint32_t i) {
    StormConn& c = conns_[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return Fail(std::string("socket: ") + strerror(errno));
    ++c.generation;
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Many clients come from many addresses: spread over 127.0.0.2 ... 127.0.0.9, so that the
    // per-address connection limit applies as it would (1,250 from each).
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + i % 8);
    bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(FLAGS_port));
    inet_pton(AF_INET, FLAGS_host.c_str(), &addr.sin_addr);
    c.in.clear();
    c.out.clear();
    for (Cursor& k : c.cursors) k.syncing = false;  // what it has seen, it keeps
    c.next_id = kLoginId + 1;
    c.connecting = true;
    epoll_event ev{EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
                   {.u64 = (uint64_t{c.generation} << 32) | i}};
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      ++counts_.connect_errors;
      Close(c);
      return Later(i, 100);
    }
    wire::HelloT hello;
    hello.min_version = wire::kMinProtocolVersion;
    hello.max_version = wire::kMaxProtocolVersion;
    hello.client = "parley-bench-storm";
    Append(c, wire::EncodeFrame(kHelloId, wire::MakeBody(std::move(hello))));
    wire::LoginT login;
    login.token = tokens_[c.user];
    Append(c, wire::EncodeFrame(kLoginId, wire::MakeBody(std::move(login))));
  }

  void Close(StormConn& c) {
    if (c.fd < 0) return;
    close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    ++c.generation;
  }

  void Later(uint32_t i, uint64_t ms) {
    retries_.push({MonotonicNs() + ms * 1'000'000, i, conns_[i].generation});
  }

  void RetryDue(uint64_t now) {
    while (!retries_.empty() && retries_.top().at <= now) {
      Retry r = retries_.top();
      retries_.pop();
      if (conns_[r.conn].fd < 0 && conns_[r.conn].generation == r.generation) Open(r.conn);
    }
  }

  static void Append(StormConn& c, const wire::Bytes& frame) { c.out.append(frame.begin(), frame.end()); }

  void Ready(uint32_t i, uint32_t events) {
    StormConn& c = conns_[i];
    if (c.connecting && (events & (EPOLLOUT | EPOLLERR))) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        ++counts_.connect_errors;
        Close(c);
        return Later(i, 100);
      }
      c.connecting = false;
    }
    if (!Flush(c) || !ReadAll(i)) Lost(i);
  }

  bool Flush(StormConn& c) {
    while (c.fd >= 0 && !c.connecting && !c.out.empty()) {
      ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c.out.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  bool ReadAll(uint32_t i) {
    StormConn& c = conns_[i];
    char buf[65536];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n < 0 && errno == ENOTCONN) return true;  // still connecting
      Consume(i);
      return false;  // closed by the server, or reset
    }
    return Consume(i) && Flush(c);
  }

  // The server ended the connection (lagged, a limit) or it broke: reconnect and resume.
  void Lost(uint32_t i) {
    StormConn& c = conns_[i];
    if (c.fd < 0) return;  // closed on purpose (overloaded: a retry is scheduled)
    ++counts_.server_closes;
    if (c.live) --live_;
    c.live = false;
    Close(c);
    Open(i);
  }

  bool Consume(uint32_t i) {
    StormConn& c = conns_[i];
    size_t pos = 0;
    while (c.fd >= 0) {
      size_t used = 0;
      bool broken = false;
      const wire::Frame* f = reader_.Next(std::string_view(c.in).substr(pos), &used, &broken);
      if (broken) {
        Fail("a frame that does not verify");
        return false;
      }
      if (f == nullptr) break;
      pos += used;
      Handle(i, f);
    }
    if (c.fd >= 0) c.in.erase(0, pos);
    return true;
  }

  void Handle(uint32_t i, const wire::Frame* f) {
    StormConn& c = conns_[i];
    switch (f->body_type()) {
      case wire::Body::LoginOk:
        return SignedIn(i, f->body_as_LoginOk());
      case wire::Body::MessagePage:
        return Page(i, f->body_as_MessagePage());
      case wire::Body::MessagePosted: {
        const wire::Message* m = f->body_as_MessagePosted()->message();
        Cursor* k = Find(c, m->channel_id());
        if (k == nullptr || m->seq() <= k->seen) return;
        if (m->seq() == k->seen + 1) {
          k->seen = m->seq();
        } else if (!k->syncing && c.live) {
          ++counts_.gaps;
          Sync(c, *k);
        }
        return;
      }
      case wire::Body::Error: {
        const wire::Error* e = f->body_as_Error();
        if (f->request_id() == kLoginId && e->code() == static_cast<uint16_t>(ErrorCode::kOverloaded)) {
          ++counts_.overloaded;
          counts_.retry_hint_ms += e->retry_after_ms();
          Close(c);
          return Later(i, std::max<uint64_t>(e->retry_after_ms(), 1));
        }
        if (f->request_id() == 0) return;  // an event before the server closes (lagged)
        Fail(std::string("error answer: ") + (e->message() ? e->message()->c_str() : ""));
        return;
      }
      default:
        return;
    }
  }

  static Cursor* Find(StormConn& c, uint64_t channel) {
    for (Cursor& k : c.cursors) {
      if (k.channel == channel) return &k;
    }
    return nullptr;
  }

  void SignedIn(uint32_t i, const wire::LoginOk* ok) {
    StormConn& c = conns_[i];
    if (ok->channels() == nullptr) return Resumed(i);
    for (const wire::ChannelCursor* cursor : *ok->channels()) {
      Cursor* k = Find(c, cursor->channel_id());
      if (k == nullptr) {  // first sign-in: follow from now on
        c.cursors.push_back(Cursor{cursor->channel_id(), cursor->last_seq(), false});
        continue;
      }
      if (cursor->last_seq() > k->seen) Sync(c, *k);
    }
    if (std::none_of(c.cursors.begin(), c.cursors.end(), [](const Cursor& k) { return k.syncing; })) {
      Resumed(i);
    }
  }

  void Sync(StormConn& c, Cursor& k) {
    k.syncing = true;
    wire::SyncT sync;
    sync.channel_id = k.channel;
    sync.after_seq = k.seen;
    sync.limit = 200;
    Append(c, wire::EncodeFrame(c.next_id++, wire::MakeBody(std::move(sync))));
    ++counts_.syncs;
  }

  void Page(uint32_t i, const wire::MessagePage* page) {
    StormConn& c = conns_[i];
    Cursor* k = Find(c, page->channel_id());
    if (k == nullptr) return;
    if (page->messages() != nullptr) {
      counts_.synced_messages += page->messages()->size();
      for (const wire::Message* m : *page->messages()) k->seen = std::max(k->seen, m->seq());
    }
    if (page->has_more()) return Sync(c, *k);
    k->syncing = false;
    if (std::none_of(c.cursors.begin(), c.cursors.end(), [](const Cursor& x) { return x.syncing; })) {
      Resumed(i);
    }
  }

  void Resumed(uint32_t i) {
    StormConn& c = conns_[i];
    if (c.live) return;
    c.live = true;
    ++live_;
    if (c.ever_live && dropped_at_ != 0) resume_ns_.Record(MonotonicNs() - dropped_at_);
    c.ever_live = true;
  }

  struct Retry {
    uint64_t at;
    uint32_t conn;
    uint32_t generation;
    bool operator>(const Retry& o) const { return at > o.at; }
  };

  std::vector<std::string> tokens_;
  std::vector<StormConn> conns_;
  int epoll_ = -1;
  uint32_t live_ = 0;
  uint64_t dropped_at_ = 0;
  std::priority_queue<Retry, std::vector<Retry>, std::greater<>> retries_;
  FrameReader reader_;
  StormCounts counts_;
  Histogram resume_ns_;
};

// --- the publisher and the observers (blocking client, a thread each) -----------------------

wire::ClientOptions Options() {
  wire::ClientOptions o;
  o.host = FLAGS_host;
  o.port = static_cast<uint16_t>(FLAGS_port);
  o.timeout_ms = 60000;
  o.client_name = "parley-bench-storm";
  return o;
}

// Delivery latencies by the phase they were received in.
enum Phase { kBefore, kDuring, kAfter, kPhases };

struct Observed {
  std::mutex mu;
  Histogram latency[kPhases];
  uint64_t failures = 0;
};

std::atomic<int> phase{kBefore};
std::atomic<bool> stop{false};

void Observe(const std::string& token, Observed& out) {
  auto c = kMust(wire::Client::Connect(Options()), "observer connect");
  kMust(c->LoginWithToken(token), "observer login");
  Histogram mine[kPhases];
  while (!stop.load()) {
    auto e = c->NextEvent(200);
    if (!e.ok()) {
      if (!c->closed()) continue;  // nothing within 200 ms
      std::lock_guard lock(out.mu);
      ++out.failures;
      break;
    }
    const wire::MessagePostedT* posted = e->body.AsMessagePosted();
    if (posted == nullptr || posted->message == nullptr) continue;
    const std::string& text = posted->message->text;
    if (text.size() < 16) continue;
    uint64_t sent = std::stoull(text.substr(0, 16), nullptr, 16);
    uint64_t now = MonotonicNs();
    if (now > sent) mine[phase.load()].Record(now - sent);
  }
  std::lock_guard lock(out.mu);
  for (int p = 0; p < kPhases; ++p) out.latency[p].Merge(mine[p]);
}

// Open loop: post k is due at start + k / rate; a late post is sent at once and its latency
// counts from when it was due, so a stalled server cannot hide its backlog.
void Publish(const std::string& token, const std::vector<uint64_t>& rooms, uint64_t* posts,
             uint64_t* failures) {
  auto c = kMust(wire::Client::Connect(Options()), "publisher connect");
  kMust(c->LoginWithToken(token), "publisher login");
  const uint64_t start = MonotonicNs();
  const double interval_ns = 1e9 / FLAGS_storm_rate;
  for (uint64_t k = 0; !stop.load(); ++k) {
    auto due = start + static_cast<uint64_t>(static_cast<double>(k) * interval_ns);
    uint64_t now = MonotonicNs();
    if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    char stamp[17];
    std::snprintf(stamp, sizeof stamp, "%016" PRIx64, due);
    std::string text(stamp);
    text.resize(kPayloadBytes, 'x');
    if (!c->Post(rooms[k % rooms.size()], text).ok()) ++*failures;
    ++*posts;
  }
}

// --- setup ----------------------------------------------------------------------------------

struct Setup {
  uint64_t workspace = 0;
  std::vector<uint64_t> rooms;
  std::vector<std::string> user_tokens;
  std::string observer_token, publisher_token;
};

std::string Member(const std::string& email, const Setup& s, const std::vector<uint64_t>& rooms) {
  auto c = kMust(wire::Client::Connect(Options()), "connect");
  auto reg = c->Register(email, kPassword, "storm");
  if (!reg.ok() && reg.error().code != ErrorCode::kAlreadyExists) kMust(reg, "register");
  wire::LoginOkT login = kMust(c->Login(email, kPassword), "login");
  kMust(c->JoinWorkspace(s.workspace), "join workspace");
  for (uint64_t room : rooms) kMust(c->JoinChannel(room), "join room");
  return login.token;
}

Setup Prepare(const std::string& tag) {
  Setup s;
  auto owner = kMust(wire::Client::Connect(Options()), "connect");
  const std::string owner_email = "storm-owner-" + tag + "@bench.test";
  kMust(owner->Register(owner_email, kPassword, "owner"), "register owner");
  kMust(owner->Login(owner_email, kPassword), "login owner");
  wire::WorkspaceInfoT ws = kMust(owner->CreateWorkspace("storm-" + tag), "workspace");
  s.workspace = ws.id;
  wire::WorkspaceSettingsT open;
  open.join_open = true;
  kMust(owner->UpdateWorkspaceSettings(ws.id, open), "open the workspace");
  for (int r = 0; r < FLAGS_storm_rooms; ++r) {
    s.rooms.push_back(kMust(owner->CreateChannel(ws.id, "room-" + std::to_string(r)), "room").id);
  }
  // Accounts in parallel: each costs the server two password hashes.
  s.user_tokens.resize(static_cast<size_t>(FLAGS_storm_users));
  std::vector<std::thread> threads;
  std::atomic<size_t> next{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (size_t u = next++; u < s.user_tokens.size(); u = next++) {
        s.user_tokens[u] = Member("storm-" + std::to_string(u) + "-" + tag + "@bench.test", s,
                                  {s.rooms[u % s.rooms.size()]});
      }
    });
  }
  for (auto& t : threads) t.join();
  s.observer_token = Member("storm-observer-" + tag + "@bench.test", s, s.rooms);
  s.publisher_token = Member("storm-publisher-" + tag + "@bench.test", s, s.rooms);
  return s;
}

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string LatencyJson(const Histogram& h) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"n\":%" PRIu64 ",\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}",
                h.count(), Ms(h.Percentile(0.5)), Ms(h.Percentile(0.99)), Ms(h.max()));
  return buf;
}

}  // namespace

int StormScenario() {
  const std::string tag = FLAGS_tag.empty() ? std::to_string(::time(nullptr)) : FLAGS_tag;
  const auto clients = static_cast<uint32_t>(FLAGS_storm_clients);
  const uint64_t phase_ns = static_cast<uint64_t>(FLAGS_storm_phase_s * 1e9);
  const uint64_t timeout_ns = static_cast<uint64_t>(FLAGS_storm_timeout_s * 1e9);
  Setup setup = Prepare(tag);
  Storm storm(setup.user_tokens, clients);

  uint64_t t0 = MonotonicNs();
  storm.ConnectAll();
  if (!storm.RunUntil([&] { return storm.live() == clients; }, t0 + timeout_ns)) {
    std::fprintf(stderr, "storm: only %u of %u clients signed in\n", storm.live(), clients);
    return 1;
  }
  const double connect_s = static_cast<double>(MonotonicNs() - t0) / 1e9;
  const uint64_t overloaded_at_connect = storm.counts().overloaded;

  Observed observed;
  uint64_t posts = 0, post_failures = 0;
  std::vector<std::thread> threads;
  for (int o = 0; o < FLAGS_storm_observers; ++o) {
    threads.emplace_back([&] { Observe(setup.observer_token, observed); });
  }
  threads.emplace_back([&] { Publish(setup.publisher_token, setup.rooms, &posts, &post_failures); });

  // Before: the clients follow the rooms while the observers measure.
  storm.RunUntil([] { return false; }, MonotonicNs() + phase_ns);
  const uint64_t dropped_at = MonotonicNs();
  phase = kDuring;
  storm.set_dropped_at(dropped_at);
  storm.DropAll();
  bool resumed = storm.RunUntil([&] { return storm.live() == clients; }, dropped_at + timeout_ns);
  const uint64_t resumed_at = MonotonicNs();
  phase = kAfter;
  storm.RunUntil([] { return false; }, resumed_at + phase_ns);
  stop = true;
  for (auto& t : threads) t.join();
  // Everything posted has been delivered once the publisher is stopped: let the clients read it,
  // then check that each holds every room's last seq.
  storm.RunUntil([] { return false; }, MonotonicNs() + 1'000'000'000);
  auto checker = kMust(wire::Client::Connect(Options()), "connect");
  kMust(checker->LoginWithToken(setup.observer_token), "login");
  uint64_t behind = 0;
  for (uint64_t room : setup.rooms) {
    wire::MessagePageT page = kMust(checker->History(room, 0, 0, 1), "history");
    behind += storm.Behind(room, page.last_seq);
  }

  const StormCounts& n = storm.counts();
  const double storm_s = static_cast<double>(resumed_at - dropped_at) / 1e9;
  std::printf("storm: %u clients (%d accounts, %d rooms), %.0f posts/s, %d observers\n", clients,
              FLAGS_storm_users, FLAGS_storm_rooms, FLAGS_storm_rate, FLAGS_storm_observers);
  std::printf("first sign-in of all: %.2f s (%" PRIu64 " overloaded answers)\n", connect_s,
              overloaded_at_connect);
  std::printf("drop -> all resumed: %.2f s%s; resume p50 %.0f ms, p99 %.0f ms, last %.0f ms\n",
              storm_s, resumed ? "" : " (TIMED OUT)", Ms(storm.resume_ns().Percentile(0.5)),
              Ms(storm.resume_ns().Percentile(0.99)), Ms(storm.resume_ns().max()));
  const uint64_t overloaded = n.overloaded - overloaded_at_connect;
  std::printf("during the storm: %" PRIu64 " overloaded answers (mean hint %.0f ms), %" PRIu64
              " connect errors, %" PRIu64 " server closes, %" PRIu64 " syncs, %" PRIu64
              " messages synced, %" PRIu64 " gaps\n",
              overloaded, overloaded ? static_cast<double>(n.retry_hint_ms) / static_cast<double>(n.overloaded) : 0.0,
              n.connect_errors, n.server_closes, n.syncs, n.synced_messages, n.gaps);
  const char* names[kPhases] = {"before", "during", "after"};
  std::printf("%-8s %10s %10s %10s %10s   (observers' delivery latency)\n", "phase", "deliveries",
              "p50 ms", "p99 ms", "max ms");
  for (int p = 0; p < kPhases; ++p) {
    const Histogram& h = observed.latency[p];
    std::printf("%-8s %10" PRIu64 " %10.2f %10.2f %10.2f\n", names[p], h.count(),
                Ms(h.Percentile(0.5)), Ms(h.Percentile(0.99)), Ms(h.max()));
  }
  const uint64_t failures = n.failures + post_failures + observed.failures;
  std::printf("posts %" PRIu64 ", failures %" PRIu64 "%s%s, clients behind at the end %" PRIu64 "\n",
              posts, failures, n.first_failure.empty() ? "" : ": ", n.first_failure.c_str(), behind);
  if (FLAGS_server_pid > 0) {
    std::printf("server RSS %.1f MiB\n",
                static_cast<double>(ProcessRssBytes(FLAGS_server_pid)) / (1 << 20));
  }

  utsname u{};
  uname(&u);
  char head[1024];
  std::snprintf(head, sizeof head,
                "{\"scenario\":\"storm\",\"target\":\"%s\",\"label\":\"%s\",\"nproc\":%u,"
                "\"kernel\":\"%s\",\"params\":{\"clients\":%u,\"users\":%d,\"rooms\":%d,"
                "\"rate\":%.0f,\"observers\":%d},\"connect_s\":%.3f,\"resume_s\":%.3f,"
                "\"resumed\":%s,\"resume_p50_ms\":%.1f,\"resume_p99_ms\":%.1f,"
                "\"overloaded\":%" PRIu64 ",\"connect_errors\":%" PRIu64 ",\"syncs\":%" PRIu64
                ",\"failures\":%" PRIu64 ",\"behind\":%" PRIu64 ",",
                FLAGS_target.c_str(), FLAGS_label.c_str(), std::thread::hardware_concurrency(),
                u.release, clients, FLAGS_storm_users, FLAGS_storm_rooms, FLAGS_storm_rate,
                FLAGS_storm_observers, connect_s, storm_s, resumed ? "true" : "false",
                Ms(storm.resume_ns().Percentile(0.5)), Ms(storm.resume_ns().Percentile(0.99)),
                overloaded, n.connect_errors, n.syncs, failures, behind);
  std::string line = std::string(head) + "\"before\":" + LatencyJson(observed.latency[kBefore]) +
                     ",\"during\":" + LatencyJson(observed.latency[kDuring]) +
                     ",\"after\":" + LatencyJson(observed.latency[kAfter]) + "}";
  std::printf("%s\n", line.c_str());
  if (!FLAGS_json_out.empty()) std::ofstream(FLAGS_json_out, std::ios::app) << line << "\n";
  return resumed && failures == 0 && behind == 0 ? 0 : 1;
}

}  // namespace parley::bench
