#include "server/metrics.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace parley::server {
namespace {

using shard::ShardCounters;

// Writes families one at a time: HELP and TYPE once, then every shard's samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // labels: already formatted, e.g. shard="0",kind="Ping"
  void Sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void Sample(std::string_view name, std::string_view labels, uint64_t value) {
    Sample(name, labels, std::to_string(value));
  }
  // `scale` converts the histogram's unit to the exported one (1e-9: ns to seconds).
  void Histogram(std::string_view name, const std::string& labels, const persist::Histogram& h,
                 double scale) {
    uint64_t cumulative = 0;
    const std::string bucket = std::string(name) + "_bucket";
    for (size_t i = 0; i < h.bounds().size(); ++i) {
      cumulative += h.bucket(i);
      Sample(bucket, labels + ",le=\"" + Number(static_cast<double>(h.bounds()[i]) * scale) + "\"",
             cumulative);
    }
    cumulative += h.bucket(h.bounds().size());
    Sample(bucket, labels + ",le=\"+Inf\"", cumulative);
    Sample(std::string(name) + "_sum", labels, Number(static_cast<double>(h.sum()) * scale));
    // Observations landing between the bucket reads: the count never says fewer than +Inf.
    Sample(std::string(name) + "_count", labels, std::max(cumulative, h.count()));
  }
  static std::string Number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g", v);
    return buf;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string ShardLabel(uint32_t k) { return "shard=\"" + std::to_string(k) + "\""; }

// A counter of every shard, read by `get`.
template <class Get>
void PerShard(Exposition& x, const shard::Server& server, std::string_view name,
              std::string_view type, std::string_view help, Get get) {
  x.Family(name, type, help);
  for (uint32_t k = 0; k < server.shard_count(); ++k) x.Sample(name, ShardLabel(k), get(k));
}

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ConnectionMetrics(Exposition& x, const shard::Server& s) {
  auto c = [&](uint32_t k) -> const ShardCounters& { return s.shard(k).counters(); };
  PerShard(x, s, "parley_connections_accepted_total", "counter", "Client connections accepted.",
           [&](uint32_t k) { return c(k).connections_accepted.value(); });
  PerShard(x, s, "parley_connections_open", "gauge", "Client connections open now.",
           [&](uint32_t k) {
             uint64_t closed = c(k).connections_closed.value();  // first: never above accepted
             return c(k).connections_accepted.value() - closed;
           });
  PerShard(x, s, "parley_frames_received_total", "counter", "Whole frames received.",
           [&](uint32_t k) { return c(k).frames_in.value(); });
  PerShard(x, s, "parley_sessions_lagged_total", "counter",
           "Connections dropped because their outbound queue overflowed (slow readers).",
           [&](uint32_t k) { return c(k).sessions_lagged.value(); });
  PerShard(x, s, "parley_going_away_sent_total", "counter",
           "GoingAway frames sent to connections while draining.",
           [&](uint32_t k) { return c(k).going_away_sent.value(); });
  PerShard(x, s, "parley_tls_failures_total", "counter",
           "Connections ended by a failed TLS handshake or a TLS error (logged as warn).",
           [&](uint32_t k) { return c(k).tls_failures.value(); });
}

void RequestMetrics(Exposition& x, const shard::Server& s) {
  x.Family("parley_requests_total", "counter", "Verified request frames, by body kind.");
  for (uint32_t k = 0; k < s.shard_count(); ++k) {
    const ShardCounters& c = s.shard(k).counters();
    for (size_t kind = 1; kind < ShardCounters::kKinds; ++kind) {
      uint64_t n = c.requests[kind].value();
      if (n == 0) continue;
      x.Sample(
          "parley_requests_total",
          ShardLabel(k) + ",kind=\"" + wire::EnumNameBody(static_cast<wire::Body>(kind)) + "\"", n);
    }
  }
  x.Family("parley_errors_total", "counter",
           "Error frames sent, by code (docs/protocol.md); counted by the shard that decided.");
  for (uint32_t k = 0; k < s.shard_count(); ++k) {
    const ShardCounters& c = s.shard(k).counters();
    for (size_t code = 1; code < ShardCounters::kCodes; ++code) {
      x.Sample("parley_errors_total",
               ShardLabel(k) + ",code=\"" +
                   std::string(ErrorCodeName(static_cast<ErrorCode>(code))) + "\"",
               c.errors[code].value());
    }
  }
  x.Family("parley_request_duration_seconds", "histogram",
           "From a request frame's arrival to its answer queued, on the connection's shard, by "
           "kind.");
  for (uint32_t k = 0; k < s.shard_count(); ++k) {
    const ShardCounters& c = s.shard(k).counters();
    for (size_t kind = 1; kind < ShardCounters::kKinds; ++kind) {
      const persist::Histogram& h = c.latency_ns[kind];
      if (h.count() == 0) continue;
      x.Histogram(
          "parley_request_duration_seconds",
          ShardLabel(k) + ",kind=\"" + wire::EnumNameBody(static_cast<wire::Body>(kind)) + "\"", h,
          1e-9);
    }
  }
  auto c = [&](uint32_t k) -> const ShardCounters& { return s.shard(k).counters(); };
  PerShard(x, s, "parley_deliveries_total", "counter",
           "Events written to subscribed connections (fan-out, one per connection).",
           [&](uint32_t k) { return c(k).deliveries.value(); });
  PerShard(x, s, "parley_rate_limited_total", "counter", "Requests refused by a rate limit.",
           [&](uint32_t k) { return c(k).rate_limited.value(); });
  PerShard(x, s, "parley_connections_refused_total", "counter",
           "Connections refused by --max_connections or --max_connections_per_address.",
           [&](uint32_t k) { return c(k).connections_refused.value(); });
  PerShard(x, s, "parley_connections_timed_out_total", "counter",
           "Connections closed by the handshake, frame or idle timeout.",
           [&](uint32_t k) { return c(k).connections_timed_out.value(); });
  PerShard(x, s, "parley_ephemeral_coalesced_total", "counter",
           "Typing and presence events replaced by newer ones for connections that are behind.",
           [&](uint32_t k) { return c(k).ephemeral_coalesced.value(); });
  PerShard(x, s, "parley_subscriptions_refused_total", "counter",
           "Subscriptions refused by --max_subscriptions.",
           [&](uint32_t k) { return c(k).subscriptions_refused.value(); });
  PerShard(x, s, "parley_sign_ins_overloaded_total", "counter",
           "Sign-ins and resumes answered overloaded (admission during reconnect storms).",
           [&](uint32_t k) { return c(k).sign_ins_overloaded.value(); });
  PerShard(x, s, "parley_history_pages_shared_total", "counter",
           "History and Sync answers shared with an identical read of the unchanged channel.",
           [&](uint32_t k) { return c(k).history_pages_shared.value(); });
  PerShard(x, s, "parley_sign_in_failures_total", "counter",
           "Failed sign-ins (wrong password or second factor).",
           [&](uint32_t k) { return c(k).sign_in_failures.value(); });
  PerShard(x, s, "parley_error_logs_suppressed_total", "counter",
           "Error log lines left out by the per-shard cap.",
           [&](uint32_t k) { return c(k).error_logs_suppressed.value(); });
}

void LoopMetrics(Exposition& x, const shard::Server& s) {
  auto c = [&](uint32_t k) -> const ShardCounters& { return s.shard(k).counters(); };
  auto seconds = [](uint64_t ns) { return Exposition::Number(static_cast<double>(ns) * 1e-9); };
  PerShard(x, s, "parley_loop_busy_seconds_total", "counter",
           "Time the shard loop spent working (utilisation = busy / (busy + wait)).",
           [&](uint32_t k) { return seconds(c(k).loop_busy_ns.value()); });
  PerShard(x, s, "parley_loop_wait_seconds_total", "counter",
           "Time the shard loop spent waiting in io_uring_enter.",
           [&](uint32_t k) { return seconds(c(k).loop_wait_ns.value()); });
  PerShard(x, s, "parley_mailbox_depth", "gauge",
           "Messages from other shards waiting in this shard's mailboxes.",
           [&](uint32_t k) { return uint64_t{s.mailbox_depth(k)}; });
}

void LogMetrics(Exposition& x, const shard::Server& s) {
  auto c = [&](uint32_t k) -> const ShardCounters& { return s.shard(k).counters(); };
  PerShard(x, s, "parley_events_committed_total", "counter", "Events appended to the log.",
           [&](uint32_t k) { return c(k).events_committed.value(); });
  x.Family("parley_log_commit_batch_records", "histogram",
           "Events per log commit (group commit batch size).");
  for (uint32_t k = 0; k < s.shard_count(); ++k) {
    x.Histogram("parley_log_commit_batch_records", ShardLabel(k),
                s.shard(k).commit_stats().batch_records, 1);
  }
  x.Family("parley_log_commit_seconds", "histogram",
           "Time of each log commit (one LMDB transaction for a batch).");
  for (uint32_t k = 0; k < s.shard_count(); ++k) {
    x.Histogram("parley_log_commit_seconds", ShardLabel(k), s.shard(k).commit_stats().commit_ns,
                1e-9);
  }
  PerShard(x, s, "parley_log_committed_lsn", "gauge", "The last LSN written to the log.",
           [&](uint32_t k) {
             return s.shard(k).commit_stats().committed_lsn.load(std::memory_order_relaxed);
           });
  PerShard(x, s, "parley_replayed_events", "gauge", "Events replayed at start-up.",
           [&](uint32_t k) { return c(k).replayed_events.value(); });
  PerShard(x, s, "parley_replay_seconds", "gauge", "Time the shard took to replay its log.",
           [&](uint32_t k) {
             return Exposition::Number(static_cast<double>(c(k).replay_ns.value()) * 1e-9);
           });
  if (const search::SearchService* search = s.search()) {
    PerShard(x, s, "parley_search_index_lag_events", "gauge",
             "Log records written but not yet indexed for search.", [&](uint32_t k) {
               Lsn indexed = search->indexed_lsn(k);
               Lsn committed = s.shard(k).commit_stats().committed_lsn.load();
               return committed > indexed ? committed - indexed : 0;
             });
  }
}

}  // namespace

