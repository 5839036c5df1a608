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

TEST(PopulatedArenaTest, EqualOnlyToItself) {
  PopulatedArena a, b;
  EXPECT_TRUE(a.is_equal(a));
  EXPECT_FALSE(a.is_equal(b));
}

}  // namespace
}  // namespace parley::shard
