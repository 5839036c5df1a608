#include "shard/populated_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace parley::shard {
namespace {

TEST(PopulatedArenaTest, HandsOutWritableAlignedBlocksOfEverySize) {
  PopulatedArena arena;
  for (size_t bytes :
       {size_t{1}, size_t{96}, PopulatedArena::kMinArenaBytes - 1, PopulatedArena::kMinArenaBytes,
        size_t{96} * 1024 + 8, PopulatedArena::kSlabBytes + 1}) {
    for (size_t alignment : {size_t{8}, alignof(std::max_align_t), size_t{64}, size_t{4096}}) {
      void* block = arena.allocate(bytes, alignment);
      ASSERT_NE(block, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(block) % alignment, 0u) << bytes;
      std::memset(block, 0xab, bytes);
      arena.deallocate(block, bytes, alignment);
    }
  }
}

TEST(PopulatedArenaTest, CarvesLargeBlocksFromSlabs) {
  PopulatedArena arena;
  EXPECT_EQ(arena.mapped_bytes(), 0u);
  void* small = arena.allocate(1000, 8);
  EXPECT_EQ(arena.mapped_bytes(), 0u);  // from new/delete
  arena.deallocate(small, 1000, 8);
  const size_t chunk = size_t{96} << 10;
  std::vector<std::byte*> blocks;
  for (size_t i = 0; i < PopulatedArena::kSlabBytes / chunk; ++i) {
    blocks.push_back(static_cast<std::byte*>(arena.allocate(chunk, 8)));
  }
  EXPECT_EQ(arena.mapped_bytes(), PopulatedArena::kSlabBytes);
  for (size_t i = 1; i < blocks.size(); ++i) EXPECT_EQ(blocks[i], blocks[i - 1] + chunk);
  EXPECT_NE(arena.allocate(chunk, 8), nullptr);  // no room left in the first slab
  EXPECT_EQ(arena.mapped_bytes(), 2 * PopulatedArena::kSlabBytes);
}

// A pool resource asks for its chunks aligned to their block size: they come from slabs too.
TEST(PopulatedArenaTest, CarvesPageAlignedBlocksFromSlabs) {
  PopulatedArena arena;
  void* first = arena.allocate(PopulatedArena::kMinArenaBytes + 100, 64);
  EXPECT_EQ(arena.mapped_bytes(), PopulatedArena::kSlabBytes);
  void* aligned = arena.allocate(PopulatedArena::kMinArenaBytes, 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 4096, 0u);
  EXPECT_GT(aligned, first);
  EXPECT_EQ(arena.mapped_bytes(), PopulatedArena::kSlabBytes);  // the same slab, past padding
  // When the padding does not fit, a new slab: the block is still aligned.
  const size_t rest = PopulatedArena::kSlabBytes - 2 * PopulatedArena::kMinArenaBytes - 4096 - 64;
  EXPECT_NE(arena.allocate(rest, 64), nullptr);
  void* next = arena.allocate(PopulatedArena::kMinArenaBytes, 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(next) % 4096, 0u);
  EXPECT_EQ(arena.mapped_bytes(), 2 * PopulatedArena::kSlabBytes);
}

TEST(PopulatedArenaTest, EqualOnlyToItself) {
  PopulatedArena a, b;
  EXPECT_TRUE(a.is_equal(a));
  EXPECT_FALSE(a.is_equal(b));
}

}  // namespace
}  // namespace parley::shard
