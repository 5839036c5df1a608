// parleyd: flags, validation, wiring, signals. Everything else lives in shard/ and below.
#include <gflags/gflags.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "shard/log.h"
#include "shard/server.h"

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
DEFINE_bool(pin_threads, true, "pin each shard thread to one core");
DEFINE_string(ready_file, "", "write the bound port here once serving (for scripts and tests)");
DEFINE_string(signing_key_file, "",
              "32-byte key (mode 0600) that signs access tokens; default DATA_DIR/secret.key, "
              "written by parley-admin init");
DEFINE_int32(access_token_ttl_s, 900, "lifetime of access tokens");
DEFINE_int32(refresh_token_ttl_s, 7 * 24 * 3600, "lifetime of refresh tokens (rotated on use)");
DEFINE_int32(max_sessions_per_user, 10, "concurrent sessions; a new one ends the oldest");
DEFINE_int32(scrypt_log2n, 15, "scrypt cost: N = 2^this (r=8, p=1); recorded in each hash");
DEFINE_int32(edit_window_s, 300, "how long after posting an author may edit a message");
DEFINE_int32(away_after_s, 1800, "a signed-in user without activity for this long shows as away");
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
DEFINE_double(rate_per_connection, 200, "requests per second per connection (0: no limit)");
DEFINE_double(burst_per_connection, 400, "burst per connection");
DEFINE_double(rate_per_user, 400, "requests per second per user, per shard (0: no limit)");
DEFINE_double(burst_per_user, 800, "burst per user");
DEFINE_double(rate_signin_per_address, 5, "sign-in requests per second per IP address (0: none)");
DEFINE_double(burst_signin_per_address, 20, "sign-in burst per IP address");

