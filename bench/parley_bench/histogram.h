// A log-linear latency histogram (HdrHistogram's layout): values below 64 ns are exact, above
// that each power of two is split into 64 linear sub-buckets, so any recorded value is known to
// within 1.6%. Fixed size (3,776 counters), mergeable, no allocation on Record. Not thread-safe:
// each load-generator thread owns its own and they are merged at the end.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace parley::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  static size_t IndexOf(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int shift = (63 - std::countl_zero(v)) - kSubBits;
    return static_cast<size_t>((shift + 1) * kSub + ((v >> shift) & (kSub - 1)));
  }
  // The middle of bucket i's range (its lower bound for the exact buckets).
  static uint64_t ValueOf(size_t i) {
    if (i < kSub) return i;
    int shift = static_cast<int>(i / kSub) - 1;
    uint64_t low = (kSub + i % kSub) << shift;
    return low + ((uint64_t{1} << shift) >> 1);
  }

  void Record(uint64_t v) {
    ++counts_[IndexOf(v)];
    ++count_;
    max_ = std::max(max_, v);
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // The value at quantile q in [0, 1]: the smallest bucket holding at least q of the records.
  uint64_t Percentile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(ValueOf(i), max_);
    }
    return max_;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace parley::bench