std::string RenderMetrics(const shard::Server& server) {
  Exposition x;
  x.Family("parley_ready", "gauge", "1 while serving (every shard replayed and listening).");
  x.Sample("parley_ready", "", server.serving() ? 1 : 0);
  ConnectionMetrics(x, server);
  RequestMetrics(x, server);
  LoopMetrics(x, server);
  LogMetrics(x, server);
  return x.Take();
}

HttpResponse ServeAdminPath(const shard::Server& server, std::string_view path) {
  HttpResponse r;
  if (path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics(server);
  } else if (path == "/healthz") {
    r.body = "ok\n";
    if (!server.serving()) return r;  // replaying or draining: alive, not stuck
    int64_t now = SteadyNowMs();
    for (uint32_t k = 0; k < server.shard_count(); ++k) {
      int64_t seen = static_cast<int64_t>(server.shard(k).counters().loop_seen_ms.value());
      if (seen != 0 && now - seen > kLoopStallMs) {
        r.status = 503;
        r.body = "shard " + std::to_string(k) + " loop stalled for " +
                 std::to_string((now - seen) / 1000) + " s\n";
      }
    }
  } else if (path == "/readyz") {
    r.status = server.serving() ? 200 : 503;
    r.body = server.serving() ? "ready\n" : "not ready (replaying or draining)\n";
  } else {
    r.status = 404;
    r.body = "not found; try /metrics, /healthz or /readyz\n";
  }
  return r;
}

}  // namespace parley::server
