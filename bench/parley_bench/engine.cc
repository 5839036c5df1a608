#include "bench/parley_bench/engine.h"

#include <sys/resource.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "shard/ring.h"

namespace parley::bench {

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt (fields 3-13)
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uint64_t ProcessRssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

namespace {

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

enum : uint64_t { kRecv = 0, kSend = 1 };
uint64_t UserData(uint32_t conn, uint64_t op) { return (uint64_t{conn} << 1) | op; }

constexpr char kHex[] = "0123456789abcdef";

uint64_t ParseHex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 4) | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

void Stamp(std::string& payload, uint64_t ns, uint32_t step) {
  for (int i = 15; i >= 0; --i, ns >>= 4) payload[static_cast<size_t>(i)] = kHex[ns & 15];
  payload[16] = kHex[(step >> 4) & 15];
  payload[17] = kHex[step & 15];
}

constexpr size_t kStampBytes = 18;
constexpr int kMaxBurst = 512;  // open loop: publishes per publisher per loop pass

}  // namespace

struct Engine::Shared {
  std::atomic<uint32_t> step{0};
  std::atomic<bool> stop{false};    // publishers stop
  std::atomic<bool> finish{false};  // loops end
  std::atomic<uint32_t> armed{0};
  std::atomic<uint64_t> published{0}, answered{0}, delivered{0};
  std::shared_ptr<const wire::TlsContext> tls;  // null: plaintext connections
};

struct Engine::Worker final : Sink {
  struct Conn {
    int fd = -1;
    std::unique_ptr<wire::TlsStream> tls;  // null: plaintext
    bool publisher = false;
    bool open = true;
    bool stalled = false;  // never read (LoadPlan::stalled_conns)
    uint32_t index = 0;  // user or publisher number
    std::string in, out, sending;
    size_t send_off = 0;
    bool send_busy = false;
    bool dirty = false;
    iovec iov{};
    msghdr msg{};
    // publishers
    uint64_t sent = 0, answered = 0;
    uint32_t next_topic = 0;
    uint64_t next_due = 0;
    std::deque<std::pair<uint64_t, uint32_t>> stamps;  // send time, step
  };

  Engine& engine;
  Shared& shared;
  std::vector<Conn> conns;
  std::vector<uint32_t> publishers;
  std::vector<uint32_t> dirty;
  std::unique_ptr<shard::Ring> ring;
  Status setup = OkStatus();

  // Per step of the current run.
  std::vector<Histogram> latency, ack_latency;
  std::vector<uint64_t> published, acked, delivered, busy_ns;
  uint64_t failures = 0, disconnects = 0;
  std::string first_failure;

  Conn* cur = nullptr;
  uint64_t now = 0;
  uint32_t step = 0;
  const std::vector<Step>* steps = nullptr;
  std::string payload;
  std::vector<uint8_t> plain;  // TLS: what one receive decrypted to
  uint64_t local_delivered = 0, local_answered = 0;

  Worker(Engine& e, Shared& s) : engine(e), shared(s) {}

  // --- setup -------------------------------------------------------------------------------

  void Handshakes(uint32_t first_source_index) {
    constexpr size_t kBatch = 256;
    for (size_t base = 0; base < conns.size() && setup.ok(); base += kBatch) {
      size_t end = std::min(conns.size(), base + kBatch);
      std::vector<Handshake> hs;
      for (size_t i = base; i < end && setup.ok(); ++i) {
        const auto& o = engine.adapter_.options();
        auto fd = ConnectTcp(o.host, o.port, o.timeout_ms,
                             first_source_index + static_cast<uint32_t>(i));
        if (!fd.ok()) {
          setup = fd.error();
          break;
        }
        conns[i].fd = *fd;
        hs.push_back(Handshake{*fd, conns[i].publisher, conns[i].index, {}});
        if (shared.tls) {
          setup = StartTls(conns[i], hs.back());
          if (!setup.ok()) break;
        }
        setup = engine.adapter_.BeginHandshake(hs.back());
      }
      for (size_t k = 0; k < hs.size() && setup.ok(); ++k) {
        setup = engine.adapter_.FinishHandshake(hs[k]);
        conns[base + k].in = std::move(hs[k].leftover);
      }
    }
  }

  Status StartTls(Conn& c, Handshake& h) {
    const TargetOptions& o = engine.adapter_.options();
    auto stream = wire::TlsStream::Connect(*shared.tls, o.host);
    if (!stream.ok()) return stream.error();
    c.tls = std::move(*stream);
    h.tls = c.tls.get();
    return bench::StartTls(h, o.timeout_ms);
  }