namespace {

using parley::shard::LogJson;

bool Fail(const std::string& message) {
  LogJson("fatal", message);
  std::fprintf(stderr, "parleyd: %s\n", message.c_str());
  return false;
}

bool ValidateFlags(parley::shard::ServerOptions* o) {
  if (FLAGS_data_dir.empty()) {
    return Fail("--data_dir is required (create one with: parley-admin init --data_dir DIR)");
  }
  if (FLAGS_port < 0 || FLAGS_port > 65535) return Fail("--port must be 0..65535");
  if (FLAGS_shards < 0 || FLAGS_shards > 64) return Fail("--shards must be 0..64");
  if (FLAGS_durability != "sync" && FLAGS_durability != "async") {
    return Fail("--durability must be sync or async");
  }
  if (FLAGS_max_frame_bytes < 1024 || FLAGS_max_frame_bytes > (64 << 20)) {
    return Fail("--max_frame_bytes must be 1024..67108864");
  }
  if (FLAGS_max_outbound_bytes < FLAGS_max_frame_bytes + 4) {
    return Fail("--max_outbound_bytes must be at least --max_frame_bytes + 4");
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
  if (FLAGS_access_token_ttl_s < 10 || FLAGS_refresh_token_ttl_s < FLAGS_access_token_ttl_s) {
    return Fail("--access_token_ttl_s must be >= 10 and <= --refresh_token_ttl_s");
  }
  if (FLAGS_max_sessions_per_user < 1) return Fail("--max_sessions_per_user must be >= 1");
  if (FLAGS_scrypt_log2n < 10 || FLAGS_scrypt_log2n > 20) {
    return Fail("--scrypt_log2n must be 10..20");
  }
  if (FLAGS_edit_window_s < 0 || FLAGS_edit_window_s > 7 * 24 * 3600) {
    return Fail("--edit_window_s must be 0..604800");
  }
  if (FLAGS_away_after_s < 1 || FLAGS_away_after_s > 7 * 24 * 3600) {
    return Fail("--away_after_s must be 1..604800");
  }
  if (FLAGS_crypto_threads < 1 || FLAGS_crypto_threads > 64) {
    return Fail("--crypto_threads must be 1..64");
  }
  if (FLAGS_search_threads < 1 || FLAGS_search_threads > 64) {
    return Fail("--search_threads must be 1..64");
  }
  if (FLAGS_snapshot_every_events < 0) return Fail("--snapshot_every_events must be >= 0");
  for (double v : {FLAGS_rate_per_connection, FLAGS_rate_per_user, FLAGS_rate_signin_per_address,
                   FLAGS_burst_per_connection, FLAGS_burst_per_user,
                   FLAGS_burst_signin_per_address}) {
    if (v < 0) return Fail("rate limits and bursts must be >= 0");
  }
  parley::shard::IdentityConfig& id = o->identity;
  o->signing_key_file = FLAGS_signing_key_file;
  id.access_ttl_ms = int64_t{FLAGS_access_token_ttl_s} * 1000;
  id.refresh_ttl_ms = int64_t{FLAGS_refresh_token_ttl_s} * 1000;
  id.max_sessions_per_user = static_cast<size_t>(FLAGS_max_sessions_per_user);
  id.scrypt.log2_n = static_cast<uint8_t>(FLAGS_scrypt_log2n);
  id.edit_window_ms = int64_t{FLAGS_edit_window_s} * 1000;
  id.away_after_ms = int64_t{FLAGS_away_after_s} * 1000;
  o->crypto_threads = static_cast<size_t>(FLAGS_crypto_threads);
  o->search_index = FLAGS_search_index;
  o->search_threads = static_cast<size_t>(FLAGS_search_threads);
  o->snapshot_every_events = static_cast<uint64_t>(FLAGS_snapshot_every_events);
  id.per_connection = {FLAGS_rate_per_connection, std::max(1.0, FLAGS_burst_per_connection)};
  id.per_user = {FLAGS_rate_per_user, std::max(1.0, FLAGS_burst_per_user)};
  id.signin_per_address = {FLAGS_rate_signin_per_address,
                           std::max(1.0, FLAGS_burst_signin_per_address)};
  if (!FLAGS_oidc_jwks.empty()) {
    if (FLAGS_oidc_issuer.empty() || FLAGS_oidc_audience.empty()) {
      return Fail("--oidc_jwks needs --oidc_issuer and --oidc_audience");
    }
    auto jwks = parley::auth::Jwks::Load(FLAGS_oidc_jwks);
    if (!jwks.ok()) return Fail("--oidc_jwks: " + jwks.error().message);
    id.oidc_jwks = std::make_shared<const parley::auth::Jwks>(std::move(*jwks));
    id.oidc.issuer = FLAGS_oidc_issuer;
    id.oidc.audience = FLAGS_oidc_audience;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("parleyd --data_dir DIR [--port 7400] [--durability sync|async]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  parley::shard::ServerOptions options;
  if (!ValidateFlags(&options)) return 2;

  // Shard threads inherit this mask; only main takes SIGTERM/SIGINT, through sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = parley::shard::Server::Open(options);
  if (!server.ok()) {
    Fail(server.error().message +
         (server.error().details.empty() ? "" : " (" + server.error().details + ")"));
    return 1;
  }
  parley::Status started = (*server)->Start();
  if (!started.ok()) {
    Fail("replay failed: " + started.error().message + " " + started.error().details);
    return 1;
  }
  uint16_t port = (*server)->port();
  LogJson("info", "ready",
          {{"port", std::to_string(port)},
           {"shards", std::to_string((*server)->shard_count())},
           {"replayed_events", std::to_string((*server)->replayed_events())},
           {"snapshot_lsns", (*server)->snapshot_lsns()},
           {"replay_ms", std::to_string((*server)->replay_ms())},
           {"durability", FLAGS_durability},
           {"search_indexes_building",
            std::to_string((*server)->search() ? (*server)->search()->rebuilt_count() : 0)}});
  if (!FLAGS_ready_file.empty()) {
    std::string tmp = FLAGS_ready_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), FLAGS_ready_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  LogJson("info", "stopping", {{"signal", std::to_string(sig)}});
  (*server)->Stop();
  (*server)->Wait();
  LogJson("info", "stopped");
  return 0;
}
