// The search scenario (parley only): posts --search_messages messages drawn from a Zipf
// vocabulary into --search_channels channels, as fast as --search_connections pipelined
// connections go; times how long until the last of them is searchable (the indexers follow the
// log on their own threads), then how long a fresh post takes to become searchable, then the
// latency of single-word, two-word, phrase and filtered queries, one at a time.
//
// The corpus: --search_vocabulary pronounceable words ranked by frequency, drawn with Zipf's
// law (exponent 1.0, as in English text); messages of 4 to 20 words; one in 20 carries a link.
// Queries draw their words from the same law but skip the 50 most frequent ranks (the, of,
// and: nobody searches for those alone).
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/parley_bench/flags.h"
#include "bench/parley_bench/must.h"
#include "bench/parley_bench/words.h"
#include "wire/client.h"

DEFINE_int64(search_messages, 1'000'000, "search: messages to post and index");
DEFINE_int32(search_channels, 100, "search: channels they are spread over");
DEFINE_int32(search_vocabulary, 50'000, "search: distinct words of the corpus");
DEFINE_int32(search_connections, 4, "search: posting connections (each pipelines 256 posts)");
DEFINE_int32(search_queries, 500, "search: timed queries of each kind");
DEFINE_int32(search_fresh_rounds, 20, "search: timed post-to-searchable rounds");

namespace parley::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWindow = 256;        // posts in flight per connection
constexpr int kSkipTopRanks = 50;   // query words are never the most common ones

constexpr Must kMust{"search"};

class Zipf {
 public:
  explicit Zipf(int n) : cdf_(n) {
    double sum = 0;
    for (int r = 0; r < n; ++r) cdf_[r] = (sum += 1.0 / (r + 1));
    for (double& c : cdf_) c /= sum;
  }
  int Draw(std::mt19937_64& rng, int min_rank = 0) const {
    std::uniform_real_distribution<double> u(min_rank == 0 ? 0.0 : cdf_[min_rank - 1], 1.0);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u(rng)) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

std::string Message(const Zipf& zipf, std::mt19937_64& rng, int64_t n) {
  std::uniform_int_distribution<int> length(4, 20);
  std::string text;
  for (int i = length(rng); i > 0; --i) text += Word(zipf.Draw(rng)) + " ";
  if (n % 20 == 0) text += "https://example.com/doc/" + std::to_string(n) + " ";
  text.pop_back();
  return text;
}

struct Latency {
  std::vector<double> us;
  double At(double q) const {
    std::vector<double> v = us;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  }
  std::string Json() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "{\"n\":%zu,\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f}",
                  us.size(), At(0.5), At(0.99), At(1.0));
    return buf;
  }
};

std::unique_ptr<wire::Client> SignedIn(const std::string& email, const std::string& password) {
  wire::ClientOptions options;
  options.host = FLAGS_host;
  options.port = static_cast<uint16_t>(FLAGS_port);
  options.timeout_ms = 120000;
  auto c = kMust(wire::Client::Connect(options), "connect");
  kMust(c->Login(email, password), "login");
  return c;
}

// Posts messages [first, last) round-robin over the channels, kWindow in flight. The
// connection follows none of the channels, so only acknowledgements come back.
void PostRange(const std::string& email, const std::string& password,
               const std::vector<uint64_t>& channels, int64_t first, int64_t last) {
  auto c = SignedIn(email, password);
  for (uint64_t ch : channels) kMust(c->Unsubscribe(ch), "unsubscribe");
  Zipf zipf(FLAGS_search_vocabulary);
  std::mt19937_64 rng(static_cast<uint64_t>(first) * 7919 + 1);
  int64_t sent = first, acked = first;
  std::vector<uint8_t> batch;
  while (acked < last) {
    batch.clear();
    while (sent < last && sent - acked < kWindow) {
      wire::PostMessageT post;
      post.channel_id = channels[static_cast<size_t>(sent) % channels.size()];
      post.text = Message(zipf, rng, sent);
      wire::Bytes frame = wire::EncodeFrame(static_cast<uint64_t>(sent) + 1,
                                            wire::MakeBody(std::move(post)));
      batch.insert(batch.end(), frame.begin(), frame.end());
      ++sent;
    }
    if (!batch.empty()) kMust(c->SendRaw(batch.data(), batch.size()), "send");
    wire::FrameT reply = kMust(c->ReadFrame(), "read");
    if (reply.request_id == 0) continue;  // an event, not an acknowledgement
    if (reply.body.type != wire::Body::PostAck) {
      std::fprintf(stderr, "parley-bench search: post answered %s\n",
                   wire::EnumNameBody(reply.body.type));
      std::exit(1);
    }
    ++acked;
  }
}

// Times `query` once; the result count goes to *hits.
double TimedSearch(wire::Client& c, const std::string& query, size_t* hits = nullptr) {
  Clock::time_point t0 = Clock::now();
  wire::SearchResultsT r = kMust(c.Search(query), query.c_str());
  double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (hits) *hits = r.messages.size();
  return us;
}

}  // namespace

