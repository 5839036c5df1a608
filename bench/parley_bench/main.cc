// parley-bench: one load generator for parley, Redis and NATS, so that every figure in
// bench/RESULTS.md compares systems measured the same way in the same run. See bench/README.md.
#include <fcntl.h>
#include <gflags/gflags.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/parley_bench/engine.h"

DEFINE_string(target, "parley", "parley | redis | nats");
DEFINE_string(host, "127.0.0.1", "server address (loopback)");
DEFINE_int32(port, 7400, "server port");
DEFINE_string(user, "", "NATS user");
DEFINE_string(password, "", "Redis requirepass / NATS password");
DEFINE_bool(tls, false,
            "parley: every connection speaks TLS (fanout, rooms, durable, idle, replay)");
DEFINE_string(tls_ca_file, "", "with --tls: PEM CA certificates to trust (default: the system's)");
DEFINE_string(tag, "", "names this run's accounts and streams (default: a fresh one)");
DEFINE_string(scenario, "fanout",
              "fanout | stall | rooms | durable | idle | replay | boot | search | storm | soak");
DEFINE_int32(threads, 0, "load threads (0: the CPUs this process may run on)");
DEFINE_double(seconds, 5, "measured time of each point");
DEFINE_double(warmup, 1, "unreported run-in before each point");
DEFINE_int32(payload_bytes, 100, "message size");
DEFINE_int32(users, 1000, "most accounts a scenario makes; connections share them");
DEFINE_bool(spin, true, "poll the rings rather than sleep in them (see engine.h)");
DEFINE_int32(server_pid, 0,
             "the server's pid: its CPU (and for idle, RSS; for soak, RSS and fds) is reported");
DEFINE_string(json_out, "", "append each scenario's JSON line to this file");
DEFINE_string(label, "", "free text carried into the JSON line (e.g. the server's CPU set)");
// fanout
DEFINE_string(subscribers, "1,100,1000", "fanout: subscriber counts");
DEFINE_int32(window, 256, "fanout: unacknowledged publishes");
DEFINE_int32(delivery_window, 256, "fanout: publishes not yet delivered to every subscriber");
// rooms
DEFINE_int32(stall_readers, 100, "stall: subscriber connections that keep reading");
DEFINE_string(stalled, "0,10", "stall: connections that stop reading, one point for each count");
DEFINE_double(stall_rate, 2000, "stall: posts/s, open loop");

DEFINE_int32(connections, 10000, "rooms: subscriber connections");
DEFINE_int32(channels, 1000, "rooms: channels");
DEFINE_int32(per_connection, 10, "rooms: channels each connection belongs to");
DEFINE_int32(publishers, 50, "rooms: publishers");
DEFINE_string(rates, "", "rooms: deliveries/s to run (default: x sqrt(2) from --rate_start "
                         "until saturation)");
DEFINE_double(rate_start, 50000, "rooms: first rate of the default sweep");
DEFINE_int32(max_rates, 16, "rooms: most points of the default sweep");
// durable
DEFINE_string(windows, "1,64", "durable: in-flight windows");
DEFINE_int32(durable_publishers, 1, "durable: publishing connections");
// idle
DEFINE_string(idle, "10000,50000", "idle: connection counts");
DEFINE_double(idle_settle, 2, "idle: seconds between connecting and reading the RSS");
// replay
DEFINE_string(messages, "1000000,10000000", "replay: log sizes");
DEFINE_string(server_cmd, "", "replay: shell command that runs the server in the foreground");
DEFINE_string(server_log, "/dev/null", "replay: where the server's output goes");
DEFINE_string(fill_cmd, "", "replay: offline fill command ({n} = messages) run with the "
                            "server stopped; empty: fill over the network");
DEFINE_string(reset_cmd, "", "replay: command that empties the server's data between sizes");

namespace parley::bench {
int BootScenario();  // boot.cc
int SearchScenario();  // search.cc
int StormScenario();  // storm.cc
int SoakScenario();  // soak.cc
namespace {

std::vector<double> ParseList(const std::string& s) {
  std::vector<double> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(std::stod(item));
  }
  return out;
}

int Threads() {
  if (FLAGS_threads > 0) return FLAGS_threads;
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  return std::max(1, CPU_COUNT(&set));
}

std::string CpuList() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::string s;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) s += (s.empty() ? "" : ",") + std::to_string(i);
  }
  return s;
}

