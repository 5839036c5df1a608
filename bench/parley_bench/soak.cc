// The soak scenario (parley only, issue 8): --soak_workers blocking clients, each its own account
// in one workspace of --soak_channels channels, run a weighted random mix for --soak_seconds at
// --soak_rate operations/s in all: top-level posts, thread replies, reactions added and removed,
// edits, searches, History and ThreadHistory reads, and every ~--soak_churn_ops operations a
// dropped connection resumed with its access token and a Sync of every channel from the last seq
// seen (the refresh token is rotated before the access token expires). Every worker follows every
// channel live and checks that each MessagePosted is the next seq (a gap is a delivery failure).
//
// A sampler reads the server's RSS (anonymous and file-backed), open descriptors and CPU every
// --soak_sample_s, with the window's operation count and latency. At the end the run is checked
// for delivery: every channel read back from seq 1 holds exactly the acknowledged posts, with
// their authors, final texts (edits), threads, reply counts and reactions; every worker has seen
// every seq; every worker's first post is searchable. The verdict is computed (see Verdict()) and
// the exit status is 1 when it fails.
#include <dirent.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bench/parley_bench/engine.h"
#include "bench/parley_bench/flags.h"
#include "bench/parley_bench/histogram.h"
#include "bench/parley_bench/must.h"
#include "bench/parley_bench/words.h"
#include "wire/client.h"

DEFINE_double(soak_seconds, 600, "soak: length of the mixed workload");
DEFINE_int32(soak_workers, 8, "soak: client threads, one account and one connection each");
DEFINE_int32(soak_channels, 10, "soak: channels every worker is in");
DEFINE_double(soak_rate, 400, "soak: operations per second over all workers (0: unpaced)");
DEFINE_int32(soak_churn_ops, 100, "soak: a worker drops its connection and resumes every ~N ops");
DEFINE_double(soak_sample_s, 10, "soak: seconds between samples of the server");
DEFINE_double(soak_warmup_s, 60, "soak: run-in before the first latency window compared");
// parley holds every message in memory, so RSS grows with what is stored: about 1 KiB per write
// in this mix, both as the soak's slope and as the RSS of a server restarted on its data (see
// run-soak.sh). The allowance is 1.5 times that; a leak of more than ~500 B per write fails.
DEFINE_double(soak_message_bytes, 1536,
              "soak: memory a stored write may take (text, state, search postings, log pages): "
              "RSS may grow by this much per post, reply and edit acknowledged");
DEFINE_double(soak_rss_pct, 5, "soak: most RSS growth beyond that, in % of the mean per 10 min");
DEFINE_double(soak_p99_ratio, 2, "soak: most p99 of the last windows over the first ones");

namespace parley::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Must kMust{"soak"};

enum Kind { kPost, kReply, kReact, kUnreact, kEdit, kSearch, kHistory, kThread, kResume, kSync,
            kRefresh, kKinds };
constexpr const char* kKindNames[kKinds] = {"post", "reply", "react", "unreact", "edit", "search",
                                            "history", "thread", "resume", "sync", "refresh"};
// The random mix over the first kResume kinds; resume, sync and refresh come on their own.
constexpr int kWeights[kResume] = {30, 15, 12, 8, 8, 10, 12, 5};
constexpr const char* kEmoji[] = {"thumbsup", "tada", "eyes", "rocket", "heart", "100"};
constexpr int kVocabulary = 2000;
constexpr int kMarkRank = 100000;   // Word(kMarkRank + w): worker w's first post, nowhere else
constexpr size_t kRecent = 256;     // seqs remembered per channel for replies and reactions
constexpr auto kEditWithin = std::chrono::seconds(240);  // inside the server's 5-minute window

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

wire::ClientOptions Options() {
  wire::ClientOptions o;
  o.host = FLAGS_host;
  o.port = static_cast<uint16_t>(FLAGS_port);
  o.timeout_ms = 30000;
  o.client_name = "parley-bench-soak";
  return o;
}

// What the run expects the server to hold, per (channel, seq).
struct Expected {
  uint64_t author = 0;
  std::string text;  // the last acknowledged text (edits replace it)
  uint64_t thread_seq = 0;
};
using Key = std::pair<uint64_t, uint64_t>;                         // channel, seq
using ReactionKey = std::tuple<uint64_t, uint64_t, std::string>;   // channel, seq, emoji

struct Shared {
  std::vector<uint64_t> channels;
  std::vector<std::string> channel_names;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> stored{0};  // posts, replies and edits acknowledged
  std::mutex mu;
  std::vector<std::string> first_errors;  // the first few, for the report

  void Error(int worker, const std::string& what, const parley::Error& e) {
    errors.fetch_add(1);
    std::lock_guard lock(mu);
    if (first_errors.size() < 10) {
      first_errors.push_back("worker " + std::to_string(worker) + " " + what + ": " +
                             std::string(ErrorCodeName(e.code)) + " " + e.message + " " +
                             e.details);
    }
  }
};