  // --- the loop -----------------------------------------------------------------------------

  void Run(const std::vector<Step>& run_steps) {
    steps = &run_steps;
    size_t n = run_steps.size() + 1;  // the extra slot: the drain after the last step
    latency.assign(n, Histogram());
    ack_latency.assign(n, Histogram());
    published.assign(n, 0);
    acked.assign(n, 0);
    delivered.assign(n, 0);
    busy_ns.assign(n, 0);
    payload.assign(engine.plan_.payload_bytes, 'x');
    shard::RingOptions ro;
    ro.sq_entries = 4096;
    ro.cq_entries = 65536;
    ro.recv_buffers = 2048;
    ro.recv_buffer_bytes = 16384;
    auto r = shard::Ring::Create(ro);
    if (!r.ok()) {
      Fail(r.error().message + ": " + r.error().details);
      shared.armed.fetch_add(1);
      return;
    }
    ring = std::move(*r);
    now = MonotonicNs();
    for (uint32_t i = 0; i < conns.size(); ++i) {
      if (!conns[i].open || conns[i].stalled) continue;
      ring->MultishotRecv(conns[i].fd, UserData(i, kRecv));
      if (!conns[i].in.empty()) Process(conns[i], {});
    }
    shared.armed.fetch_add(1);
    uint32_t seen_step = ~0u;
    while (!shared.finish.load(std::memory_order_acquire)) {
      now = MonotonicNs();
      uint32_t s = shared.step.load(std::memory_order_acquire);
      if (s != seen_step) {
        seen_step = step = s;
        StartStep();
      }
      uint64_t pass_start = now;
      uint64_t before = published[step];
      int64_t wait_us = 20000;
      if (!shared.stop.load(std::memory_order_acquire) && step < steps->size()) {
        wait_us = Publish();
      }
      bool worked = published[step] != before || !dirty.empty();
      FlushDirty();
      if (engine.plan_.spin) {
        ring->SubmitAndPoll();
      } else {
        ring->SubmitAndWait(wait_us);
        pass_start = MonotonicNs();  // the wait is idle time
      }
      now = MonotonicNs();
      worked |= ring->DrainCompletions([this](const shard::Completion& c) { Handle(c); }) > 0;
      FlushDirty();
      if (worked) busy_ns[step] += MonotonicNs() - pass_start;
      if (local_delivered) shared.delivered.fetch_add(std::exchange(local_delivered, 0));
      if (local_answered) shared.answered.fetch_add(std::exchange(local_answered, 0));
    }
    // Let sends in flight finish: a half-written request would corrupt the next run's stream.
    uint64_t deadline = MonotonicNs() + 2'000'000'000;
    while (AnySendBusy() && MonotonicNs() < deadline) {
      ring->SubmitAndWait(10000);
      ring->DrainCompletions([this](const shard::Completion& c) { Handle(c); });
    }
    ring.reset();  // cancels the receives; unread bytes wait in the sockets for the next run
  }

  bool AnySendBusy() const {
    for (const Conn& c : conns) {
      if (c.open && c.send_busy) return true;
    }
    return false;
  }

  void StartStep() {
    if (!engine.plan_.open_loop || step >= steps->size()) return;
    double rate = (*steps)[step].rate;
    if (rate <= 0) return;
    auto interval = static_cast<uint64_t>(1e9 / rate);
    // Spread the publishers' schedules over one interval.
    size_t k = 0;
    for (uint32_t i : publishers) {
      conns[i].next_due = now + interval * k++ / std::max<size_t>(publishers.size(), 1);
    }
  }

  // Appends what is due; returns how long the loop may wait for completions (µs).
  int64_t Publish() {
    const LoadPlan& plan = engine.plan_;
    int64_t wait_us = 20000;
    if (plan.open_loop) {
      double rate = (*steps)[step].rate;
      if (rate <= 0) return wait_us;
      auto interval = static_cast<uint64_t>(1e9 / rate);
      for (uint32_t i : publishers) {
        Conn& c = conns[i];
        if (!c.open) continue;
        for (int burst = 0; c.next_due <= now && burst < kMaxBurst; ++burst) {
          AppendPublish(c, c.next_due);
          c.next_due += interval;
        }
        int64_t until =
            c.next_due > now ? static_cast<int64_t>((c.next_due - now + 999) / 1000) : 0;
        wait_us = std::min(wait_us, until);
      }
      return wait_us;
    }
    for (uint32_t i : publishers) {
      Conn& c = conns[i];
      while (c.open && (plan.max_publishes == 0 || c.sent < plan.max_publishes) &&
             c.sent - c.answered < plan.window) {
        if (!DeliveryWindowOpen()) {
          wait_us = 100;  // deliveries land on other threads' rings too: look again soon
          break;
        }
        AppendPublish(c, now);
      }
    }
    return wait_us;
  }