[[noreturn]] void Die(const std::string& what, const Error& e) {
  std::fprintf(stderr, "parley-bench: %s: %s%s%s\n", what.c_str(), e.message.c_str(),
               e.details.empty() ? "" : ": ", e.details.c_str());
  std::exit(1);
}

// --- output ---------------------------------------------------------------------------------

// A JSON object built field by field (numbers and plain strings only).
class Json {
 public:
  Json& Num(const std::string& k, double v) {
    char buf[64];
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
      std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
      std::snprintf(buf, sizeof buf, "%.6g", std::isfinite(v) ? v : -1.0);
    }
    return Raw(k, buf);
  }
  Json& Str(const std::string& k, const std::string& v) {
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') q += '\\';
      q += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
    return Raw(k, q + "\"");
  }
  Json& Obj(const std::string& k, const Json& v) { return Raw(k, v.str()); }
  Json& Raw(const std::string& k, const std::string& v) {
    body_ += (body_.empty() ? "\"" : ",\"") + k + "\":" + v;
    return *this;
  }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

Json Percentiles(const Histogram& h) {
  Json j;
  j.Num("count", static_cast<double>(h.count()));
  for (auto [name, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
    j.Num(name, h.Percentile(q) / 1000.0);
  }
  j.Num("max", h.max() / 1000.0);
  return j;
}

std::string Us(uint64_t ns) {
  char buf[32];
  if (ns >= 10'000'000) {
    std::snprintf(buf, sizeof buf, "%.0fms", ns / 1e6);
  } else if (ns >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fms", ns / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fus", ns / 1e3);
  }
  return buf;
}

std::string LatencyCells(const Histogram& h) {
  if (h.count() == 0) return "-        -        -        -        -";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-8s %-8s %-8s %-8s %-8s", Us(h.Percentile(0.5)).c_str(),
                Us(h.Percentile(0.9)).c_str(), Us(h.Percentile(0.99)).c_str(),
                Us(h.Percentile(0.999)).c_str(), Us(h.max()).c_str());
  return buf;
}

Json StepJson(const StepResult& s, const RunResult& run) {
  Json j;
  j.Num("seconds", s.seconds)
      .Num("published_per_s", s.published / s.seconds)
      .Num("acked_per_s", s.acked / s.seconds)
      .Num("delivered_per_s", s.delivered / s.seconds)
      .Obj("latency_us", Percentiles(s.latency))
      .Obj("ack_latency_us", Percentiles(s.ack_latency))
      .Num("generator_cpu", s.generator_cpu)
      .Num("generator_busy", s.generator_busy)
      .Num("server_cpu", s.server_cpu)
      .Num("failures", static_cast<double>(run.failures))
      .Num("disconnects", static_cast<double>(run.disconnects))
      .Str("first_failure", run.first_failure);
  return j;
}

struct Report {
  std::string scenario;
  std::vector<std::string> points;
  Json params;

  void Emit() {
    utsname u{};
    uname(&u);
    Json line;
    line.Str("scenario", scenario)
        .Str("target", FLAGS_target)
        .Str("label", FLAGS_label)
        .Num("nproc", static_cast<double>(std::thread::hardware_concurrency()))
        .Str("kernel", u.release)
        .Str("generator_cpus", CpuList())
        .Num("generator_threads", Threads())
        .Obj("params", params);
    std::string pts = "[";
    for (size_t i = 0; i < points.size(); ++i) pts += (i ? "," : "") + points[i];
    line.Raw("points", pts + "]");
    std::printf("%s\n", line.str().c_str());
    if (!FLAGS_json_out.empty()) {
      std::ofstream(FLAGS_json_out, std::ios::app) << line.str() << "\n";
    }
    std::fflush(stdout);
  }
};

void Header(const char* first) {
  std::printf("%-8s %-10s %12s %12s %14s %-8s %-8s %-8s %-8s %-8s %5s %5s %s\n",
              FLAGS_target.c_str(), first, "published/s", "acked/s", "delivered/s", "p50", "p90", "p99", "p99.9", "max", "gen",
              "srv", "notes");
}

void Row(const std::string& first, const StepResult& s, const RunResult& run,
         const Histogram& h, const std::string& note = "") {
  std::string notes = note;
  if (run.failures || run.disconnects) {
    notes += " failures=" + std::to_string(run.failures) +
             " disconnects=" + std::to_string(run.disconnects) + " (" + run.first_failure + ")";
  }
  std::printf("%-8s %-10s %12.0f %12.0f %14.0f %s %4.0f%% %4.0f%% %s\n", "", first.c_str(),
              s.published / s.seconds, s.acked / s.seconds, s.delivered / s.seconds, LatencyCells(h).c_str(),
              s.generator_busy * 100, s.server_cpu * 100, notes.c_str());
  std::fflush(stdout);
}

