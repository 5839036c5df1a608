// parleyd: flags, validation, wiring, signals. Everything else lives in shard/ and below.
#include <arpa/inet.h>
#include <gflags/gflags.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "persist/data_dir.h"
#include "server/admin_http.h"
#include "server/metrics.h"
#include "shard/log.h"
#include "shard/server.h"
#include "wire/tls.h"

DEFINE_string(data_dir, "", "data directory created by `parley-admin init` (required)");
DEFINE_string(host, "127.0.0.1", "IPv4 address to listen on");
DEFINE_int32(port, 7400, "client port (0: pick a free one, reported in the ready log line)");
DEFINE_int32(shards, 0, "shard threads; 0 = the count recorded in the data directory");
DEFINE_string(durability, "sync",
              "sync: fsync every commit batch; async: survives a process crash, a power loss "
              "may undo the last commit");
DEFINE_int64(max_frame_bytes, 1 << 20, "largest accepted frame payload");
DEFINE_int64(max_outbound_bytes, 8 << 20,
             "per-connection send queue bound; past it the "
             "client is told it lagged and disconnected");
DEFINE_int64(max_connections, 100'000, "open client connections, whole server (0: no limit)");
DEFINE_int64(max_connections_per_address, 10'000,
             "open client connections from one IP address (0: no limit)");
DEFINE_int32(handshake_timeout_s, 10, "a connection must send Hello within this");
DEFINE_int32(frame_timeout_s, 30, "a frame begun must be received whole within this");
DEFINE_int32(idle_timeout_s, 900, "a connection that sends no frame for this long is closed "
             "(clients Ping to stay); 0: never");
DEFINE_int32(max_inflight_requests, 1024, "requests per connection not yet answered");
DEFINE_int32(max_subscriptions, 10'000, "channels and presence topics pushed to one connection");
DEFINE_int64(max_outbound_total_bytes, int64_t{1} << 30,
             "all connections' outbound queues together; past it the fullest lag first");
DEFINE_int32(max_queued_sign_ins, 64,
             "password, MFA and OpenID sign-ins waiting for the hashing workers, per shard "
             "(0: no limit)");
DEFINE_int32(resumes_per_second, 20'000, "token sign-ins admitted per second (0: no limit)");
DEFINE_bool(pin_threads, true, "pin each shard thread to one core");
DEFINE_int32(admin_port, 7401,
             "admin HTTP port (/metrics, /healthz, /readyz); 0: pick a free one (reported in the "
             "ready log line and file); -1: off");
DEFINE_string(admin_host, "127.0.0.1", "IPv4 address the admin port listens on");
DEFINE_string(ready_file, "",
              "once serving, write the client port here (first line) and the admin port "
              "(second line, when on)");
DEFINE_string(log_file, "", "append the JSON-lines log here (SIGHUP reopens it); empty: stderr");
DEFINE_string(signing_key_file, "",
              "32-byte key (mode 0600) that signs access tokens; default DATA_DIR/secret.key, "
              "written by parley-admin init");
DEFINE_int32(access_token_ttl_s, 900, "lifetime of access tokens");
DEFINE_int32(refresh_token_ttl_s, 7 * 24 * 3600, "lifetime of refresh tokens (rotated on use)");
DEFINE_int32(max_sessions_per_user, 10, "concurrent sessions; a new one ends the oldest");
DEFINE_int32(scrypt_log2n, 15, "scrypt cost: N = 2^this (r=8, p=1); recorded in each hash");
DEFINE_int32(edit_window_s, 300, "how long after posting an author may edit a message");
DEFINE_int32(away_after_s, 1800, "a signed-in user without activity for this long shows as away");
DEFINE_int32(retention_unit_s, 86400,
             "seconds in one day of a workspace's message retention; shorter only for tests and "
             "staging, to see retention sweeps within seconds (never in production)");
DEFINE_int32(crypto_threads, 2, "worker threads for password hashing and ID token checks");
DEFINE_bool(search_index, true,
            "index messages, channels and people for search (DATA/search); false: no search");
DEFINE_int32(search_threads, 2, "worker threads that run searches");
DEFINE_int64(snapshot_every_events, 1'000'000,
             "write a snapshot of each shard's state every this many of its events, and at a "
             "graceful stop, so a start replays only the log after it (0: never)");
DEFINE_string(oidc_jwks, "", "JWKS file of the OpenID Connect provider; empty: OIDC off");
DEFINE_string(oidc_issuer, "", "expected iss of ID tokens");
DEFINE_string(oidc_audience, "", "expected aud of ID tokens (this server's client id)");
DEFINE_string(tls_cert_file, "",
              "PEM certificate chain (leaf first) for the client port; with --tls_key_file, "
              "clients must speak TLS (1.3 only unless --tls_allow_tls12); empty: plaintext");
DEFINE_string(tls_key_file, "", "PEM private key of --tls_cert_file");
DEFINE_bool(tls_allow_tls12, false,
            "also accept TLS 1.2 clients (renegotiation stays refused); needs --tls_cert_file");
DEFINE_double(rate_per_connection, 200, "requests per second per connection (0: no limit)");
DEFINE_double(burst_per_connection, 400, "burst per connection");
DEFINE_double(rate_per_user, 400, "requests per second per user, per shard (0: no limit)");
DEFINE_double(burst_per_user, 800, "burst per user");
DEFINE_double(rate_signin_per_address, 5, "sign-in requests per second per IP address (0: none)");
DEFINE_double(burst_signin_per_address, 20, "sign-in burst per IP address");

namespace {

using parley::shard::LogJson;

// A parleyd that has not finished draining this long after SIGTERM is stuck (a hung disk): it
// gives up, exiting 1. Server::Stop bounds a normal drain at about 7 s.
constexpr int kDrainWatchdogS = 30;

bool Fail(const std::string& message) {
  LogJson("fatal", message);
  std::fprintf(stderr, "parleyd: %s\n", message.c_str());
  return false;
}

bool IsIpv4(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

// The directory a file will be created in exists and we may write there.
bool CanCreateIn(const std::string& flag, const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Fail("--" + flag + ": directory " + dir.string() + " does not exist");
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return Fail("--" + flag + ": directory " + dir.string() + " is not writable");
  }
  if (access(path.c_str(), F_OK) == 0 && access(path.c_str(), W_OK) != 0) {
    return Fail("--" + flag + ": " + path + " is not writable");
  }
  return true;
}

bool ValidateNetwork() {
  if (FLAGS_port < 0 || FLAGS_port > 65535) return Fail("--port must be 0..65535");
  if (FLAGS_admin_port < -1 || FLAGS_admin_port > 65535) {
    return Fail("--admin_port must be -1 (off) or 0..65535");
  }
  if (FLAGS_admin_port == FLAGS_port && FLAGS_port != 0) {
    return Fail("--admin_port must differ from --port (" + std::to_string(FLAGS_port) + ")");
  }
  if (!IsIpv4(FLAGS_host)) return Fail("--host must be an IPv4 address, not '" + FLAGS_host + "'");
  if (!IsIpv4(FLAGS_admin_host)) {
    return Fail("--admin_host must be an IPv4 address, not '" + FLAGS_admin_host + "'");
  }
  return true;
}

bool ValidatePaths() {
  if (FLAGS_data_dir.empty()) {
    return Fail("--data_dir is required (create one with: parley-admin init --data_dir DIR)");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(FLAGS_data_dir, ec)) {
    return Fail("--data_dir " + FLAGS_data_dir +
                " is not a directory (create one with: parley-admin init --data_dir DIR)");
  }
  if (!FLAGS_ready_file.empty() && !CanCreateIn("ready_file", FLAGS_ready_file)) return false;
  if (!FLAGS_log_file.empty() && !CanCreateIn("log_file", FLAGS_log_file)) return false;
  if (!FLAGS_signing_key_file.empty()) {
    auto key = parley::persist::ReadKeyFile(FLAGS_signing_key_file);
    if (!key.ok()) return Fail("--signing_key_file: " + key.error().message);
  }
  return true;
}

bool ValidateSizes() {
  if (FLAGS_shards < 0 || FLAGS_shards > 64) return Fail("--shards must be 0..64");
  if (FLAGS_durability != "sync" && FLAGS_durability != "async") {
    return Fail("--durability must be sync or async");
  }
  if (FLAGS_max_frame_bytes < 1024 || FLAGS_max_frame_bytes > (64 << 20)) {
    return Fail("--max_frame_bytes must be 1024..67108864");
  }
  if (FLAGS_max_outbound_bytes < FLAGS_max_frame_bytes + 4 ||
      FLAGS_max_outbound_bytes > (int64_t{1} << 32)) {
    return Fail("--max_outbound_bytes must be --max_frame_bytes + 4 .. 4294967296");
  }
  if (FLAGS_crypto_threads < 1 || FLAGS_crypto_threads > 64) {
    return Fail("--crypto_threads must be 1..64");
  }
  if (FLAGS_search_threads < 1 || FLAGS_search_threads > 64) {
    return Fail("--search_threads must be 1..64");
  }
  if (FLAGS_snapshot_every_events < 0) return Fail("--snapshot_every_events must be >= 0");
  if (FLAGS_max_connections < 0 || FLAGS_max_connections > 10'000'000) {
    return Fail("--max_connections must be 0..10000000");
  }
  if (FLAGS_max_connections_per_address < 0 || FLAGS_max_connections_per_address > 10'000'000) {
    return Fail("--max_connections_per_address must be 0..10000000");
  }
  if (FLAGS_max_inflight_requests < 1 || FLAGS_max_inflight_requests > 65'536) {
    return Fail("--max_inflight_requests must be 1..65536");
  }
  if (FLAGS_max_subscriptions < 1 || FLAGS_max_subscriptions > 10'000'000) {
    return Fail("--max_subscriptions must be 1..10000000");
  }
  if (FLAGS_max_outbound_total_bytes < FLAGS_max_frame_bytes + 4) {
    return Fail("--max_outbound_total_bytes must be at least --max_frame_bytes + 4");
  }
  if (FLAGS_max_queued_sign_ins < 0) return Fail("--max_queued_sign_ins must be >= 0");
  if (FLAGS_resumes_per_second < 0) return Fail("--resumes_per_second must be >= 0");
  if (FLAGS_max_sessions_per_user < 1) return Fail("--max_sessions_per_user must be >= 1");
  if (FLAGS_scrypt_log2n < 10 || FLAGS_scrypt_log2n > 20) {
    return Fail("--scrypt_log2n must be 10..20");
  }
  return true;
}

bool ValidateDurations() {
  if (FLAGS_access_token_ttl_s < 10 || FLAGS_refresh_token_ttl_s < FLAGS_access_token_ttl_s) {
    return Fail("--access_token_ttl_s must be >= 10 and <= --refresh_token_ttl_s");
  }
  if (FLAGS_edit_window_s < 0 || FLAGS_edit_window_s > 7 * 24 * 3600) {
    return Fail("--edit_window_s must be 0..604800");
  }
  if (FLAGS_away_after_s < 1 || FLAGS_away_after_s > 7 * 24 * 3600) {
    return Fail("--away_after_s must be 1..604800");
  }
  if (FLAGS_retention_unit_s < 1 || FLAGS_retention_unit_s > 86400) {
    return Fail("--retention_unit_s must be 1..86400");
  }
  if (FLAGS_handshake_timeout_s < 1 || FLAGS_handshake_timeout_s > 3600) {
    return Fail("--handshake_timeout_s must be 1..3600");
  }
  if (FLAGS_frame_timeout_s < 1 || FLAGS_frame_timeout_s > 3600) {
    return Fail("--frame_timeout_s must be 1..3600");
  }
  if (FLAGS_idle_timeout_s < 0 || FLAGS_idle_timeout_s > 7 * 24 * 3600) {
    return Fail("--idle_timeout_s must be 0..604800");
  }
  for (double v :
       {FLAGS_rate_per_connection, FLAGS_rate_per_user, FLAGS_rate_signin_per_address,
        FLAGS_burst_per_connection, FLAGS_burst_per_user, FLAGS_burst_signin_per_address}) {
    if (!std::isfinite(v) || v < 0) return Fail("rate limits and bursts must be finite and >= 0");
  }
  return true;
}

bool ValidateOidc(parley::shard::IdentityConfig& id) {
  if (FLAGS_oidc_jwks.empty()) {
    if (!FLAGS_oidc_issuer.empty() || !FLAGS_oidc_audience.empty()) {
      return Fail("--oidc_issuer and --oidc_audience need --oidc_jwks");
    }
    return true;
  }
  if (FLAGS_oidc_issuer.empty() || FLAGS_oidc_audience.empty()) {
    return Fail("--oidc_jwks needs --oidc_issuer and --oidc_audience");
  }
  auto jwks = parley::auth::Jwks::Load(FLAGS_oidc_jwks);
  if (!jwks.ok()) return Fail("--oidc_jwks: " + jwks.error().message);
  id.oidc_jwks = std::make_shared<const parley::auth::Jwks>(std::move(*jwks));
  id.oidc.issuer = FLAGS_oidc_issuer;
  id.oidc.audience = FLAGS_oidc_audience;
  return true;
}

bool ValidateTls(parley::shard::ServerOptions* o) {
  if (FLAGS_tls_cert_file.empty() && FLAGS_tls_key_file.empty()) {
    if (FLAGS_tls_allow_tls12) return Fail("--tls_allow_tls12 needs --tls_cert_file");
    return true;
  }
  if (FLAGS_tls_cert_file.empty() || FLAGS_tls_key_file.empty()) {
    return Fail("--tls_cert_file and --tls_key_file go together (TLS needs both)");
  }
  auto context = parley::wire::TlsContext::ForServer(FLAGS_tls_cert_file, FLAGS_tls_key_file,
                                                     FLAGS_tls_allow_tls12);
  if (!context.ok()) {
    return Fail("--tls_" + context.error().details + ": " + context.error().message);
  }
  o->tls = std::move(*context);
  return true;
}

// Every flag, before anything is opened: a bad one exits 2 with a message naming it.
bool ValidateFlags(parley::shard::ServerOptions* o) {
  if (!ValidatePaths() || !ValidateNetwork() || !ValidateSizes() || !ValidateDurations() ||
      !ValidateOidc(o->identity) || !ValidateTls(o)) {
    return false;
  }
  o->data_dir = FLAGS_data_dir;
  o->host = FLAGS_host;
  o->port = static_cast<uint16_t>(FLAGS_port);
  o->shards = static_cast<uint32_t>(FLAGS_shards);
  o->durability = FLAGS_durability == "sync" ? parley::persist::Durability::kSync
                                             : parley::persist::Durability::kAsync;
  o->max_frame_bytes = static_cast<uint32_t>(FLAGS_max_frame_bytes);
  o->max_outbound_bytes = static_cast<size_t>(FLAGS_max_outbound_bytes);
  o->pin_threads = FLAGS_pin_threads;
  o->signing_key_file = FLAGS_signing_key_file;
  o->crypto_threads = static_cast<size_t>(FLAGS_crypto_threads);
  o->search_index = FLAGS_search_index;
  o->search_threads = static_cast<size_t>(FLAGS_search_threads);
  o->snapshot_every_events = static_cast<uint64_t>(FLAGS_snapshot_every_events);
  parley::shard::ConnectionLimits& limits = o->limits;
  limits.max_connections = static_cast<uint32_t>(FLAGS_max_connections);
  limits.max_connections_per_address = static_cast<uint32_t>(FLAGS_max_connections_per_address);
  limits.handshake_timeout_ms = static_cast<uint32_t>(FLAGS_handshake_timeout_s) * 1000;
  limits.frame_timeout_ms = static_cast<uint32_t>(FLAGS_frame_timeout_s) * 1000;
  limits.idle_timeout_ms = static_cast<uint32_t>(FLAGS_idle_timeout_s) * 1000;
  limits.max_inflight_requests = static_cast<uint32_t>(FLAGS_max_inflight_requests);
  limits.max_subscriptions = static_cast<uint32_t>(FLAGS_max_subscriptions);
  limits.max_outbound_total_bytes = static_cast<uint64_t>(FLAGS_max_outbound_total_bytes);
  limits.max_queued_sign_ins = static_cast<uint32_t>(FLAGS_max_queued_sign_ins);
  limits.resumes_per_second = static_cast<uint32_t>(FLAGS_resumes_per_second);
  parley::shard::IdentityConfig& id = o->identity;
  id.access_ttl_ms = int64_t{FLAGS_access_token_ttl_s} * 1000;
  id.refresh_ttl_ms = int64_t{FLAGS_refresh_token_ttl_s} * 1000;
  id.max_sessions_per_user = static_cast<size_t>(FLAGS_max_sessions_per_user);
  id.scrypt.log2_n = static_cast<uint8_t>(FLAGS_scrypt_log2n);
  id.edit_window_ms = int64_t{FLAGS_edit_window_s} * 1000;
  id.away_after_ms = int64_t{FLAGS_away_after_s} * 1000;
  id.retention_unit_ms = int64_t{FLAGS_retention_unit_s} * 1000;
  id.per_connection = {FLAGS_rate_per_connection, std::max(1.0, FLAGS_burst_per_connection)};
  id.per_user = {FLAGS_rate_per_user, std::max(1.0, FLAGS_burst_per_user)};
  id.signin_per_address = {FLAGS_rate_signin_per_address,
                           std::max(1.0, FLAGS_burst_signin_per_address)};
  return true;
}

std::string ErrorText(const parley::Error& e) {
  return e.message + (e.details.empty() ? "" : " (" + e.details + ")");
}

void AnnounceReady(const parley::shard::Server& server, int admin_port) {
  LogJson("info", "ready",
          {{"port", std::to_string(server.port())},
           {"admin_port", std::to_string(admin_port)},
           {"shards", std::to_string(server.shard_count())},
           {"replayed_events", std::to_string(server.replayed_events())},
           {"snapshot_lsns", server.snapshot_lsns()},
           {"replay_ms", std::to_string(server.replay_ms())},
           {"durability", FLAGS_durability},
           {"tls", !FLAGS_tls_cert_file.empty() ? "on" : "off"},
           {"search_indexes_building",
            std::to_string(server.search() ? server.search()->rebuilt_count() : 0)}});
  if (FLAGS_ready_file.empty()) return;
  // Written whole, then renamed: a reader never sees half of it.
  std::string tmp = FLAGS_ready_file + ".tmp";
  {
    std::ofstream out(tmp);
    out << server.port() << "\n";
    if (admin_port >= 0) out << admin_port << "\n";
  }
  std::rename(tmp.c_str(), FLAGS_ready_file.c_str());
}

// SIGHUP reopens the log file and goes on waiting; SIGTERM or SIGINT returns.
int WaitForStop(const sigset_t& signals) {
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) return sig;
    parley::Status reopened = parley::shard::ReopenLogFile();
    if (reopened.ok()) {
      LogJson("info", "log file reopened", {{"log_file", FLAGS_log_file}});
    } else {
      LogJson("error", "log file reopen failed", {{"error", ErrorText(reopened.error())}});
    }
  }
}

}  // namespace

// Each connection is a descriptor: the soft limit (often 1,024) is raised to the hard one, and
// a --max_connections the hard limit cannot hold is said at start rather than found as failed
// accepts under load.
void RaiseDescriptorLimit() {
  rlimit fds{};
  if (getrlimit(RLIMIT_NOFILE, &fds) != 0) return;
  if (fds.rlim_cur < fds.rlim_max) {
    fds.rlim_cur = fds.rlim_max;
    setrlimit(RLIMIT_NOFILE, &fds);
  }
  const rlim_t wanted = static_cast<rlim_t>(FLAGS_max_connections) + 256;  // + logs, sockets
  if (FLAGS_max_connections != 0 && fds.rlim_cur < wanted) {
    parley::shard::LogJson("warn", "descriptor limit below --max_connections",
                           {{"rlimit_nofile", std::to_string(fds.rlim_cur)},
                            {"max_connections", std::to_string(FLAGS_max_connections)}});
  }
}

int main(int argc, char** argv) {
  gflags::SetUsageMessage("parleyd --data_dir DIR [--port 7400] [--admin_port 7401] ...");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  parley::shard::ServerOptions options;
  if (!ValidateFlags(&options)) return 2;
  if (!FLAGS_log_file.empty()) {
    parley::Status opened = parley::shard::OpenLogFile(FLAGS_log_file);
    if (!opened.ok()) {
      Fail(ErrorText(opened.error()));
      return 2;
    }
  }

  // Every thread started from here inherits this mask; only main takes the signals, through
  // sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  RaiseDescriptorLimit();

  auto server = parley::shard::Server::Open(options);
  if (!server.ok()) {
    Fail(ErrorText(server.error()));
    return 1;
  }
  // Opened before replay, so /healthz and /readyz (503) answer while it runs.
  std::unique_ptr<parley::server::AdminHttpServer> admin;
  if (FLAGS_admin_port >= 0) {
    auto opened = parley::server::AdminHttpServer::Open(FLAGS_admin_host,
                                                        static_cast<uint16_t>(FLAGS_admin_port));
    if (!opened.ok()) {
      Fail(ErrorText(opened.error()));
      return 1;
    }
    admin = std::move(*opened);
    admin->Start([s = server->get()](std::string_view path) {
      return parley::server::ServeAdminPath(*s, path);
    });
  }
  parley::Status started = (*server)->Start();
  if (!started.ok()) {
    Fail("replay failed: " + ErrorText(started.error()));
    return 1;
  }
  AnnounceReady(**server, admin ? admin->port() : -1);

  int sig = WaitForStop(signals);
  LogJson("info", "stopping", {{"signal", std::to_string(sig)}});
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(kDrainWatchdogS));
    LogJson("fatal", "drain did not finish in time; exiting",
            {{"after_s", std::to_string(kDrainWatchdogS)}});
    parley::shard::SyncLog();
    std::_Exit(1);
  }).detach();
  (*server)->Stop();
  (*server)->Wait();
  if (admin) admin->Stop();  // /readyz said 503 throughout the drain
  LogJson("info", "stopped");
  parley::shard::SyncLog();
  return 0;
}
