// Redis over RESP2: SUBSCRIBE / PUBLISH for live fan-out, XADD to a stream for the durable case
// (acknowledged after the AOF write, fsync'd before the reply under `appendfsync always`).
#include <unistd.h>

#include <charconv>

#include "bench/parley_bench/adapter.h"

namespace parley::bench {
namespace {

// One RESP2 value. Arrays keep their first four string elements (enough for a pub/sub push:
// "message", channel, payload).
struct Resp {
  char type = 0;
  std::string_view text;  // simple string, error, bulk string
  int64_t number = 0;     // integer, or the length of an array / bulk string (-1: null)
  std::string_view items[4];
  size_t count = 0;
};

constexpr size_t kIncomplete = 0;

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Parses one whole value at the head of `in`: the bytes it spans, kIncomplete, or kBroken.
size_t ParseResp(std::string_view in, Resp* out, int depth = 0) {
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return kIncomplete;
  if (eol == 0 || depth > 4) return Adapter::kBroken;
  out->type = in[0];
  std::string_view line = in.substr(1, eol - 1);
  size_t used = eol + 2;
  switch (out->type) {
    case '+':
    case '-':
      out->text = line;
      return used;
    case ':':
      return ParseInt(line, &out->number) ? used : Adapter::kBroken;
    case '$': {
      if (!ParseInt(line, &out->number)) return Adapter::kBroken;
      if (out->number < 0) return used;
      size_t len = static_cast<size_t>(out->number);
      if (in.size() < used + len + 2) return kIncomplete;
      out->text = in.substr(used, len);
      return used + len + 2;
    }
    case '*': {
      if (!ParseInt(line, &out->number)) return Adapter::kBroken;
      out->count = 0;
      for (int64_t i = 0; i < out->number; ++i) {
        Resp item;
        size_t n = ParseResp(in.substr(used), &item, depth + 1);
        if (n == kIncomplete || n == Adapter::kBroken) return n;
        if (out->count < 4) out->items[out->count++] = item.text;
        used += n;
      }
      return used;
    }
    default:
      return Adapter::kBroken;
  }
}

void AppendBulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out += s;
  out += "\r\n";
}

std::string Topic(uint32_t t) { return "room." + std::to_string(t); }
std::string Stream(uint32_t t) { return "durable." + std::to_string(t); }

class RedisAdapter final : public Adapter {
 public:
  explicit RedisAdapter(TargetOptions o) : Adapter(std::move(o)) {}

  Status Prepare(const Topology& topology, Mode mode) override {
    topology_ = topology;
    mode_durable_ = mode == Mode::kDurable;
    return OkStatus();
  }

  Status BeginHandshake(Handshake& h) override {
    std::string out;
    if (!options_.password.empty()) {
      out += "*2\r\n";
      AppendBulk(out, "AUTH");
      AppendBulk(out, options_.password);
    }
    if (!h.publisher) {
      const auto& topics = topology_.user_topics[h.index];
      out += "*" + std::to_string(topics.size() + 1) + "\r\n";
      AppendBulk(out, "SUBSCRIBE");
      for (uint32_t t : topics) AppendBulk(out, Topic(t));
    }
    return WriteAll(h.fd, out);
  }

  Status FinishHandshake(Handshake& h) override {
    size_t expected = (options_.password.empty() ? 0 : 1) +
                      (h.publisher ? 0 : topology_.user_topics[h.index].size());
    std::string& buf = h.leftover;
    size_t pos = 0;
    while (expected > 0) {
      Resp r;
      size_t n = ParseResp(std::string_view(buf).substr(pos), &r);
      if (n == Adapter::kBroken) return MakeError(ErrorCode::kInternal, "bad RESP from redis");
      if (n == kIncomplete) {
        if (Status s = ReadMore(h.fd, &buf, options_.timeout_ms); !s.ok()) return s;
        continue;
      }
      if (r.type == '-') return MakeError(ErrorCode::kUnavailable, "redis", std::string(r.text));
      pos += n;
      --expected;
    }
    buf.erase(0, pos);
    return OkStatus();
  }

  void AppendPublish(std::string& out, uint32_t, uint32_t topic, std::string_view payload,
                     uint64_t) override {
    if (mode_durable_) {
      out += "*5\r\n$4\r\nXADD\r\n";
      AppendBulk(out, Stream(topic));
      out += "$1\r\n*\r\n$1\r\np\r\n";
    } else {
      out += "*3\r\n$7\r\nPUBLISH\r\n";
      AppendBulk(out, Topic(topic));
    }
    AppendBulk(out, payload);
  }

  size_t Consume(std::string_view in, Sink& sink) override {
    size_t pos = 0;
    while (pos < in.size()) {
      Resp r;
      size_t n = ParseResp(in.substr(pos), &r);
      if (n == kIncomplete) break;
      if (n == Adapter::kBroken) return Adapter::kBroken;
      pos += n;
      if (r.type == '*') {
        if (r.count >= 3 && r.items[0] == "message") sink.Delivery(r.items[2]);
      } else if (r.type == '-') {
        sink.Failure(r.text);
      } else {
        sink.Acks(1);  // PUBLISH's receiver count, XADD's entry id
      }
    }
    return pos;
  }

  Result<uint64_t> CountDurable() override {
    auto fd = ConnectTcp(options_.host, options_.port, 1000);
    if (!fd.ok()) return fd.error();
    Handshake h{*fd, true, 0, {}};
    Status s = BeginHandshake(h);
    if (s.ok()) s = FinishHandshake(h);
    std::string req = "*2\r\n$4\r\nXLEN\r\n";
    AppendBulk(req, Stream(0));
    if (s.ok()) s = WriteAll(*fd, req);
    Result<uint64_t> count = MakeError(ErrorCode::kUnavailable, "no reply");
    while (s.ok()) {
      Resp r;
      size_t n = ParseResp(h.leftover, &r);
      if (n == kIncomplete) {
        s = ReadMore(*fd, &h.leftover, 1000);
        continue;
      }
      if (n == Adapter::kBroken) {
        count = MakeError(ErrorCode::kInternal, "bad RESP from redis");
      } else if (r.type == ':') {
        count = static_cast<uint64_t>(r.number);
      } else {
        count = MakeError(ErrorCode::kUnavailable, "redis", std::string(r.text));  // LOADING
      }
      break;
    }
    close(*fd);
    if (!s.ok()) return s.error();
    return count;
  }

 private:
  Topology topology_;
  bool mode_durable_ = false;
};

}  // namespace

std::unique_ptr<Adapter> MakeRedisAdapter(const TargetOptions& options) {
  return std::make_unique<RedisAdapter>(options);
}

}  // namespace parley::bench