// --- scenarios ------------------------------------------------------------------------------

std::string Tag(const std::string& suffix) {
  static const std::string base =
      FLAGS_tag.empty() ? std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                                         std::chrono::milliseconds(1))
                        : FLAGS_tag;
  return base + suffix;
}

std::unique_ptr<Adapter> NewAdapter(const std::string& tag) {
  TargetOptions o;
  o.kind = FLAGS_target;
  o.host = FLAGS_host;
  o.port = static_cast<uint16_t>(FLAGS_port);
  o.user = FLAGS_user;
  o.password = FLAGS_password;
  o.tag = tag;
  o.tls = FLAGS_tls;
  o.tls_ca_file = FLAGS_tls_ca_file;
  auto a = MakeAdapter(o);
  if (!a.ok()) Die("target", a.error());
  return std::move(*a);
}

LoadPlan BasePlan() {
  LoadPlan plan;
  plan.payload_bytes = static_cast<uint32_t>(std::max(FLAGS_payload_bytes, 18));
  plan.threads = Threads();
  plan.server_pid = FLAGS_server_pid;
  plan.spin = FLAGS_spin;
  return plan;
}

std::vector<Step> Measure(double rate = 0) {
  return {Step{FLAGS_warmup, rate, false}, Step{FLAGS_seconds, rate, true}};
}

// Subscriber users, each a member of topic 0 only.
Topology OneChannel(uint32_t subscribers, uint32_t publishers) {
  Topology t;
  t.topics = 1;
  t.user_topics.assign(std::min<uint32_t>(subscribers, static_cast<uint32_t>(FLAGS_users)),
                       std::vector<uint32_t>{0});
  t.publisher_topics.assign(publishers, std::vector<uint32_t>{0});
  return t;
}

void Fanout() {
  Report report{"fanout", {}, {}};
  report.params.Num("window", FLAGS_window)
      .Num("delivery_window", FLAGS_delivery_window)
      .Num("payload_bytes", FLAGS_payload_bytes)
      .Num("seconds", FLAGS_seconds);
  Header("subs");
  for (double n : ParseList(FLAGS_subscribers)) {
    auto subs = static_cast<uint32_t>(n);
    Topology topology = OneChannel(subs, 1);
    auto adapter = NewAdapter(Tag("-fanout-" + std::to_string(subs)));
    if (Status s = adapter->Prepare(topology, Mode::kPubSub); !s.ok()) Die("prepare", s.error());
    LoadPlan plan = BasePlan();
    plan.subscriber_conns = subs;
    plan.publishers = 1;
    plan.window = static_cast<uint32_t>(FLAGS_window);
    plan.deliveries_per_publish = subs;
    plan.delivery_window = static_cast<uint32_t>(FLAGS_delivery_window);
    Engine engine(*adapter, topology, plan);
    if (Status s = engine.Connect(); !s.ok()) Die("connect", s.error());
    RunResult run = engine.Run(Measure());
    const StepResult& st = run.steps.at(0);
    Row(std::to_string(subs), st, run, st.latency);
    report.points.push_back(StepJson(st, run).Num("subscribers", subs).str());
  }
  report.Emit();
}

// Readers' latency while other connections of the same channel stall (never read): the same
// open-loop load with and without them, side by side. A stalled connection's queue grows until
// the server lags it (shard/limits.h); the readers' deliveries must not wait for it.
void Stall() {
  Report report{"stall", {}, {}};
  report.params.Num("readers", FLAGS_stall_readers)
      .Num("rate", FLAGS_stall_rate)
      .Num("payload_bytes", FLAGS_payload_bytes)
      .Num("seconds", FLAGS_seconds);
  Header("stalled");
  const auto readers = static_cast<uint32_t>(FLAGS_stall_readers);
  for (double n : ParseList(FLAGS_stalled)) {
    auto stalled = static_cast<uint32_t>(n);
    Topology topology = OneChannel(readers + stalled, 1);
    auto adapter = NewAdapter(Tag("-stall-" + std::to_string(stalled)));
    if (Status s = adapter->Prepare(topology, Mode::kPubSub); !s.ok()) Die("prepare", s.error());
    LoadPlan plan = BasePlan();
    plan.subscriber_conns = readers + stalled;
    plan.stalled_conns = stalled;
    plan.publishers = 1;
    plan.open_loop = true;
    Engine engine(*adapter, topology, plan);
    if (Status s = engine.Connect(); !s.ok()) Die("connect", s.error());
    RunResult run = engine.Run(Measure(FLAGS_stall_rate));
    const StepResult& st = run.steps.at(0);
    const uint32_t lagged = engine.StalledClosedByServer();
    Row(std::to_string(stalled), st, run, st.latency,
        stalled ? "stalled ones lagged and closed: " + std::to_string(lagged) : "");
    report.points.push_back(
        StepJson(st, run).Num("stalled", stalled).Num("stalled_closed", lagged).str());
  }
  report.Emit();
}

