// ChunkedVector<T>: an append-only sequence with O(1) indexing that never moves its elements.
// Elements live in chunks of kChunkSize; a full chunk is left alone and a new one started, so
// appending never reallocates what is already stored (a std::vector reallocates and moves all of
// its elements each time it outgrows its buffer, and touches twice the memory doing it), and
// references to elements stay valid for the container's life. Only the first chunk grows the
// way a vector does, so a short sequence costs no more memory than a vector.
//
// Chunks are allocated from a std::pmr::memory_resource (new/delete unless one is given), so
// the runtime can choose how the bulk of a big sequence's memory is obtained.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory_resource>
#include <utility>
#include <vector>

namespace parley {

template <class T, size_t kChunkSize = 1024>
class ChunkedVector {
  static_assert(kChunkSize > 0 && (kChunkSize & (kChunkSize - 1)) == 0,
                "a power of two, so indexing is a shift and a mask");

 public:
  ChunkedVector() = default;
  // Chunks come from `memory`, which must outlive the vector (and its copies, whose new chunks
  // come from it too).
  explicit ChunkedVector(std::pmr::memory_resource* memory) : memory_(memory) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  T& operator[](size_t i) {
    assert(i < size_);
    return chunks_[i / kChunkSize][i % kChunkSize];
  }
  const T& operator[](size_t i) const {
    assert(i < size_);
    return chunks_[i / kChunkSize][i % kChunkSize];
  }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (chunks_.empty() || chunks_.back().size() == kChunkSize) {
      chunks_.emplace_back(memory_);
      // Whoever filled a chunk is likely to fill the next: allocate it whole, once.
      if (chunks_.size() > 1) chunks_.back().reserve(kChunkSize);
    }
    T& added = chunks_.back().emplace_back(std::forward<Args>(args)...);
    ++size_;
    return added;
  }
  void push_back(T value) { emplace_back(std::move(value)); }

  // The elements, in order; where their memory comes from is not part of the value. Equal sizes
  // mean equal chunk boundaries, so comparing chunks compares elements.
  friend bool operator==(const ChunkedVector& a, const ChunkedVector& b) {
    return a.chunks_ == b.chunks_;
  }

 private:
  std::pmr::memory_resource* memory_ = std::pmr::get_default_resource();
  std::vector<std::pmr::vector<T>> chunks_;  // all full but the last
  size_t size_ = 0;
};

}  // namespace parley
