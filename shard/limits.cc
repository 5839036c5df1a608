// The abuse limits (shard/limits.h): connection counts, timeouts, requests in flight, the
// shard's outbound budget, and coalescing for sessions that are behind.
#include <string>

#include "shard/log.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

// A session told to go (an error, `lagged`, GoingAway) that has not read that last frame this
// long after is closed anyway: a reader that stopped reading would otherwise keep its slot.
constexpr int64_t kCloseGraceMs = 5'000;
// A connection refused for a limit is told to come back after this, plus up to as much jitter.
constexpr uint32_t kRefusedRetryMs = 1'000;
// A refused connection waits this long for its first frame to answer, then closes.
constexpr int64_t kRefusedLingerMs = 1'000;

}  // namespace

void Shard::CloseAfterFlush(Session& s) {
  if (!s.close_after_flush) s.closing_since = SteadyMs();
  s.close_after_flush = true;
}

bool Shard::AdmitConnection(Session& s) {
  const ConnectionLimits& limits = config_.limits;
  s.accepted_at = s.last_frame_at = SteadyMs();
  uint32_t& from_address = connections_by_address_[s.address];
  const char* refused = nullptr;
  if (limits.max_connections != 0 && connections_counted_ >= limits.max_connections) {
    refused = "max_connections";
  } else if (limits.max_connections_per_address != 0 &&
             from_address >= limits.max_connections_per_address) {
    refused = "max_connections_per_address";
  }
  if (refused != nullptr) {
    if (from_address == 0) connections_by_address_.erase(s.address);
    counters_.connections_refused.Add();
    jitter_ = jitter_ * 6364136223846793005ULL + 1442695040888963407ULL;
    Error e = MakeError(ErrorCode::kOverloaded, "too many connections; retry later", refused);
    e.retry_after_ms = kRefusedRetryMs + static_cast<uint32_t>((jitter_ >> 33) % kRefusedRetryMs);
    s.refused = e;
    return false;
  }
  ++from_address;
  ++connections_counted_;
  s.counted = true;
  return true;
}

void Shard::ReleaseConnection(Session& s) {
  if (!s.counted) return;
  s.counted = false;
  --connections_counted_;
  auto it = connections_by_address_.find(s.address);
  if (it != connections_by_address_.end() && --it->second == 0) connections_by_address_.erase(it);
}

// O(sessions) once a second: a few microseconds per thousand connections.
void Shard::EnforceTimeouts() {
  const ConnectionLimits& limits = config_.limits;
  const int64_t now = SteadyMs();
  for (uint32_t slot = 0; slot < sessions_.size(); ++slot) {
    Session& s = sessions_[slot];
    if (!s.in_use || s.closing) continue;
    if (s.close_after_flush) {
      if (now - s.closing_since >= kCloseGraceMs) {
        CloseSession(s, slot);
        MaybeFree(s, slot);
      }
      continue;
    }
    if (s.refused) {
      if (now - s.accepted_at >= kRefusedLingerMs) {
        CloseSession(s, slot);
        MaybeFree(s, slot);
      }
      continue;
    }
    Error timed_out;
    if (!s.hello_done && now - s.accepted_at >= limits.handshake_timeout_ms) {
      timed_out = MakeError(ErrorCode::kHelloRequired, "no Hello in time",
                            "handshake_timeout_ms=" + std::to_string(limits.handshake_timeout_ms));
    } else if (s.partial_since != 0 && now - s.partial_since >= limits.frame_timeout_ms) {
      timed_out = MakeError(ErrorCode::kMalformedFrame, "frame not completed in time",
                            "frame_timeout_ms=" + std::to_string(limits.frame_timeout_ms));
    } else if (limits.idle_timeout_ms != 0 && now - s.last_frame_at >= limits.idle_timeout_ms) {
      timed_out = MakeError(ErrorCode::kUnavailable, "idle connection closed; send Ping to stay",
                            "idle_timeout_ms=" + std::to_string(limits.idle_timeout_ms));
    } else {
      continue;
    }
    counters_.connections_timed_out.Add();
    FailSession(s, slot, timed_out);
  }
}

void Shard::NoteAnswer(Session& s, const wire::Bytes& frame) {
  if (wire::RequestIdOf(frame) != 0) --s.inflight;
}

// A session is behind once a quarter of its outbound bound is queued: from then on its typing
// and presence events wait beside the queue, the newest per key, until it drains.
bool Shard::Coalesce(Session& s, CoalesceKey key, const wire::SharedBytes& frame) {
  if (s.out_bytes < config_.max_outbound_bytes / 4 && s.coalesced.empty()) return false;
  for (auto& [held_key, held] : s.coalesced) {
    if (held_key == key) {
      held = frame;
      counters_.ephemeral_coalesced.Add();
      return true;
    }
  }
  s.coalesced.emplace_back(key, frame);
  return true;
}

void Shard::ReleaseCoalesced(Session& s, uint32_t slot) {
  if (s.out_bytes >= config_.max_outbound_bytes / 8) return;
  auto held = std::move(s.coalesced);
  s.coalesced.clear();
  for (auto& [key, frame] : held) Enqueue(s, slot, std::move(frame));
}

// Only scanned when the shard is over its outbound budget, which lagging the fullest ends.
uint32_t Shard::FullestSession() const {
  uint32_t fullest = UINT32_MAX;
  size_t most = 0;
  for (uint32_t slot = 0; slot < sessions_.size(); ++slot) {
    const Session& s = sessions_[slot];
    if (s.in_use && !s.closing && !s.close_after_flush && s.out_bytes > most) {
      most = s.out_bytes;
      fullest = slot;
    }
  }
  return fullest;
}

void Shard::AddOutbound(Session& s, int64_t delta) {
  s.out_bytes = static_cast<size_t>(static_cast<int64_t>(s.out_bytes) + delta);
  outbound_total_ = static_cast<uint64_t>(static_cast<int64_t>(outbound_total_) + delta);
}

}  // namespace parley::shard