void Rooms() {
  Report report{"rooms", {}, {}};
  auto channels = static_cast<uint32_t>(FLAGS_channels);
  auto per = static_cast<uint32_t>(std::min(FLAGS_per_connection, FLAGS_channels));
  auto conns = static_cast<uint32_t>(FLAGS_connections);
  auto pubs = static_cast<uint32_t>(FLAGS_publishers);
  // User u belongs to channels u, u + C/per, u + 2C/per, ... (mod C); publisher p posts to the
  // channels t with t % P == p. Every channel gets the same number of sessions.
  Topology topology;
  topology.topics = channels;
  uint32_t users = std::min<uint32_t>(conns, static_cast<uint32_t>(FLAGS_users));
  for (uint32_t u = 0; u < users; ++u) {
    std::vector<uint32_t> ts;
    for (uint32_t k = 0; k < per; ++k) ts.push_back((u + k * (channels / per)) % channels);
    topology.user_topics.push_back(ts);
  }
  topology.publisher_topics.resize(pubs);
  for (uint32_t t = 0; t < channels; ++t) topology.publisher_topics[t % pubs].push_back(t);
  double fanout = static_cast<double>(conns) * per / channels;  // sessions per channel
  report.params.Num("connections", conns)
      .Num("channels", channels)
      .Num("per_connection", per)
      .Num("publishers", pubs)
      .Num("sessions_per_channel", fanout)
      .Num("payload_bytes", FLAGS_payload_bytes)
      .Num("seconds", FLAGS_seconds);

  auto adapter = NewAdapter(Tag("-rooms"));
  auto t0 = std::chrono::steady_clock::now();
  if (Status s = adapter->Prepare(topology, Mode::kPubSub); !s.ok()) Die("prepare", s.error());
  LoadPlan plan = BasePlan();
  plan.subscriber_conns = conns;
  plan.publishers = pubs;
  plan.open_loop = true;
  Engine engine(*adapter, topology, plan);
  if (Status s = engine.Connect(); !s.ok()) Die("connect", s.error());
  double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("rooms: %u connections in %u channels (%.0f sessions each) ready in %.1fs\n",
              engine.connections(), channels, fanout, setup_s);
  Header("rate");

  std::vector<double> rates = ParseList(FLAGS_rates);
  bool sweep = rates.empty();
  for (int i = 0; sweep && i < FLAGS_max_rates; ++i) {
    rates.push_back(std::round(FLAGS_rate_start * std::pow(std::sqrt(2.0), i)));
  }
  double sustained = 0;
  for (double rate : rates) {
    double per_publisher = rate / fanout / pubs;
    RunResult run = engine.Run(Measure(per_publisher));
    const StepResult& st = run.steps.at(0);
    double achieved = st.delivered / st.seconds;
    // Saturated: deliveries fall behind the offered rate, or the server dropped connections.
    bool saturated = achieved < 0.9 * rate || run.disconnects > 0 ||
                     st.latency.Percentile(0.99) > 1'000'000'000;
    if (!saturated) sustained = rate;
    Row(std::to_string(static_cast<uint64_t>(rate)), st, run, st.latency,
        saturated ? "saturated" : "");
    report.points.push_back(
        StepJson(st, run).Num("rate", rate).Num("saturated", saturated ? 1 : 0).str());
    if (saturated && sweep) break;
    if (run.disconnects > 0) break;  // the topology is no longer the one asked for
  }
  report.params.Num("sustained_rate", sustained).Num("setup_seconds", setup_s);
  report.Emit();
}