class Worker {
 public:
  Worker(Shared& shared, int index, const std::string& tag)
      : shared_(shared),
        index_(index),
        email_("soak-" + tag + "-" + std::to_string(index) + "@bench.example.com"),
        password_("bench-password-" + tag),
        rng_(static_cast<uint64_t>(index) * 7919 + 17) {
    for (uint64_t ch : shared_.channels) last_seen_[ch] = 0;
  }

  // Registers, signs in and joins the workspace and its channels.
  void Setup(uint64_t workspace) {
    auto c = kMust(wire::Client::Connect(Options()), "connect");
    user_ = kMust(c->Register(email_, password_, "Soak " + std::to_string(index_)), "register")
                .user_id;
    wire::LoginOkT ok = kMust(c->Login(email_, password_, "soak"), "login");
    Tokens(ok.token, ok.refresh_token, ok.access_expires_at_ms);
    kMust(c->JoinWorkspace(workspace), "join workspace");
    for (uint64_t ch : shared_.channels) kMust(c->JoinChannel(ch), "join channel");
    client_ = std::move(c);
    CatchUpAll();
  }

  void Run(Clock::time_point end, double rate) {
    Clock::time_point next = Clock::now();
    const auto gap = rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(1.0 / rate))
                              : Clock::duration::zero();
    std::uniform_int_distribution<int> churn(FLAGS_soak_churn_ops / 2,
                                             FLAGS_soak_churn_ops * 3 / 2);
    int until_churn = churn(rng_);
    std::discrete_distribution<int> mix(std::begin(kWeights), std::end(kWeights));
    // The first post carries the worker's mark word, searched for at the end.
    Post(0, " " + Word(kMarkRank + index_));
    while (client_ && Clock::now() < end && !shared_.stop.load(std::memory_order_relaxed)) {
      if (rate > 0) {
        next += gap;
        // Behind by more than a second (a stall): start afresh rather than burst to catch up.
        if (next < Clock::now() - std::chrono::seconds(1)) next = Clock::now();
        std::this_thread::sleep_until(next);
      }
      if (--until_churn <= 0) {
        until_churn = churn(rng_);
        Resume();
      } else if (NowMs() > access_expires_ms_ - 120'000) {
        Refresh();
      } else {
        Do(static_cast<Kind>(mix(rng_)));
      }
      Drain();
    }
  }

  // After every worker stopped: everything posted reaches this worker too.
  void Finish() {
    if (!client_) Resume();
    Drain();
    if (client_) CatchUpAll();
  }

  void TakeWindow(Histogram& into, uint64_t& ops) {
    std::lock_guard lock(window_mu_);
    into.Merge(window_);
    ops += window_.count();
    window_ = Histogram();
  }

  int index() const { return index_; }
  uint64_t user() const { return user_; }
  const std::string& token() const { return token_; }
  const Histogram& histogram(int kind) const { return hist_[kind]; }
  const std::map<Key, Expected>& expected() const { return expected_; }
  const std::set<ReactionKey>& reactions() const { return reactions_; }
  const std::map<uint64_t, uint64_t>& last_seen() const { return last_seen_; }
  uint64_t gaps() const { return gaps_; }
  uint64_t lagged() const { return lagged_; }

 private:
  struct Own {
    uint64_t channel, seq;
    Clock::time_point at;
  };

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Tokens are rotated two minutes before the access token expires.
  void Tokens(const std::string& token, const std::string& refresh, int64_t expires_ms) {
    token_ = token;
    refresh_ = refresh;
    access_expires_ms_ = expires_ms;
  }

  void Record(Kind kind, Clock::time_point t0) {
    auto ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    hist_[kind].Record(ns);
    std::lock_guard lock(window_mu_);
    window_.Record(ns);
  }

  // A failed call: counted, and the connection replaced (its state is unknown now).
  void Failed(Kind kind, const parley::Error& e) { Failed(kKindNames[kind], e); }
  void Failed(const char* what, const parley::Error& e) {
    shared_.Error(index_, what, e);
    Resume();
  }

  uint64_t Channel() {
    return shared_.channels[std::uniform_int_distribution<size_t>(
        0, shared_.channels.size() - 1)(rng_)];
  }
  template <class T>
  const T& Pick(const std::deque<T>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng_)];
  }
  std::string Words(int n) {
    std::uniform_int_distribution<int> rank(0, kVocabulary - 1);
    std::string s;
    for (int i = 0; i < n; ++i) s += " " + Word(rank(rng_));
    return s;
  }

  void Do(Kind kind) {
    switch (kind) {
      case kPost: return Post(0, "");
      case kReply: {
        uint64_t ch = Channel();
        if (tops_[ch].empty()) return Post(0, "");
        return Post(ch, "", Pick(tops_[ch]));
      }
      case kReact: return React();
      case kUnreact: return Unreact();
      case kEdit: return Edit();
      case kSearch: return Search();
      case kHistory: {
        uint64_t ch = Channel();
        Clock::time_point t0 = Clock::now();
        auto page = client_->History(ch, 0, 0, 50);
        Record(kHistory, t0);
        if (!page.ok()) return Failed(kHistory, page.error());
        return;
      }
      case kThread: {
        uint64_t ch = Channel();
        if (tops_[ch].empty()) return Search();
        Clock::time_point t0 = Clock::now();
        auto page = client_->ThreadHistory(ch, Pick(tops_[ch]));
        Record(kThread, t0);
        if (!page.ok()) return Failed(kThread, page.error());
        return;
      }
      default: return;
    }
  }

  // A top-level post (thread 0) or a reply; a failed one is retried with its client_msg_id, so
  // it is stored once whatever became of the first attempt.
  void Post(uint64_t ch, const std::string& extra, uint64_t thread = 0) {
    if (ch == 0) ch = Channel();
    const Kind kind = thread ? kReply : kPost;
    const std::string id = std::to_string(index_) + "-" + std::to_string(++posts_);
    const std::string text =
        "soak " + id + extra + Words(std::uniform_int_distribution(4, 12)(rng_));
    const bool also = thread && std::uniform_int_distribution(0, 9)(rng_) == 0;
    for (int attempt = 0; attempt < 3 && client_; ++attempt) {
      Clock::time_point t0 = Clock::now();
      auto ack = thread ? client_->Reply(ch, thread, text, also, id) : client_->Post(ch, text, id);
      Record(kind, t0);
      if (!ack.ok()) {
        Failed(kind, ack.error());
        continue;
      }
      expected_[{ch, ack->seq}] = Expected{user_, text, thread};
      shared_.stored.fetch_add(1, std::memory_order_relaxed);
      // The mark word must stay searchable: the first post is never edited.
      if (extra.empty()) own_.push_back(Own{ch, ack->seq, Clock::now()});
      return;
    }
  }

  void React() {
    uint64_t ch = Channel();
    if (recent_[ch].empty()) return Post(ch, "");
    uint64_t seq = Pick(recent_[ch]);
    std::string emoji = kEmoji[std::uniform_int_distribution<size_t>(0, 5)(rng_)];
    Clock::time_point t0 = Clock::now();
    Status s = client_->AddReaction(ch, seq, emoji);
    Record(kReact, t0);
    if (!s.ok()) return Failed(kReact, s.error());
    reactions_.insert({ch, seq, emoji});
  }

  void Unreact() {
    if (reactions_.empty()) return React();
    auto it = std::next(reactions_.begin(), std::uniform_int_distribution<size_t>(
                                                0, reactions_.size() - 1)(rng_));
    auto [ch, seq, emoji] = *it;
    Clock::time_point t0 = Clock::now();
    Status s = client_->RemoveReaction(ch, seq, emoji);
    Record(kUnreact, t0);
    if (!s.ok()) return Failed(kUnreact, s.error());
    reactions_.erase(it);
  }

  void Edit() {
    while (!own_.empty() && Clock::now() - own_.front().at > kEditWithin) own_.pop_front();
    if (own_.empty()) return Post(0, "");
    const Own& own = Pick(own_);
    Expected& e = expected_.at({own.channel, own.seq});
    // The id stays first, so the read-back can still tell whose message it is.
    std::string text = e.text.substr(0, e.text.find(' ', 5)) + " edited" + Words(5);
    Clock::time_point t0 = Clock::now();
    auto ack = client_->EditMessage(own.channel, own.seq, text);
    Record(kEdit, t0);
    if (!ack.ok()) return Failed(kEdit, ack.error());
    e.text = text;
    shared_.stored.fetch_add(1, std::memory_order_relaxed);
  }

  void Search() {
    std::string query = Words(1).substr(1);
    if (std::uniform_int_distribution(0, 3)(rng_) == 0) {
      query += " in:#" + shared_.channel_names[std::uniform_int_distribution<size_t>(
                             0, shared_.channel_names.size() - 1)(rng_)];
    }
    Clock::time_point t0 = Clock::now();
    auto r = client_->Search(query);
    Record(kSearch, t0);
    if (!r.ok()) return Failed(kSearch, r.error());
  }

  void Refresh() {
    Clock::time_point t0 = Clock::now();
    auto tokens = client_->Refresh(refresh_);
    Record(kRefresh, t0);
    if (!tokens.ok()) return Failed(kRefresh, tokens.error());
    Tokens(tokens->token, tokens->refresh_token, tokens->access_expires_at_ms);
  }

  // Drops the connection (if any) and resumes the session on a new one, then syncs every
  // channel from the last seq seen. Retries a failed resume, each failure an error.
  void Resume() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      client_.reset();
      if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      Clock::time_point t0 = Clock::now();
      auto c = wire::Client::Connect(Options());
      if (!c.ok()) {
        shared_.Error(index_, "connect", c.error());
        continue;
      }
      auto ok = (*c)->LoginWithToken(token_);
      Record(kResume, t0);
      if (!ok.ok()) {
        shared_.Error(index_, "resume", ok.error());
        continue;
      }
      client_ = std::move(*c);
      if (CatchUpAll()) return;
    }
    std::fprintf(stderr, "parley-bench soak: worker %d cannot resume; stopping the run\n", index_);
    shared_.stop.store(true);
    client_.reset();
  }

  // Syncs the channel from the last seq seen until has_more is false; false on a failure.
  bool CatchUp(uint64_t ch) {
    uint64_t& last = last_seen_[ch];
    for (;;) {
      Clock::time_point t0 = Clock::now();
      auto page = client_->Sync(ch, last, 200);
      Record(kSync, t0);
      if (!page.ok()) {
        shared_.Error(index_, "sync", page.error());
        return false;
      }
      for (const auto& m : page->messages) {
        if (m->seq != last + 1) {
          shared_.Error(index_, "sync", MakeError(ErrorCode::kInternal, "page skips a seq",
                                                  std::to_string(last) + " -> " +
                                                      std::to_string(m->seq)));
        }
        Seen(*m);
      }
      if (!page->has_more) return true;
    }
  }
  bool CatchUpAll() {
    for (uint64_t ch : shared_.channels) {
      if (!CatchUp(ch)) return false;
    }
    return true;
  }

  void Seen(const wire::MessageT& m) {
    last_seen_[m.channel_id] = m.seq;
    auto remember = [](std::deque<uint64_t>& ring, uint64_t seq) {
      ring.push_back(seq);
      if (ring.size() > kRecent) ring.pop_front();
    };
    remember(recent_[m.channel_id], m.seq);
    if (m.thread_seq == 0) remember(tops_[m.channel_id], m.seq);
  }

  // Handles the events that arrived; a MessagePosted must be the channel's next seq.
  void Drain() {
    while (client_) {
      auto event = client_->NextEvent(0);
      if (!event.ok()) {
        if (client_->closed()) Failed("connection", event.error());
        return;
      }
      if (const wire::MessagePostedT* posted = event->body.AsMessagePosted()) {
        const wire::MessageT& m = *posted->message;
        auto it = last_seen_.find(m.channel_id);
        if (it == last_seen_.end() || m.seq <= it->second) continue;  // #general, or synced
        if (m.seq == it->second + 1) {
          Seen(m);
        } else {
          ++gaps_;
          shared_.Error(index_, "event", MakeError(ErrorCode::kInternal, "a gap in the seqs",
                                                   std::to_string(it->second) + " -> " +
                                                       std::to_string(m.seq)));
          if (!CatchUp(m.channel_id)) return Resume();
        }
      } else if (const wire::ErrorT* error = event->body.AsError()) {
        // lagged is the server's documented answer to a slow reader: resume with Sync. The
        // workers read all the time, so it is counted and shown, but not an error.
        if (static_cast<ErrorCode>(error->code) == ErrorCode::kLagged) {
          ++lagged_;
          if (!CatchUpAll()) return Resume();
        } else {
          Failed("event", MakeError(static_cast<ErrorCode>(error->code), error->message,
                                    error->details));
        }
      } else if (event->body.AsGoingAway()) {
        return Failed("event", MakeError(ErrorCode::kUnavailable, "going away"));
      }
    }
  }

  Shared& shared_;
  const int index_;
  const std::string email_, password_;
  std::mt19937_64 rng_;
  std::unique_ptr<wire::Client> client_;
  uint64_t user_ = 0;
  std::string token_, refresh_;
  int64_t access_expires_ms_ = 0;
  uint64_t posts_ = 0;
  std::map<uint64_t, uint64_t> last_seen_;  // per soak channel
  std::map<uint64_t, std::deque<uint64_t>> recent_, tops_;
  std::deque<Own> own_;  // own posts young enough to edit
  std::map<Key, Expected> expected_;
  std::set<ReactionKey> reactions_;  // added by this worker and not removed
  Histogram hist_[kKinds];
  std::mutex window_mu_;
  Histogram window_;  // all kinds since the sampler last took it
  uint64_t gaps_ = 0, lagged_ = 0;
};