int SearchScenario() {
  std::string tag = FLAGS_tag.empty() ? std::to_string(::time(nullptr)) : FLAGS_tag;
  const std::string email = "search-" + tag + "@bench.example.com";
  const std::string password = "bench-password-" + tag;
  {
    wire::ClientOptions options;
    options.host = FLAGS_host;
    options.port = static_cast<uint16_t>(FLAGS_port);
    auto c = kMust(wire::Client::Connect(options), "connect");
    kMust(c->Register(email, password, "Search Bench"), "register");
  }
  auto c = SignedIn(email, password);
  wire::WorkspaceInfoT ws = kMust(c->CreateWorkspace("search-" + tag), "workspace");
  std::vector<uint64_t> channels;
  for (int i = 0; i < FLAGS_search_channels; ++i) {
    channels.push_back(
        kMust(c->CreateChannel(ws.id, "search-" + std::to_string(i), false), "channel").id);
  }
  // This connection only searches: it follows none of the channels either.
  for (uint64_t ch : channels) kMust(c->Unsubscribe(ch), "unsubscribe");
  // The last message carries a word no other has: the index has caught up once it is found.
  const int64_t n = FLAGS_search_messages;
  const std::string last_word = "zzlast" + tag;

  Clock::time_point start = Clock::now();
  std::vector<std::thread> posters;
  int k = FLAGS_search_connections;
  for (int i = 0; i < k; ++i) {
    posters.emplace_back(PostRange, email, password, channels, (n - 1) * i / k,
                         (n - 1) * (i + 1) / k);
  }
  for (auto& t : posters) t.join();
  kMust(c->Post(channels[0], "the end " + last_word), "last post");
  double post_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (size_t hits = 0; hits == 0;) {
    TimedSearch(*c, last_word, &hits);
    if (hits == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double indexed_s = std::chrono::duration<double>(Clock::now() - start).count();

  // Freshness: a post with a new word, until a search finds it.
  Latency fresh;
  for (int i = 0; i < FLAGS_search_fresh_rounds; ++i) {
    std::string word = "fresh" + tag + "x" + std::to_string(i);
    kMust(c->Post(channels[static_cast<size_t>(i) % channels.size()], "news " + word), "post");
    Clock::time_point t0 = Clock::now();
    for (size_t hits = 0; hits == 0;) TimedSearch(*c, word, &hits);
    fresh.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }

  Zipf zipf(FLAGS_search_vocabulary);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> channel_of(0, FLAGS_search_channels - 1);
  auto word = [&] { return Word(zipf.Draw(rng, kSkipTopRanks)); };
  struct Kind {
    const char* name;
    std::function<std::string()> query;
    Latency latency;
    size_t hits = 0;
  };
  std::vector<Kind> kinds = {
      {"single word", [&] { return word(); }, {}},
      {"two words", [&] { return word() + " " + word(); }, {}},
      // Two words that follow each other in some message: regenerate one.
      {"phrase",
       [&] {
         std::string m = Message(zipf, rng, 1);
         size_t space = m.find(' ');
         size_t end = m.find(' ', space + 1);
         return "\"" + m.substr(0, end) + "\"";
       },
       {}},
      {"filtered", [&] {
         return word() + " in:#search-" + std::to_string(channel_of(rng)) + " after:2020-01-01";
       }, {}},
  };
  for (Kind& kind : kinds) {
    for (int i = 0; i < FLAGS_search_queries; ++i) {
      size_t hits = 0;
      kind.latency.us.push_back(TimedSearch(*c, kind.query(), &hits));
      kind.hits += hits;
    }
  }

  std::printf("search: %lld messages, %d channels, vocabulary %d (Zipf), %d connections\n",
              static_cast<long long>(n), FLAGS_search_channels, FLAGS_search_vocabulary, k);
  std::printf("posted in %.1f s (%.0f msgs/s); all searchable after %.1f s (%.0f msgs/s)\n",
              post_s, n / post_s, indexed_s, n / indexed_s);
  std::printf("post to searchable: p50 %.0f ms, max %.0f ms (%d rounds)\n", fresh.At(0.5) / 1000,
              fresh.At(1.0) / 1000, FLAGS_search_fresh_rounds);
  std::printf("%-12s %10s %10s %10s %10s\n", "query", "p50 us", "p99 us", "max us", "hits/q");
  for (const Kind& kind : kinds) {
    std::printf("%-12s %10.0f %10.0f %10.0f %10.1f\n", kind.name, kind.latency.At(0.5),
                kind.latency.At(0.99), kind.latency.At(1.0),
                static_cast<double>(kind.hits) / FLAGS_search_queries);
  }
  utsname u{};
  uname(&u);
  char head[640];
  std::snprintf(head, sizeof head,
                "{\"scenario\":\"search\",\"target\":\"%s\",\"label\":\"%s\",\"nproc\":%u,"
                "\"kernel\":\"%s\",\"params\":{\"messages\":%lld,\"channels\":%d,"
                "\"vocabulary\":%d,\"connections\":%d},\"post_msgs_per_s\":%.0f,"
                "\"indexed_msgs_per_s\":%.0f,\"fresh\":%s",
                FLAGS_target.c_str(), FLAGS_label.c_str(), std::thread::hardware_concurrency(),
                u.release, static_cast<long long>(n), FLAGS_search_channels,
                FLAGS_search_vocabulary, k, n / post_s, n / indexed_s, fresh.Json().c_str());
  std::string line = head;
  for (const Kind& kind : kinds) {
    line += ",\"" + std::string(kind.name) + "\":" + kind.latency.Json();
  }
  line += "}";
  std::printf("%s\n", line.c_str());
  if (!FLAGS_json_out.empty()) std::ofstream(FLAGS_json_out, std::ios::app) << line << "\n";
  return 0;
}

}  // namespace parley::bench
