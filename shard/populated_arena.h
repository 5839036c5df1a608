// PopulatedArena: the memory a shard keeps its channels' message chunks and texts in
// (ChunkedVector and MessageText, see core/state.h). Loading a snapshot or replaying writes
// ~250 MB per million posts, and faulting that in one 4 KiB page at a time is dear on a VM
// (~7 to 10 us a page on the 2-core VM this was measured on, even for pages the kernel has
// populated, since the hypervisor traps the first touch of each): so blocks are carved out of
// 4 MiB slabs of transparent huge pages, filled in one call each.
//
// Blocks under kMinArenaBytes (a channel's first chunk while it grows like a vector) come from
// new/delete. Arena blocks are never reused: chunks are freed only with the shard's state, and
// go back to the system with the arena's slabs when it is destroyed (a block freed earlier just
// stays unused until then). Not thread-safe: one per shard, used on the shard's thread; it must
// outlive the ShardState that allocates from it.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <span>
#include <vector>

namespace parley::shard {

class PopulatedArena final : public std::pmr::memory_resource {
 public:
  static constexpr size_t kMinArenaBytes = size_t{64} << 10;
  static constexpr size_t kSlabBytes = size_t{4} << 20;

  PopulatedArena() = default;
  PopulatedArena(const PopulatedArena&) = delete;
  PopulatedArena& operator=(const PopulatedArena&) = delete;
  ~PopulatedArena() override;

  size_t mapped_bytes() const { return mapped_bytes_; }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* block, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::vector<std::span<std::byte>> slabs_;
  std::span<std::byte> free_;  // the unused end of the last slab
  size_t mapped_bytes_ = 0;
};

}  // namespace parley::shard
