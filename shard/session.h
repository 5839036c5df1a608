// Session: one client connection, owned by the shard that accepted it. Shard thread only.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/ids.h"
#include "core/rate_limit.h"
#include "shard/limits.h"
#include "wire/frame.h"
#include "wire/tls.h"

namespace parley::shard {

// A connection's TLS state (shard/tls.cc). Frames are encrypted when their send starts, because
// fan-out frames are shared between sessions and their ciphertext cannot be.
struct SessionTls {
  std::unique_ptr<wire::TlsStream> stream;
  std::vector<uint8_t> sending;  // ciphertext of the send in flight
  size_t sent = 0;               // bytes of `sending` written
};

struct Session {
  int fd = -1;
  uint32_t gen = 0;
  bool in_use = false;
  bool recv_armed = false;
  bool send_inflight = false;
  bool closing = false;            // shut down; freed once no operation is in flight
  bool close_after_flush = false;  // a fatal error frame is queued: close when it is written
  bool dirty = false;              // listed for a send at the end of this loop turn
  bool hello_done = false;
  UserId user = 0;
  std::string display_name;
  std::string email;
  uint64_t session_id = 0;       // the signed-in session; 0 for an API key
  uint64_t api_key_id = 0;       // signed in with this API key
  uint32_t scopes = 0;           // Scope bits
  TimeMs access_expires_at = 0;  // requests after it need a refreshed token; 0 = never
  std::string address;           // the peer's IP address
  TokenBucket requests;          // per-connection rate limit
  bool send_read_receipts = true;  // the user's setting (kept current by the user's shard)

  std::unique_ptr<SessionTls> tls;  // null: a plaintext connection

  std::vector<uint8_t> in;  // received plaintext not yet framed

  // Limits (shard/limits.h). Times are steady-clock milliseconds.
  bool counted = false;          // holds one of its address's connections
  int64_t accepted_at = 0;
  int64_t last_frame_at = 0;     // the last whole frame received
  int64_t partial_since = 0;     // the first byte of the frame still incomplete; 0: none
  int64_t closing_since = 0;     // close_after_flush set: closed by force if still open 5 s on
  uint32_t inflight = 0;         // requests with a request id, not answered yet
  bool told_subscription_limit = false;
  // Over a connection limit: the answer to its first frame (so the client reads it as the
  // answer to its Hello, and no unread Hello turns the close into a reset); closed after
  // kRefusedLingerMs without one.
  std::optional<Error> refused;
  // Typing and presence events held while the outbound queue is behind, the newest per key.
  std::vector<std::pair<CoalesceKey, wire::SharedBytes>> coalesced;

  // Outbound frames, shared with other sessions when they are fan-out events. The first
  // `inflight_items` belong to the send in flight; out_offset bytes of the front are written.
  // With TLS, frames leave the queue as they are encrypted (both stay 0).
  std::deque<wire::SharedBytes> out;
  size_t out_offset = 0;
  size_t out_bytes = 0;  // queued and not yet written
  size_t inflight_items = 0;
  std::vector<iovec> iov;
  msghdr msg{};

  std::unordered_set<ChannelId> subscriptions;

  // Between a login's acceptance and its LoginOk, events are held back and follow LoginOk, so
  // the client sees its channel list first and every later event in order after it.
  bool login_pending = false;
  std::vector<wire::SharedBytes> held;
  size_t held_bytes = 0;
};

}  // namespace parley::shard