// --- sampling -----------------------------------------------------------------------------

struct Sample {
  double t = 0;  // seconds since the workload started
  uint64_t rss = 0, anon = 0, file = 0;
  int fds = 0;
  double cpu = 0;  // cores over the window
  double io_full = -1;  // the machine's share of the window with every task stalled on I/O
  uint64_t ops = 0;
  uint64_t stored = 0;  // cumulative
  Histogram latency;    // the window's
};

std::map<std::string, uint64_t> StatusKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::map<std::string, uint64_t> out;
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos || line.find("kB") == std::string::npos) continue;
    out[line.substr(0, colon)] = std::stoull(line.substr(colon + 1));
  }
  return out;
}

// The machine's "full" I/O stall time so far (pressure stall information), in seconds; -1 when
// the kernel has none. The machine is shared: a latency spike with I/O stalls is the disk's.
double IoStallSeconds() {
  std::ifstream in("/proc/pressure/io");
  std::string line;
  while (std::getline(in, line)) {
    size_t at = line.find("total=");
    if (line.rfind("full", 0) == 0 && at != std::string::npos) {
      return std::stod(line.substr(at + 6)) / 1e6;
    }
  }
  return -1;
}

int OpenFds(pid_t pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

Sample TakeSample(std::vector<std::unique_ptr<Worker>>& workers, const Shared& shared,
                  double t, double window_s, double& cpu_before, double& io_before) {
  Sample s;
  s.t = t;
  auto kb = StatusKb(FLAGS_server_pid);
  s.rss = kb["VmRSS"] * 1024;
  s.anon = kb["RssAnon"] * 1024;
  s.file = kb["RssFile"] * 1024;
  s.fds = OpenFds(FLAGS_server_pid);
  double cpu = ProcessCpuSeconds(FLAGS_server_pid);
  s.cpu = window_s > 0 ? (cpu - cpu_before) / window_s : 0;
  cpu_before = cpu;
  double io = IoStallSeconds();
  if (window_s > 0 && io >= 0) s.io_full = (io - io_before) / window_s;
  io_before = io;
  for (auto& w : workers) w->TakeWindow(s.latency, s.ops);
  s.stored = shared.stored.load();
  return s;
}

// Least-squares slope of y over x.
double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  double n = static_cast<double>(x.size());
  if (n < 2) return 0;
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

// --- the read-back -------------------------------------------------------------------------

struct Check {
  uint64_t failures = 0;
  std::vector<std::string> first;
  void Fail(const std::string& what) {
    ++failures;
    if (first.size() < 10) first.push_back(what);
  }
};

// Reads every channel from seq 1 and compares it with what the workers were acknowledged.
void Verify(wire::Client& c, const Shared& shared,
            const std::vector<std::unique_ptr<Worker>>& workers, Check& check,
            uint64_t& messages) {
  std::map<Key, Expected> expected;
  std::set<std::tuple<uint64_t, uint64_t, std::string, uint64_t>> reactions;
  std::map<Key, uint32_t> replies;  // per thread
  for (const auto& w : workers) {
    for (const auto& [key, e] : w->expected()) {
      expected[key] = e;
      if (e.thread_seq) ++replies[{key.first, e.thread_seq}];
    }
    for (const auto& [ch, seq, emoji] : w->reactions()) {
      reactions.insert({ch, seq, emoji, w->user()});
    }
  }
  auto where = [](uint64_t ch, uint64_t seq) {
    return "channel " + std::to_string(ch) + " seq " + std::to_string(seq) + ": ";
  };
  for (uint64_t ch : shared.channels) {
    uint64_t last = 0;
    for (bool more = true; more;) {
      wire::MessagePageT page = kMust(c.Sync(ch, last, 200), "read back");
      more = page.has_more;
      for (const auto& m : page.messages) {
        if (m->seq != last + 1) check.Fail(where(ch, m->seq) + "after " + std::to_string(last));
        last = m->seq;
        ++messages;
        auto e = expected.find({ch, m->seq});
        if (e == expected.end()) {
          check.Fail(where(ch, m->seq) + "stored but never acknowledged");
          continue;
        }
        if (m->author_id != e->second.author || m->text != e->second.text ||
            m->thread_seq != e->second.thread_seq) {
          check.Fail(where(ch, m->seq) + "holds \"" + m->text + "\", acknowledged \"" +
                     e->second.text + "\"");
        }
        expected.erase(e);
        auto r = replies.find({ch, m->seq});
        uint32_t want = r == replies.end() ? 0 : r->second;
        if (m->thread_seq == 0 && m->reply_count != want) {
          check.Fail(where(ch, m->seq) + std::to_string(m->reply_count) + " replies, " +
                     std::to_string(want) + " acknowledged");
        }
        for (const auto& reaction : m->reactions) {
          for (uint64_t user : reaction->users) {
            if (!reactions.erase({ch, m->seq, reaction->emoji, user})) {
              check.Fail(where(ch, m->seq) + "reaction " + reaction->emoji + " of user " +
                         std::to_string(user) + " was removed");
            }
          }
        }
      }
    }
    for (const auto& w : workers) {
      if (w->last_seen().at(ch) != last) {
        check.Fail("worker " + std::to_string(w->index()) + " saw channel " +
                   std::to_string(ch) + " up to seq " + std::to_string(w->last_seen().at(ch)) +
                   " of " + std::to_string(last));
      }
    }
  }
  for (const auto& [key, e] : expected) {
    check.Fail(where(key.first, key.second) + "acknowledged, missing");
  }
  for (const auto& [ch, seq, emoji, user] : reactions) {
    check.Fail(where(ch, seq) + "reaction " + emoji + " of user " + std::to_string(user) +
               " missing");
  }
  // Search: each worker's first post carries a word of its own.
  for (const auto& w : workers) {
    const std::string word = Word(kMarkRank + w->index());
    size_t hits = 0;
    for (int i = 0; i < 300 && hits == 0; ++i) {
      hits = kMust(c.Search(word), "search").messages.size();
      if (hits == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (hits != 1) check.Fail("search " + word + ": " + std::to_string(hits) + " hits, not 1");
  }
}

std::string Ms(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", ns / 1e6);
  return buf;
}

}  // namespace

int SoakScenario() {
  if (FLAGS_server_pid == 0) {
    std::fprintf(stderr, "parley-bench soak: needs --server_pid (its RSS, fds and CPU)\n");
    return 2;
  }
  const std::string tag = FLAGS_tag.empty() ? std::to_string(::time(nullptr)) : FLAGS_tag;
  const int n = std::max(1, FLAGS_soak_workers);
  const double duration = FLAGS_soak_seconds;
  Shared shared;

  // The owner makes an open workspace and the channels; the workers join them.
  const std::string owner_email = "soak-" + tag + "-owner@bench.example.com";
  const std::string password = "bench-password-" + tag;
  auto owner = kMust(wire::Client::Connect(Options()), "connect");
  kMust(owner->Register(owner_email, password, "Soak Owner"), "register");
  kMust(owner->Login(owner_email, password), "login");
  wire::WorkspaceInfoT ws = kMust(owner->CreateWorkspace("soak-" + tag), "workspace");
  wire::WorkspaceSettingsT settings = *ws.settings;
  settings.join_open = true;
  settings.receipts_max_members.reset();
  settings.retention_days.reset();
  kMust(owner->UpdateWorkspaceSettings(ws.id, settings), "join_open");
  for (int i = 0; i < FLAGS_soak_channels; ++i) {
    std::string name = "soak-" + std::to_string(i);
    shared.channels.push_back(kMust(owner->CreateChannel(ws.id, name, false), "channel").id);
    shared.channel_names.push_back(name);
  }
  owner.reset();  // the read-back at the end signs in afresh (the access token may expire)

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>(shared, i, tag));
  {
    std::vector<std::thread> setup;
    for (auto& w : workers) setup.emplace_back([&w, &ws] { w->Setup(ws.id); });
    for (auto& t : setup) t.join();
  }
  std::printf("soak: %d workers in %d channels, %.0f s at %.0f ops/s, resume every ~%d ops, "
              "server pid %d\n",
              n, FLAGS_soak_channels, duration, FLAGS_soak_rate, FLAGS_soak_churn_ops,
              FLAGS_server_pid);
  std::fflush(stdout);

  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(duration));
  std::vector<Sample> samples;
  double cpu_before = ProcessCpuSeconds(FLAGS_server_pid);
  double io_before = 0;
  samples.push_back(TakeSample(workers, shared, 0, 0, cpu_before, io_before));
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, end, n] { w->Run(end, FLAGS_soak_rate / n); });
  }
  std::printf("%7s %9s %9s %9s %5s %5s %8s %8s %8s %9s %7s %7s\n", "t_s", "rss_MiB", "anon_MiB",
              "file_MiB", "fds", "cpu", "ops/s", "p50_ms", "p99_ms", "stored", "errors",
              "io_full");
  auto row = [&](const Sample& s, double window) {
    char io[16] = "-";
    if (s.io_full >= 0) std::snprintf(io, sizeof io, "%.0f%%", s.io_full * 100);
    std::printf("%7.0f %9.1f %9.1f %9.1f %5d %4.0f%% %8.0f %8s %8s %9llu %7llu %7s\n", s.t,
                s.rss / 1048576.0, s.anon / 1048576.0, s.file / 1048576.0, s.fds, s.cpu * 100,
                window > 0 ? s.ops / window : 0, Ms(s.latency.Percentile(0.5)).c_str(),
                Ms(s.latency.Percentile(0.99)).c_str(),
                static_cast<unsigned long long>(s.stored),
                static_cast<unsigned long long>(shared.errors.load()), io);
    std::fflush(stdout);
  };
  row(samples.back(), 0);
  // The sampler: this thread, on a fixed schedule.
  for (int k = 1;; ++k) {
    Clock::time_point due = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(k * FLAGS_soak_sample_s));
    if (due > end) due = end;
    while (Clock::now() < due && !shared.stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double t = Seconds(start);
    samples.push_back(
        TakeSample(workers, shared, t, t - samples.back().t, cpu_before, io_before));
    row(samples.back(), t - samples[samples.size() - 2].t);
    if (due >= end || shared.stop.load()) break;
  }
  for (auto& t : threads) t.join();
  const double ran = Seconds(start);

  for (auto& w : workers) w->Finish();
  Check check;
  uint64_t messages = 0;
  {
    auto c = kMust(wire::Client::Connect(Options()), "connect");
    kMust(c->Login(owner_email, password), "login");
    Verify(*c, shared, workers, check, messages);
  }

  // --- the verdict ---
  Histogram kinds[kKinds];
  uint64_t ops = 0, gaps = 0, lagged = 0;
  for (const auto& w : workers) {
    for (int k = 0; k < kKinds; ++k) kinds[k].Merge(w->histogram(k));
    gaps += w->gaps();
    lagged += w->lagged();
  }
  for (const Histogram& h : kinds) ops += h.count();
  // Memory and descriptors: fitted over the second half (the first is the run-in).
  std::vector<double> minutes, rss, fds, stored;
  double rss_mean = 0;
  const Sample* half = nullptr;
  for (const Sample& s : samples) {
    if (s.t < ran / 2) continue;
    if (!half) half = &s;
    minutes.push_back(s.t / 60);
    rss.push_back(static_cast<double>(s.rss));
    fds.push_back(s.fds);
    stored.push_back(static_cast<double>(s.stored));
    rss_mean += static_cast<double>(s.rss);
  }
  rss_mean /= std::max<size_t>(1, rss.size());
  const double rss_slope = Slope(minutes, rss);          // bytes per minute
  const double stored_slope = Slope(minutes, stored);    // writes per minute
  const double allowed_slope = stored_slope * FLAGS_soak_message_bytes;
  const double rss_pct = rss_slope * 10 / rss_mean * 100;  // per 10 minutes
  const double excess_pct = (rss_slope - allowed_slope) * 10 / rss_mean * 100;
  const double fd_slope = Slope(minutes, fds);
  const double half_minutes = minutes.empty() ? 0 : minutes.back() - minutes.front();
  const int fd_change = half ? samples.back().fds - half->fds : 0;
  // Latency: the first windows after the warm-up against the last ones (3 each, merged).
  const double warmup = std::min(FLAGS_soak_warmup_s, ran / 4);
  std::vector<const Sample*> after;
  for (size_t i = 1; i < samples.size(); ++i) {
    if (samples[i - 1].t >= warmup) after.push_back(&samples[i]);
  }
  const size_t m = std::min<size_t>(3, after.size() / 2);
  Histogram first_windows, last_windows;
  for (size_t i = 0; i < m; ++i) {
    first_windows.Merge(after[i]->latency);
    last_windows.Merge(after[after.size() - 1 - i]->latency);
  }
  const double p99_first = static_cast<double>(first_windows.Percentile(0.99));
  const double p99_last = static_cast<double>(last_windows.Percentile(0.99));
  const double p99_ratio = p99_first > 0 ? p99_last / p99_first : 0;

  std::vector<std::string> failed;
  if (shared.errors.load() > 0) failed.push_back("errors");
  if (check.failures > 0) failed.push_back("read-back");
  if (minutes.size() < 3 || m == 0) failed.push_back("too few samples");
  if (excess_pct >= FLAGS_soak_rss_pct) failed.push_back("rss growth");
  if (std::abs(fd_slope * half_minutes) > n || std::abs(fd_change) > n) {
    failed.push_back("fd growth");
  }
  if (p99_ratio > FLAGS_soak_p99_ratio) failed.push_back("p99 growth");
  const bool pass = failed.empty();

  std::printf("\n%-8s %9s %9s %9s %9s\n", "op", "count", "p50_ms", "p99_ms", "max_ms");
  for (int k = 0; k < kKinds; ++k) {
    std::printf("%-8s %9llu %9s %9s %9s\n", kKindNames[k],
                static_cast<unsigned long long>(kinds[k].count()),
                Ms(kinds[k].Percentile(0.5)).c_str(), Ms(kinds[k].Percentile(0.99)).c_str(),
                Ms(kinds[k].max()).c_str());
  }
  std::printf("\n%llu ops in %.0f s (%.0f/s), %llu errors, %llu lagged, %llu live gaps; "
              "read back %llu messages: %llu failures\n",
              static_cast<unsigned long long>(ops), ran, ops / ran,
              static_cast<unsigned long long>(shared.errors.load()),
              static_cast<unsigned long long>(lagged), static_cast<unsigned long long>(gaps),
              static_cast<unsigned long long>(messages),
              static_cast<unsigned long long>(check.failures));
  for (const std::string& e : shared.first_errors) std::printf("  error: %s\n", e.c_str());
  for (const std::string& e : check.first) std::printf("  read-back: %s\n", e.c_str());
  std::printf("second half (%zu samples): RSS %+.0f KiB/min (%+.2f%% of its mean %.1f MiB per "
              "10 min), %.0f writes/min stored = %.0f B per write; beyond %.0f B per write: "
              "%+.2f%% per 10 min (limit %.1f%%)\n",
              minutes.size(), rss_slope / 1024, rss_pct, rss_mean / 1048576.0, stored_slope,
              stored_slope > 0 ? rss_slope / stored_slope : 0, FLAGS_soak_message_bytes,
              excess_pct, FLAGS_soak_rss_pct);
  std::printf("fds: %+.2f/min fitted, %+d from mid-run to the end (limit %d: the workers' "
              "connections)\n", fd_slope, fd_change, n);
  std::printf("p99 of all ops: first %zu windows after %.0f s %s ms, last %zu %s ms: x%.2f "
              "(limit x%.1f)\n",
              m, warmup, Ms(static_cast<uint64_t>(p99_first)).c_str(), m,
              Ms(static_cast<uint64_t>(p99_last)).c_str(), p99_ratio, FLAGS_soak_p99_ratio);
  std::string why;
  for (const std::string& f : failed) why += (why.empty() ? "" : ", ") + f;
  std::printf("verdict: %s%s%s\n", pass ? "PASS" : "FAIL", pass ? "" : ": ", why.c_str());

  utsname u{};
  uname(&u);
  char head[2048];
  std::snprintf(
      head, sizeof head,
      "{\"scenario\":\"soak\",\"target\":\"%s\",\"label\":\"%s\",\"nproc\":%u,\"kernel\":\"%s\","
      "\"params\":{\"seconds\":%.0f,\"workers\":%d,\"channels\":%d,\"rate\":%.0f,"
      "\"churn_ops\":%d,\"sample_s\":%.1f,\"message_bytes\":%.0f},\"verdict\":\"%s\","
      "\"failed\":\"%s\",\"ops\":%llu,\"errors\":%llu,\"lagged\":%llu,\"gaps\":%llu,"
      "\"read_back_messages\":%llu,\"read_back_failures\":%llu,\"rss_bytes_per_min\":%.0f,"
      "\"rss_pct_per_10min\":%.3f,\"rss_excess_pct_per_10min\":%.3f,"
      "\"bytes_per_write\":%.0f,\"fd_per_min\":%.3f,\"fd_change\":%d,\"p99_first_us\":%.0f,"
      "\"p99_last_us\":%.0f",
      FLAGS_target.c_str(), FLAGS_label.c_str(), std::thread::hardware_concurrency(), u.release,
      duration, n, FLAGS_soak_channels, FLAGS_soak_rate, FLAGS_soak_churn_ops,
      FLAGS_soak_sample_s, FLAGS_soak_message_bytes, pass ? "pass" : "fail", why.c_str(),
      static_cast<unsigned long long>(ops), static_cast<unsigned long long>(shared.errors.load()),
      static_cast<unsigned long long>(lagged), static_cast<unsigned long long>(gaps),
      static_cast<unsigned long long>(messages), static_cast<unsigned long long>(check.failures),
      rss_slope, rss_pct, excess_pct, stored_slope > 0 ? rss_slope / stored_slope : 0, fd_slope,
      fd_change, p99_first / 1000, p99_last / 1000);
  std::string line = head;
  line += ",\"ops_us\":{";
  for (int k = 0; k < kKinds; ++k) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s\"%s\":{\"n\":%llu,\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f}",
                  k ? "," : "", kKindNames[k], static_cast<unsigned long long>(kinds[k].count()),
                  kinds[k].Percentile(0.5) / 1e3, kinds[k].Percentile(0.99) / 1e3,
                  kinds[k].max() / 1e3);
    line += buf;
  }
  line += "},\"samples\":[";
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s{\"t\":%.1f,\"rss\":%llu,\"anon\":%llu,\"file\":%llu,\"fds\":%d,"
                  "\"cpu\":%.3f,\"io_full\":%.3f,\"ops\":%llu,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                  "\"stored\":%llu}",
                  i ? "," : "", s.t, static_cast<unsigned long long>(s.rss),
                  static_cast<unsigned long long>(s.anon), static_cast<unsigned long long>(s.file),
                  s.fds, s.cpu, s.io_full, static_cast<unsigned long long>(s.ops),
                  s.latency.Percentile(0.5) / 1e3, s.latency.Percentile(0.99) / 1e3,
                  static_cast<unsigned long long>(s.stored));
    line += buf;
  }
  line += "]}";
  std::printf("%s\n", line.c_str());
  if (!FLAGS_json_out.empty()) std::ofstream(FLAGS_json_out, std::ios::app) << line << "\n";
  return pass ? 0 : 1;
}

}  // namespace parley::bench
