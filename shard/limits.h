// What one client may hold of a server, and how long it may take: the abuse limits that keep a
// slow, stuck or hostile connection from starving the others (docs/operations.md, "Limits").
#pragma once

#include <chrono>
#include <cstdint>

namespace parley::shard {

// Server-wide values, as the flags give them; Server hands each shard its share (see PerShard).
struct ConnectionLimits {
  uint32_t max_connections = 100'000;             // open client connections; 0: no limit
  uint32_t max_connections_per_address = 10'000;  // from one IP address; 0: no limit
  uint32_t handshake_timeout_ms = 10'000;         // from accept to Hello
  uint32_t frame_timeout_ms = 30'000;             // from a frame's first byte to its last
  uint32_t idle_timeout_ms = 900'000;             // with no frame received; 0: never
  uint32_t max_inflight_requests = 1'024;         // per connection, not yet answered
  uint32_t max_subscriptions = 10'000;            // channels and presence topics per connection
  uint64_t max_outbound_total_bytes = uint64_t{1} << 30;  // all connections' outbound queues
  // Password, MFA and OpenID sign-ins queued for the hashing workers at once, per shard: past
  // it a sign-in is answered `overloaded` with a retry hint instead of queueing (a reconnect
  // storm of password sign-ins would otherwise queue for minutes). 0: no limit.
  uint32_t max_queued_sign_ins = 64;
  // Token resumes admitted per second, server-wide (each checks a signature and a session):
  // past it `overloaded` with a retry hint spreads a reconnect storm out. 0: no limit.
  uint32_t resumes_per_second = 20'000;

  // Shard `k` of `n`'s part of the server-wide limits. The kernel spreads connections over the
  // shards' listening sockets evenly (SO_REUSEPORT hashes the peer's address and port), so each
  // shard enforces its 1/n of the connection limits without asking the others.
  ConnectionLimits PerShard(uint32_t n) const {
    ConnectionLimits mine = *this;
    auto share = [n](uint64_t total) { return total == 0 ? 0 : (total + n - 1) / n; };
    mine.max_connections = static_cast<uint32_t>(share(max_connections));
    mine.max_connections_per_address = static_cast<uint32_t>(share(max_connections_per_address));
    mine.max_outbound_total_bytes = share(max_outbound_total_bytes);
    mine.resumes_per_second = static_cast<uint32_t>(share(resumes_per_second));
    return mine;
  }
};

// Typing and presence events say what is true now: for a connection that is behind, only the
// newest per (topic, user) is worth sending. topic 0: an event that is never coalesced.
struct CoalesceKey {
  uint64_t topic = 0;  // a channel (typing) or a user's presence topic
  uint64_t user = 0;
  bool operator==(const CoalesceKey&) const = default;
};

// The clock the limits measure timeouts with: steady, in milliseconds.
inline int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace parley::shard