  bool DeliveryWindowOpen() const {
    const LoadPlan& plan = engine.plan_;
    if (plan.deliveries_per_publish <= 0) return true;
    double undelivered =
        static_cast<double>(shared.published.load(std::memory_order_relaxed)) *
            plan.deliveries_per_publish -
        static_cast<double>(shared.delivered.load(std::memory_order_relaxed) + local_delivered);
    return undelivered < plan.delivery_window * plan.deliveries_per_publish;
  }

  void AppendPublish(Conn& c, uint64_t stamp) {
    const auto& topics = engine.topology_.publisher_topics[c.index];
    uint32_t topic = topics[c.next_topic++ % topics.size()];
    Stamp(payload, stamp, step);
    engine.adapter_.AppendPublish(c.out, c.index, topic, payload, c.sent);
    c.stamps.emplace_back(stamp, step);
    ++c.sent;
    ++published[step];
    shared.published.fetch_add(1, std::memory_order_relaxed);
    MarkDirty(c);
  }

  void MarkDirty(Conn& c) {
    if (c.dirty) return;
    c.dirty = true;
    dirty.push_back(static_cast<uint32_t>(&c - conns.data()));
  }

  void FlushDirty() {
    for (uint32_t i : dirty) {
      conns[i].dirty = false;
      Send(i);
    }
    dirty.clear();
  }

  void Send(uint32_t i) {
    Conn& c = conns[i];
    if (c.tls) {
      SendTls(i);
      return;
    }
    if (!c.open || c.send_busy || c.out.empty()) return;
    std::swap(c.out, c.sending);
    c.out.clear();
    c.send_off = 0;
    SubmitSend(i);
  }

  // What is queued goes out as records of this connection's stream, with anything else the
  // stream has to say (a key update's answer).
  void SendTls(uint32_t i) {
    Conn& c = conns[i];
    if (!c.open || c.send_busy) return;
    if (!c.out.empty()) {
      Status written =
          c.tls->Write({reinterpret_cast<const uint8_t*>(c.out.data()), c.out.size()});
      if (written.ok()) written = c.tls->Flush();
      c.out.clear();
      if (!written.ok()) {
        Fail(written.error().message + ": " + written.error().details);
        Lost(c, "TLS write failed");
        return;
      }
    }
    c.sending.clear();
    c.tls->TakeOutput(&c.sending);
    if (c.sending.empty()) return;
    c.send_off = 0;
    SubmitSend(i);
  }

  void SubmitSend(uint32_t i) {
    Conn& c = conns[i];
    c.send_busy = true;
    c.iov = {c.sending.data() + c.send_off, c.sending.size() - c.send_off};
    c.msg = {};
    c.msg.msg_iov = &c.iov;
    c.msg.msg_iovlen = 1;
    ring->SendMsg(c.fd, &c.msg, UserData(i, kSend));
  }