void Durable() {
  Report report{"durable", {}, {}};
  auto pubs = static_cast<uint32_t>(FLAGS_durable_publishers);
  report.params.Num("publishers", pubs)
      .Num("payload_bytes", FLAGS_payload_bytes)
      .Num("seconds", FLAGS_seconds);
  Header("window");
  for (double w : ParseList(FLAGS_windows)) {
    Topology topology = OneChannel(0, pubs);
    auto adapter = NewAdapter(Tag("-durable-" + std::to_string(static_cast<int>(w))));
    if (Status s = adapter->Prepare(topology, Mode::kDurable); !s.ok()) Die("prepare", s.error());
    LoadPlan plan = BasePlan();
    plan.publishers = pubs;
    plan.window = static_cast<uint32_t>(w);
    Engine engine(*adapter, topology, plan);
    if (Status s = engine.Connect(); !s.ok()) Die("connect", s.error());
    RunResult run = engine.Run(Measure());
    const StepResult& st = run.steps.at(0);
    Row(std::to_string(static_cast<int>(w)), st, run, st.ack_latency, "(ack latency)");
    report.points.push_back(StepJson(st, run).Num("window", w).str());
  }
  report.Emit();
}

void Idle() {
  Report report{"idle", {}, {}};
  if (FLAGS_server_pid == 0) {
    Die("idle", MakeError(ErrorCode::kInvalidArgument, "needs --server_pid for the RSS"));
  }
  std::printf("%-8s %12s %14s %14s %12s %s\n", FLAGS_target.c_str(), "connections",
              "rss_before", "rss_after", "bytes/conn", "notes");
  for (double n : ParseList(FLAGS_idle)) {
    auto conns = static_cast<uint32_t>(n);
    Topology topology = OneChannel(conns, 0);
    auto adapter = NewAdapter(Tag("-idle-" + std::to_string(conns)));
    if (Status s = adapter->Prepare(topology, Mode::kPubSub); !s.ok()) Die("prepare", s.error());
    LoadPlan plan = BasePlan();
    plan.subscriber_conns = conns;
    std::this_thread::sleep_for(std::chrono::duration<double>(FLAGS_idle_settle / 2));
    uint64_t before = ProcessRssBytes(FLAGS_server_pid);
    Engine engine(*adapter, topology, plan);
    auto t0 = std::chrono::steady_clock::now();
    if (Status s = engine.Connect(); !s.ok()) Die("connect", s.error());
    double connect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::duration<double>(FLAGS_idle_settle));
    // A short run proves the connections are alive (the server dropped none).
    RunResult run = engine.Run({Step{1, 0, true}});
    uint64_t after = ProcessRssBytes(FLAGS_server_pid);
    double per = (static_cast<double>(after) - static_cast<double>(before)) / conns;
    std::string notes = run.disconnects ? "disconnects=" + std::to_string(run.disconnects) : "";
    std::printf("%-8s %12u %13.1fM %13.1fM %12.0f %s\n", "", conns, before / 1048576.0,
                after / 1048576.0, per, notes.c_str());
    std::fflush(stdout);
    Json p;
    p.Num("connections", conns)
        .Num("rss_before", static_cast<double>(before))
        .Num("rss_after", static_cast<double>(after))
        .Num("bytes_per_connection", per)
        .Num("connect_seconds", connect_s)
        .Num("disconnects", static_cast<double>(run.disconnects));
    report.points.push_back(p.str());
    engine.Close();
    std::this_thread::sleep_for(std::chrono::duration<double>(FLAGS_idle_settle));
  }
  report.Emit();
}

// --- replay: the bench owns the server's lifecycle -------------------------------------------

pid_t g_server = 0;  // the server replay started, stopped on any exit

void StopServer(pid_t pid);

pid_t StartServer() {
  static bool hooked = (std::atexit([] {
                          if (g_server) StopServer(g_server);
                        }),
                        true);
  (void)hooked;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(FLAGS_server_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl("/bin/sh", "sh", "-c", ("exec " + FLAGS_server_cmd).c_str(), nullptr);
    _exit(127);
  }
  g_server = pid;
  return pid;
}

