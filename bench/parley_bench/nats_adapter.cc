// NATS over its text protocol: SUB / PUB for live fan-out (a PING every kAckEvery publishes; its
// PONG acknowledges them, since core NATS has no per-publish ack), and JetStream publishes with
// a reply inbox for the durable case (the PubAck arrives once the stream stored the message).
#include <unistd.h>

#include <charconv>

#include "bench/parley_bench/adapter.h"

namespace parley::bench {
namespace {

constexpr uint32_t kAckEvery = 32;
constexpr std::string_view kStream = "BENCH";
constexpr uint32_t kInboxSid = 1000000;

bool ParseSize(std::string_view s, size_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// One server line (and, for MSG, its payload) at the head of `in`.
struct Unit {
  enum Kind { kIncomplete, kBroken, kMsg, kPing, kPong, kOk, kInfo, kErr } kind = kIncomplete;
  std::string_view subject, payload, line;
  size_t used = 0;
};

Unit NextUnit(std::string_view in) {
  Unit u;
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return u;
  u.line = in.substr(0, eol);
  u.used = eol + 2;
  if (u.line.starts_with("MSG ")) {
    // MSG <subject> <sid> [reply-to] <#bytes>
    std::string_view rest = u.line.substr(4);
    size_t sp = rest.find(' ');
    size_t last = rest.rfind(' ');
    size_t n = 0;
    if (sp == std::string_view::npos || !ParseSize(rest.substr(last + 1), &n)) {
      u.kind = Unit::kBroken;
      return u;
    }
    if (in.size() < u.used + n + 2) return u;  // kIncomplete
    u.subject = rest.substr(0, sp);
    u.payload = in.substr(u.used, n);
    u.used += n + 2;
    u.kind = Unit::kMsg;
  } else if (u.line == "PING") {
    u.kind = Unit::kPing;
  } else if (u.line == "PONG") {
    u.kind = Unit::kPong;
  } else if (u.line.starts_with("+OK")) {
    u.kind = Unit::kOk;
  } else if (u.line.starts_with("INFO ")) {
    u.kind = Unit::kInfo;
  } else if (u.line.starts_with("-ERR")) {
    u.kind = Unit::kErr;
  } else {
    u.kind = Unit::kBroken;
  }
  return u;
}

class NatsAdapter final : public Adapter {
 public:
  explicit NatsAdapter(TargetOptions o) : Adapter(std::move(o)) {}

  Status Prepare(const Topology& topology, Mode mode) override {
    topology_ = topology;
    durable_ = mode == Mode::kDurable;
    if (!durable_) return OkStatus();
    // A fresh file-backed stream over durable.>; JetStream may still be starting: retry briefly.
    std::string config = R"({"name":"BENCH","subjects":["durable.>"],"retention":"limits",)"
                         R"("storage":"file","discard":"old","num_replicas":1})";
    Error last = MakeError(ErrorCode::kUnavailable, "jetstream did not answer");
    for (int attempt = 0; attempt < 50; ++attempt) {
      Request("$JS.API.STREAM.DELETE." + std::string(kStream), "");
      auto reply = Request("$JS.API.STREAM.CREATE." + std::string(kStream), config);
      if (reply.ok() && reply->find("\"error\"") == std::string::npos) return OkStatus();
      last = reply.ok() ? MakeError(ErrorCode::kUnavailable, "stream create", *reply)
                        : reply.error();
      usleep(100000);
    }
    return last;
  }

  Status BeginHandshake(Handshake& h) override {
    std::string out = ConnectLine();
    if (h.publisher) {
      if (durable_) out += "SUB " + Inbox(h.index) + " " + std::to_string(kInboxSid) + "\r\n";
    } else {
      uint32_t sid = 1;
      for (uint32_t t : topology_.user_topics[h.index]) {
        out += "SUB room." + std::to_string(t) + " " + std::to_string(sid++) + "\r\n";
      }
    }
    out += "PING\r\n";
    return WriteAll(h.fd, out);
  }

  Status FinishHandshake(Handshake& h) override {
    size_t pos = 0;
    while (true) {
      Unit u = NextUnit(std::string_view(h.leftover).substr(pos));
      if (u.kind == Unit::kIncomplete) {
        if (Status s = ReadMore(h.fd, &h.leftover, options_.timeout_ms); !s.ok()) return s;
        continue;
      }
      if (u.kind == Unit::kBroken) return MakeError(ErrorCode::kInternal, "bad line from nats");
      if (u.kind == Unit::kErr) {
        return MakeError(ErrorCode::kUnavailable, "nats", std::string(u.line));
      }
      pos += u.used;
      if (u.kind == Unit::kPong) break;
    }
    h.leftover.erase(0, pos);
    return OkStatus();
  }

  void AppendPublish(std::string& out, uint32_t publisher, uint32_t topic,
                     std::string_view payload, uint64_t n) override {
    if (durable_) {
      out += "PUB durable." + std::to_string(topic) + " " + Inbox(publisher) + " ";
    } else {
      out += "PUB room." + std::to_string(topic) + " ";
    }
    out += std::to_string(payload.size());
    out += "\r\n";
    out += payload;
    out += "\r\n";
    if (!durable_ && (n + 1) % kAckEvery == 0) out += "PING\r\n";
  }

  size_t Consume(std::string_view in, Sink& sink) override {
    size_t pos = 0;
    while (pos < in.size()) {
      Unit u = NextUnit(in.substr(pos));
      if (u.kind == Unit::kIncomplete) break;
      if (u.kind == Unit::kBroken) return Adapter::kBroken;
      pos += u.used;
      switch (u.kind) {
        case Unit::kMsg:
          if (u.subject.starts_with("_INBOX.")) {
            if (u.payload.find("\"error\"") != std::string_view::npos) {
              sink.Failure(u.payload);
            } else {
              sink.Acks(1);
            }
          } else {
            sink.Delivery(u.payload);
          }
          break;
        case Unit::kPing:
          sink.Reply("PONG\r\n");
          break;
        case Unit::kPong:
          sink.Acks(kAckEvery);
          break;
        case Unit::kErr:
          sink.Failure(u.line);
          break;
        default:
          break;
      }
    }
    return pos;
  }

  Result<uint64_t> CountDurable() override {
    auto reply = Request("$JS.API.STREAM.INFO." + std::string(kStream), "", 1000);
    if (!reply.ok()) return reply.error();
    size_t state = reply->find("\"state\"");
    size_t at = reply->find("\"messages\":", state == std::string::npos ? 0 : state);
    if (state == std::string::npos || at == std::string::npos) {
      return MakeError(ErrorCode::kUnavailable, "stream not recovered", *reply);
    }
    at += 11;
    size_t end = reply->find_first_not_of("0123456789", at);
    size_t count = 0;
    if (!ParseSize(std::string_view(*reply).substr(at, end - at), &count)) {
      return MakeError(ErrorCode::kInternal, "stream info", *reply);
    }
    return static_cast<uint64_t>(count);
  }

 private:
  std::string ConnectLine() const {
    std::string c = R"(CONNECT {"verbose":false,"pedantic":false,"echo":false,"protocol":1,)"
                    R"("name":"parley-bench","lang":"c++","version":"1")";
    if (!options_.user.empty()) c += R"(,"user":")" + options_.user + "\"";
    if (!options_.password.empty()) c += R"(,"pass":")" + options_.password + "\"";
    return c + "}\r\n";
  }
  std::string Inbox(uint32_t publisher) const {
    return "_INBOX." + options_.tag + "." + std::to_string(publisher);
  }