  void Handle(const shard::Completion& comp) {
    auto i = static_cast<uint32_t>(comp.user_data >> 1);
    Conn& c = conns[i];
    if ((comp.user_data & 1) == kSend) {
      c.send_busy = false;
      if (comp.res < 0) {
        Lost(c, "send failed");
        return;
      }
      c.send_off += static_cast<size_t>(comp.res);
      if (c.send_off < c.sending.size()) {
        SubmitSend(i);
      } else {
        c.sending.clear();
        Send(i);
      }
      return;
    }
    if (comp.has_buffer()) {
      if (comp.res > 0 && c.tls) {
        ReceiveTls(c, ring->BufferData(comp.buffer_id(), comp.res));
      } else if (comp.res > 0) {
        auto data = ring->BufferData(comp.buffer_id(), comp.res);
        Process(c, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
      }
      ring->ReturnBuffer(comp.buffer_id());
    }
    if (!comp.more() && c.open) {
      if (comp.res > 0 || comp.res == -ENOBUFS) {
        ring->MultishotRecv(c.fd, UserData(i, kRecv));  // ended early: buffers ran out
      } else {
        Lost(c, comp.res == 0 ? "the server closed a connection" : strerror(-comp.res));
      }
    }
  }

  void ReceiveTls(Conn& c, std::span<const uint8_t> ciphertext) {
    if (!c.open) return;
    plain.clear();
    auto input = c.tls->Receive(ciphertext, &plain);
    if (!input.ok()) {
      Fail(input.error().message + ": " + input.error().details);
      Lost(c, "TLS error");
      shutdown(c.fd, SHUT_RDWR);
      return;
    }
    Process(c, std::string_view(reinterpret_cast<const char*>(plain.data()), plain.size()));
    if (*input == wire::TlsStream::Input::kPeerClosed) Lost(c, "the server closed a connection");
    if (c.tls->pending_output() > 0) MarkDirty(c);
  }

  void Lost(Conn& c, const std::string& why) {
    if (!c.open) return;
    c.open = false;
    ++disconnects;
    if (first_failure.empty()) first_failure = why;
  }

  void Process(Conn& c, std::string_view data) {
    cur = &c;
    size_t used;
    if (c.in.empty()) {
      used = engine.adapter_.Consume(data, *this);
      if (used != Adapter::kBroken && used < data.size()) c.in.assign(data.substr(used));
    } else {
      c.in.append(data);
      used = engine.adapter_.Consume(c.in, *this);
      if (used != Adapter::kBroken) c.in.erase(0, used);
    }
    if (used == Adapter::kBroken) {
      Fail("unparseable bytes from the server");
      shutdown(c.fd, SHUT_RDWR);
    }
    if (!c.out.empty()) MarkDirty(c);
  }

  // --- Sink ---------------------------------------------------------------------------------

  void Delivery(std::string_view p) override {
    if (p.size() < kStampBytes) {
      Fail("a delivery without a timestamp");
      return;
    }
    uint64_t stamp = ParseHex(p.substr(0, 16));
    auto s = static_cast<uint32_t>(ParseHex(p.substr(16, 2)));
    if (s < latency.size()) latency[s].Record(now > stamp ? now - stamp : 0);
    ++delivered[step];
    ++local_delivered;
  }

  void Acks(uint32_t n) override {
    for (uint32_t k = 0; k < n && !cur->stamps.empty(); ++k) {
      auto [stamp, s] = cur->stamps.front();
      cur->stamps.pop_front();
      if (s < ack_latency.size()) ack_latency[s].Record(now > stamp ? now - stamp : 0);
    }
    cur->answered += n;
    acked[step] += n;
    local_answered += n;
  }

  void Failure(std::string_view what) override {
    Fail(std::string(what));
    if (!cur->stamps.empty()) cur->stamps.pop_front();
    ++cur->answered;
    ++local_answered;
  }

  void Reply(std::string_view bytes) override { cur->out.append(bytes); }

  void Fail(const std::string& what) {
    ++failures;
    if (first_failure.empty()) first_failure = what;
  }
};

Engine::Engine(Adapter& adapter, const Topology& topology, LoadPlan plan)
    : adapter_(adapter), shared_(std::make_unique<Shared>()), topology_(topology),
      plan_(std::move(plan)) {
  int threads = std::max(1, plan_.threads);
  for (int t = 0; t < threads; ++t) workers_.push_back(std::make_unique<Worker>(*this, *shared_));
  uint32_t users = static_cast<uint32_t>(std::max<size_t>(topology_.user_topics.size(), 1));
  for (uint32_t p = 0; p < plan_.publishers; ++p) {
    Worker& w = *workers_[p % threads];
    w.publishers.push_back(static_cast<uint32_t>(w.conns.size()));
    w.conns.emplace_back();
    w.conns.back().publisher = true;
    w.conns.back().index = p;
  }
  for (uint32_t i = 0; i < plan_.subscriber_conns; ++i) {
    Worker& w = *workers_[i % threads];
    w.conns.emplace_back();
    w.conns.back().index = i % users;
    w.conns.back().stalled = i >= plan_.subscriber_conns - plan_.stalled_conns;
  }
}

Engine::~Engine() { Close(); }

uint32_t Engine::StalledClosedByServer() {
  uint32_t closed = 0;
  std::vector<char> buf(1 << 16);
  for (auto& w : workers_) {
    for (Worker::Conn& c : w->conns) {
      if (!c.stalled || c.fd < 0) continue;
      for (;;) {
        pollfd p{c.fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) break;  // nothing more within a second: still open
        if (recv(c.fd, buf.data(), buf.size(), 0) <= 0) {
          ++closed;
          break;
        }
      }
    }
  }
  return closed;
}

uint32_t Engine::connections() const {
  uint32_t n = 0;
  for (const auto& w : workers_) n += static_cast<uint32_t>(w->conns.size());
  return n;
}

Status Engine::Connect() {
  if (adapter_.options().tls && !shared_->tls) {
    auto context = wire::TlsContext::ForClient(adapter_.options().tls_ca_file);
    if (!context.ok()) return context.error();
    shared_->tls = std::move(*context);
  }
  std::vector<std::thread> threads;
  uint32_t source = 0;
  for (auto& w : workers_) {
    threads.emplace_back([&w, source] { w->Handshakes(source); });
    source += static_cast<uint32_t>(w->conns.size());
  }
  for (auto& t : threads) t.join();
  for (auto& w : workers_) {
    if (!w->setup.ok()) return w->setup;
  }
  return OkStatus();
}

RunResult Engine::Run(const std::vector<Step>& steps) {
  Shared& sh = *shared_;
  sh.step = 0;
  sh.stop = false;
  sh.finish = false;
  sh.armed = 0;
  sh.published = sh.answered = sh.delivered = 0;
  for (auto& w : workers_) {
    for (auto& c : w->conns) {
      c.sent = c.answered = 0;
      c.stamps.clear();
    }
  }
  std::vector<std::thread> threads;
  for (auto& w : workers_) threads.emplace_back([&w, &steps] { w->Run(steps); });
  while (sh.armed.load() < workers_.size()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::vector<StepResult> measured(steps.size());
  double cpu = SelfCpuSeconds();
  double server_cpu = plan_.server_pid ? ProcessCpuSeconds(plan_.server_pid) : -1;
  uint64_t t = MonotonicNs();
  for (size_t k = 0; k < steps.size(); ++k) {
    sh.step.store(static_cast<uint32_t>(k), std::memory_order_release);
    // A step lasts its time, or until every capped publisher's publishes are answered.
    uint64_t step_end = t + static_cast<uint64_t>(steps[k].seconds * 1e9);
    uint64_t cap = plan_.max_publishes * plan_.publishers;
    while (MonotonicNs() < step_end && (cap == 0 || sh.answered.load() < cap)) {
      uint64_t left = step_end - std::min(step_end, MonotonicNs());
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(left, 10'000'000)));
    }
    uint64_t t2 = MonotonicNs();
    double cpu2 = SelfCpuSeconds();
    StepResult& r = measured[k];
    r.step = steps[k];
    r.seconds = static_cast<double>(t2 - t) / 1e9;
    r.generator_cpu = (cpu2 - cpu) / r.seconds;
    if (plan_.server_pid) {
      double s2 = ProcessCpuSeconds(plan_.server_pid);
      r.server_cpu = (s2 - server_cpu) / r.seconds;
      server_cpu = s2;
    }
    t = t2;
    cpu = cpu2;
  }
  sh.step.store(static_cast<uint32_t>(steps.size()), std::memory_order_release);
  sh.stop.store(true, std::memory_order_release);
  // Drain: until every publish is answered and deliveries stop arriving (at most 5 s).
  uint64_t deadline = MonotonicNs() + 5'000'000'000;
  uint64_t last = ~uint64_t{0}, last_answered = ~uint64_t{0};
  int quiet = 0;
  while (MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    uint64_t d = sh.delivered.load(), a = sh.answered.load();
    bool all_answered = a >= sh.published.load();
    quiet = (d == last && a == last_answered) ? quiet + 1 : 0;
    last = d;
    last_answered = a;
    if ((all_answered && quiet >= 3) || quiet >= 15) break;
  }
  sh.finish.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();

  RunResult result;
  for (size_t k = 0; k < steps.size(); ++k) {
    StepResult& r = measured[k];
    for (auto& w : workers_) {
      r.latency.Merge(w->latency[k]);
      r.ack_latency.Merge(w->ack_latency[k]);
      r.published += w->published[k];
      r.acked += w->acked[k];
      r.delivered += w->delivered[k];
      r.generator_busy += static_cast<double>(w->busy_ns[k]) / 1e9 / r.seconds;
      result.published += w->published[k];
      result.acked += w->acked[k];
      result.delivered += w->delivered[k];
    }
    if (steps[k].report) result.steps.push_back(std::move(r));
  }
  for (auto& w : workers_) {
    result.published += w->published[steps.size()];
    result.acked += w->acked[steps.size()];
    result.delivered += w->delivered[steps.size()];
    result.failures += std::exchange(w->failures, 0);
    result.disconnects += std::exchange(w->disconnects, 0);
    if (result.first_failure.empty()) result.first_failure = w->first_failure;
    w->first_failure.clear();
  }
  return result;
}

void Engine::Close() {
  for (auto& w : workers_) {
    for (auto& c : w->conns) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
      c.open = false;
    }
  }
}

}  // namespace parley::bench
