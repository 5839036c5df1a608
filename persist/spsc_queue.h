// A bounded single-producer single-consumer queue (Lamport ring with cached indices). One thread
// pushes, one thread pops; neither ever blocks or takes a lock. Used for shard mailboxes and for
// handing batches to a persist thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <optional>
#include <vector>

namespace parley::persist {

template <class T>
class SpscQueue {
 public:
  // capacity is rounded up to a power of two.
  explicit SpscQueue(size_t capacity) {
    size_t c = 2;
    while (c < capacity) c <<= 1;
    slots_.resize(c);
    mask_ = c - 1;
  }

  // Producer only. False when full (the value is left untouched).
  bool TryPush(T& value) {
    size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_] = std::move(value);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only.
  std::optional<T> TryPop() {
    size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return std::nullopt;
    }
    std::optional<T> out(std::move(slots_[head & mask_]));
    slots_[head & mask_] = T();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  // Approximate, any thread (metrics).
  size_t SizeApprox() const {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr size_t kLine = 64;
  std::vector<T> slots_;
  size_t mask_ = 0;
  alignas(kLine) std::atomic<size_t> head_{0};
  size_t tail_cache_ = 0;  // consumer's copy
  alignas(kLine) std::atomic<size_t> tail_{0};
  size_t head_cache_ = 0;  // producer's copy
};

}  // namespace parley::persist
