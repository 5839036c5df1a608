// Counters and fixed-bucket histograms that one thread writes and any thread reads (the admin
// endpoint's /metrics). The writer does a relaxed load and store, not a locked read-modify-write:
// no contention, no fence, nothing that slows a shard's loop. A reader may see a histogram's sum
// and count a few observations apart; Prometheus tolerates that.
//
// REQUIRES: exactly one writing thread per object (Add, Observe).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace parley::persist {

class Counter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Buckets by inclusive upper bound (Prometheus' "le"), in the writer's unit (nanoseconds,
// records); one more bucket counts what is above the last bound (+Inf).
class Histogram {
 public:
  // `bounds`: ascending, and must outlive the histogram (a static array).
  explicit Histogram(std::span<const uint64_t> bounds)
      : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]()) {}

  void Observe(uint64_t v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    Bump(buckets_[i], 1);
    Bump(sum_, v);
    Bump(count_, 1);
  }

  std::span<const uint64_t> bounds() const { return bounds_; }
  // Not cumulative: bucket(i) counts observations in (bounds[i-1], bounds[i]]; bucket(size())
  // those above the last bound.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  static void Bump(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::span<const uint64_t> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Bucket sets shared by the server's histograms.
// Latencies in nanoseconds: 100 us .. 1 s.
inline constexpr uint64_t kLatencyBoundsNs[] = {
    100'000,    250'000,    500'000,    1'000'000,   2'500'000,   5'000'000,
    10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000};
// Batch sizes in records: powers of two up to 1,024.
inline constexpr uint64_t kBatchBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

}  // namespace parley::persist
