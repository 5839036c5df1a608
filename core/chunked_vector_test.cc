#include "core/chunked_vector.h"

#include <gtest/gtest.h>

#include <memory_resource>
#include <string>
#include <vector>

namespace parley {
namespace {

TEST(ChunkedVectorTest, IndexesAcrossChunks) {
  ChunkedVector<int, 4> v;
  EXPECT_TRUE(v.empty());
  for (int i = 0; i < 11; ++i) v.push_back(i);
  ASSERT_EQ(v.size(), 11u);
  for (int i = 0; i < 11; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], i);
  EXPECT_EQ(v.back(), 10);
  v[5] = 50;
  EXPECT_EQ(v[5], 50);
}

TEST(ChunkedVectorTest, EmplaceBackConstructsInPlaceAndReturnsTheElement) {
  ChunkedVector<std::pair<int, std::string>, 2> v;
  std::pair<int, std::string>& added = v.emplace_back(7, "seven");
  EXPECT_EQ(&added, &v[0]);
  EXPECT_EQ(v[0], (std::pair<int, std::string>{7, "seven"}));
}

TEST(ChunkedVectorTest, ElementsNeverMoveAsItGrows) {
  ChunkedVector<std::string, 8> v;
  std::vector<const std::string*> addresses;
  for (int i = 0; i < 100; ++i) {
    v.push_back("element " + std::to_string(i));
    addresses.push_back(&v.back());
  }
  // The first chunk grows like a vector until it is full; from then on nothing moves.
  for (size_t i = 8; i < addresses.size(); ++i) EXPECT_EQ(addresses[i], &v[i]) << i;
  ChunkedVector<std::string, 8> full_first_chunk;
  for (int i = 0; i < 8; ++i) full_first_chunk.push_back("x");
  const std::string* first = &full_first_chunk[0];
  for (int i = 0; i < 100; ++i) full_first_chunk.push_back("y");
  EXPECT_EQ(first, &full_first_chunk[0]);
}

TEST(ChunkedVectorTest, EqualityComparesElementsNotMemory) {
  std::pmr::unsynchronized_pool_resource pool;
  ChunkedVector<int, 4> a;
  ChunkedVector<int, 4> b(&pool);
  EXPECT_TRUE(a == b);
  for (int i = 0; i < 9; ++i) {
    a.push_back(i);
    b.push_back(i);
  }
  EXPECT_TRUE(a == b);
  b[8] = 0;
  EXPECT_FALSE(a == b);
  b.push_back(9);
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace parley