void StopServer(pid_t pid) {
  if (pid == g_server) g_server = 0;
  kill(pid, SIGTERM);
  for (int i = 0; i < 6000; ++i) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Polls until the durable topic holds at least `n` messages; seconds taken, < 0 on timeout.
double AwaitCount(Adapter& adapter, uint64_t n, pid_t pid, double timeout_s) {
  auto t0 = std::chrono::steady_clock::now();
  while (true) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > timeout_s || waitpid(pid, nullptr, WNOHANG) == pid) return -1;
    auto count = adapter.CountDurable();
    if (count.ok() && *count >= n) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Run(const std::string& cmd) {
  if (cmd.empty()) return;
  if (int rc = std::system(cmd.c_str()); rc != 0) {
    Die("replay", MakeError(ErrorCode::kInternal, "command failed", cmd));
  }
}

void Replay() {
  Report report{"replay", {}, {}};
  if (FLAGS_server_cmd.empty()) {
    Die("replay", MakeError(ErrorCode::kInvalidArgument, "needs --server_cmd"));
  }
  std::printf("%-8s %12s %10s %10s %14s\n", FLAGS_target.c_str(), "messages", "fill_s",
              "restart_s", "events/s");
  for (double m : ParseList(FLAGS_messages)) {
    auto n = static_cast<uint64_t>(m);
    Run(FLAGS_reset_cmd);
    // The offline fill (parley-admin seed --messages) names its account after tag "replay".
    auto adapter = NewAdapter(FLAGS_tag.empty() ? "replay" : FLAGS_tag);
    Topology topology = OneChannel(0, 4);
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid;
    if (!FLAGS_fill_cmd.empty()) {
      std::string cmd = FLAGS_fill_cmd;
      if (size_t at = cmd.find("{n}"); at != std::string::npos) {
        cmd.replace(at, 3, std::to_string(n));
      }
      Run(cmd);
      pid = StartServer();
      if (AwaitCount(*adapter, n, pid, 900) < 0) {
        Die("replay", MakeError(ErrorCode::kUnavailable, "filled server never showed the log"));
      }
    } else {
      pid = StartServer();
      for (int i = 0; i < 1000; ++i) {  // until it listens
        auto fd = ConnectTcp(FLAGS_host, static_cast<uint16_t>(FLAGS_port), 1000);
        if (fd.ok()) {
          close(*fd);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (Status s = adapter->Prepare(topology, Mode::kDurable); !s.ok()) Die("prepare", s.error());
      LoadPlan plan = BasePlan();
      plan.publishers = 4;
      plan.window = 256;
      plan.max_publishes = (n + 3) / 4;
      Engine engine(*adapter, topology, plan);
      if (Status s = engine.Connect(); !s.ok()) Die("connect", s.error());
      RunResult run = engine.Run({Step{3600, 0, true}});
      if (run.failures) {
        Die("fill", MakeError(ErrorCode::kInternal, "publishes failed", run.first_failure));
      }
      engine.Close();
      n = plan.max_publishes * 4;
    }
    double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    StopServer(pid);
    pid = StartServer();
    double restart_s = AwaitCount(*adapter, n, pid, 900);
    StopServer(pid);
    if (restart_s < 0) Die("replay", MakeError(ErrorCode::kUnavailable, "restart timed out"));
    std::printf("%-8s %12llu %10.1f %10.2f %14.0f\n", "", static_cast<unsigned long long>(n),
                fill_s, restart_s, n / restart_s);
    std::fflush(stdout);
    Json p;
    p.Num("messages", static_cast<double>(n))
        .Num("fill_seconds", fill_s)
        .Num("restart_seconds", restart_s)
        .Num("events_per_s", n / restart_s);
    report.points.push_back(p.str());
  }
  report.Emit();
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage("parley-bench --target=parley|redis|nats --scenario=... (see bench/README.md)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  signal(SIGPIPE, SIG_IGN);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  using namespace parley::bench;
  const std::string& s = FLAGS_scenario;
  if (FLAGS_tls && (FLAGS_target != "parley" || s == "boot" || s == "search" || s == "storm" ||
                    s == "soak")) {
    std::fprintf(stderr,
                 "parley-bench: --tls is for --target=parley, not boot, search, storm or soak\n");
    return 2;
  }
  if (s == "fanout") {
    Fanout();
  } else if (s == "stall") {
    Stall();
  } else if (s == "rooms") {
    Rooms();
  } else if (s == "durable") {
    Durable();
  } else if (s == "idle") {
    Idle();
  } else if (s == "replay") {
    Replay();
  } else if (s == "boot") {
    return BootScenario();
  } else if (s == "search") {
    return SearchScenario();
  } else if (s == "storm") {
    return StormScenario();
  } else if (s == "soak") {
    return SoakScenario();
  } else {
    std::fprintf(stderr, "parley-bench: unknown scenario %s\n", s.c_str());
    return 2;
  }
  return 0;
}