  // A request over a fresh control connection: the reply's payload.
  Result<std::string> Request(const std::string& subject, const std::string& payload,
                              int timeout_ms = 5000) {
    auto fd = ConnectTcp(options_.host, options_.port, timeout_ms);
    if (!fd.ok()) return fd.error();
    std::string inbox = "_INBOX.control." + options_.tag;
    std::string out = ConnectLine() + "SUB " + inbox + " 1\r\nPUB " + subject + " " + inbox +
                      " " + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
    Status s = WriteAll(*fd, out);
    std::string buf;
    Result<std::string> reply = MakeError(ErrorCode::kUnavailable, "no reply from nats");
    size_t pos = 0;
    while (s.ok()) {
      Unit u = NextUnit(std::string_view(buf).substr(pos));
      if (u.kind == Unit::kIncomplete) {
        s = ReadMore(*fd, &buf, timeout_ms);
        continue;
      }
      if (u.kind == Unit::kBroken || u.kind == Unit::kErr) {
        reply = MakeError(ErrorCode::kUnavailable, "nats", std::string(u.line));
        break;
      }
      pos += u.used;
      if (u.kind == Unit::kPing) s = WriteAll(*fd, "PONG\r\n");
      if (u.kind == Unit::kMsg) {
        reply = std::string(u.payload);
        break;
      }
    }
    close(*fd);
    if (!s.ok()) return s.error();
    return reply;
  }

  Topology topology_;
  bool durable_ = false;
};

}  // namespace

std::unique_ptr<Adapter> MakeNatsAdapter(const TargetOptions& options) {
  return std::make_unique<NatsAdapter>(options);
}

}  // namespace parley::bench
