// The boot scenario (parley only): one user in --boot_channels channels, each with a topic of
// --boot_topic_bytes; times a full Boot and a resume after one post (and one with nothing new),
// --boot_rounds times each, through the blocking client: latency and answer bytes.
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/parley_bench/flags.h"
#include "bench/parley_bench/must.h"
#include "wire/client.h"

DEFINE_int32(boot_channels, 1000, "boot: channels the user is in (besides #general)");
DEFINE_int32(boot_topic_bytes, 250, "boot: topic length of each channel");
DEFINE_int32(boot_rounds, 50, "boot: timed boots of each kind");

namespace parley::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr Must kMust{"boot"};

struct Sample {
  std::vector<double> us;
  size_t bytes = 0;
  size_t channels = 0;
  int pages = 0;
  double At(double q) const {
    std::vector<double> v = us;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  }
  std::string Json() const {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"rounds\":%zu,\"p50_us\":%.0f,\"p90_us\":%.0f,\"max_us\":%.0f,"
                  "\"answer_bytes\":%zu,\"channels\":%zu,\"pages\":%d}",
                  us.size(), At(0.5), At(0.9), At(1.0), bytes, channels, pages);
    return buf;
  }
};

// Returns the answer's token.
std::vector<uint8_t> Time(wire::Client& c, const std::vector<uint8_t>& token, Sample& s) {
  Clock::time_point t0 = Clock::now();
  int pages = 0;
  wire::BootOkT boot = kMust(c.Boot(token, &pages), "boot");
  s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  s.bytes = c.last_payload_bytes();
  s.channels = boot.channels.size();
  s.pages = pages;
  return std::move(boot.token);
}

}  // namespace

int BootScenario() {
  std::string tag = FLAGS_tag.empty() ? std::to_string(::time(nullptr)) : FLAGS_tag;
  wire::ClientOptions options;
  options.host = FLAGS_host;
  options.port = static_cast<uint16_t>(FLAGS_port);
  options.timeout_ms = 60000;
  auto c = kMust(wire::Client::Connect(options), "connect");
  const std::string email = "boot-" + tag + "@bench.example.com";
  const std::string password = "bench-password-" + tag;
  kMust(c->Register(email, password, "Boot Bench"), "register");
  kMust(c->Login(email, password), "login");
  wire::WorkspaceInfoT ws = kMust(c->CreateWorkspace("boot-" + tag), "workspace");
  const std::string topic(FLAGS_boot_topic_bytes, 't');
  std::vector<uint64_t> channels;
  for (int i = 0; i < FLAGS_boot_channels; ++i) {
    wire::ChannelInfoT ch =
        kMust(c->CreateChannel(ws.id, "boot-channel-" + std::to_string(i), false), "channel");
    if (!topic.empty()) kMust(c->SetChannelDetails(ch.id, std::nullopt, topic, std::nullopt), "topic");
    channels.push_back(ch.id);
  }
  // Measure on a fresh connection: the setup's events are not in its way.
  c.reset();
  c = kMust(wire::Client::Connect(options), "connect");
  kMust(c->Login(email, password), "login");
  auto poster = kMust(wire::Client::Connect(options), "connect");
  kMust(poster->Login(email, password), "login");

  Sample full, resume_one, resume_none;
  std::vector<uint8_t> token;
  for (int i = 0; i < FLAGS_boot_rounds; ++i) token = Time(*c, {}, full);
  for (int i = 0; i < FLAGS_boot_rounds; ++i) {
    kMust(poster->Post(channels[i % channels.size()], "news"), "post");
    token = Time(*c, token, resume_one);
    token = Time(*c, token, resume_none);
  }
  std::printf("boot: user in %d channels (+#general), topics of %d bytes, %d rounds\n",
              FLAGS_boot_channels, FLAGS_boot_topic_bytes, FLAGS_boot_rounds);
  std::printf("%-16s %10s %10s %10s %12s %9s %6s\n", "kind", "p50 us", "p90 us", "max us",
              "answer B", "channels", "pages");
  auto row = [](const char* kind, const Sample& s) {
    std::printf("%-16s %10.0f %10.0f %10.0f %12zu %9zu %6d\n", kind, s.At(0.5), s.At(0.9),
                s.At(1.0), s.bytes, s.channels, s.pages);
  };
  row("full", full);
  row("resume, 1 post", resume_one);
  row("resume, nothing", resume_none);
  utsname u{};
  uname(&u);
  char head[512];
  std::snprintf(head, sizeof head,
                "{\"scenario\":\"boot\",\"target\":\"%s\",\"label\":\"%s\",\"nproc\":%u,"
                "\"kernel\":\"%s\",\"params\":{\"channels\":%d,\"topic_bytes\":%d,\"rounds\":%d},",
                FLAGS_target.c_str(), FLAGS_label.c_str(), std::thread::hardware_concurrency(),
                u.release, FLAGS_boot_channels, FLAGS_boot_topic_bytes, FLAGS_boot_rounds);
  std::string line = std::string(head) + "\"full\":" + full.Json() + ",\"resume_one\":" +
                     resume_one.Json() + ",\"resume_none\":" + resume_none.Json() + "}";
  std::printf("%s\n", line.c_str());
  if (!FLAGS_json_out.empty()) std::ofstream(FLAGS_json_out, std::ios::app) << line << "\n";
  return 0;
}

}  // namespace parley::bench
