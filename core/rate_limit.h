// Token buckets for rate limits. Pure: the caller passes the time.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/ids.h"

namespace parley {

// per_second == 0 disables the limit.
struct RateLimit {
  double per_second = 0;
  double burst = 1;
  bool enabled() const { return per_second > 0; }
};

// Starts full. Not thread-safe: one owner (a session, a shard's per-user map).
class TokenBucket {
 public:
  // Takes one token: 0 if one was available, otherwise the milliseconds until one will be.
  uint32_t Take(const RateLimit& limit, TimeMs now) {
    if (!limit.enabled()) return 0;
    if (last_ == kNever) {
      tokens_ = limit.burst;
    } else if (now > last_) {
      tokens_ = std::min(limit.burst, tokens_ + (now - last_) * limit.per_second / 1000.0);
    }
    last_ = std::max(last_, now);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return 0;
    }
    return static_cast<uint32_t>(std::ceil((1 - tokens_) * 1000.0 / limit.per_second));
  }
  // When the bucket is full again (for evicting idle buckets).
  TimeMs full_at(const RateLimit& limit) const {
    if (!limit.enabled() || last_ == kNever) return 0;
    return last_ + static_cast<TimeMs>((limit.burst - tokens_) * 1000.0 / limit.per_second);
  }

 private:
  static constexpr TimeMs kNever = INT64_MIN;
  double tokens_ = 0;
  TimeMs last_ = kNever;
};

}  // namespace parley
