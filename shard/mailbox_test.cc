#include "shard/mailbox.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

namespace parley::shard {
namespace {

TEST(MailboxTest, DeliversInOrderPerSenderAndRingsOnce) {
  MailboxMatrix m(3, 8);
  ASSERT_TRUE(m.ok());
  for (uint64_t i = 1; i <= 3; ++i) {
    ShardMessage msg = Interest{i, 0, 1};
    ASSERT_TRUE(m.TryPush(0, 2, msg));
    m.Wake(2);
  }
  ShardMessage msg = Interest{99, 1, 1};
  ASSERT_TRUE(m.TryPush(1, 2, msg));
  m.Wake(2);
  uint64_t rings = 0;
  ASSERT_EQ(read(m.wake_fd(2), &rings, 8), 8);
  EXPECT_EQ(rings, 1u);  // four wakes, one eventfd write until the receiver clears it
  m.ClearNotified(2);
  std::vector<std::pair<ShardId, uint64_t>> seen;
  m.Drain(2, [&](ShardId from, ShardMessage& got) {
    seen.emplace_back(from, std::get<Interest>(got).channel_id);
  });
  std::vector<std::pair<ShardId, uint64_t>> want = {{0, 1}, {0, 2}, {0, 3}, {1, 99}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(m.DepthApprox(2), 0u);
}

TEST(MailboxTest, FullQueueRefusesWithoutLosingTheMessage) {
  MailboxMatrix m(2, 2);
  ShardMessage a = Interest{1, 0, 1}, b = Interest{2, 0, 1}, c = Interest{3, 0, 1};
  ASSERT_TRUE(m.TryPush(0, 1, a));
  ASSERT_TRUE(m.TryPush(0, 1, b));
  EXPECT_FALSE(m.TryPush(0, 1, c));
  EXPECT_EQ(std::get<Interest>(c).channel_id, 3u);
}

TEST(MailboxTest, ConcurrentProducerConsumerKeepsEveryMessageInOrder) {
  MailboxMatrix m(2, 64);
  constexpr uint64_t kCount = 200000;
  std::thread producer([&] {
    for (uint64_t i = 1; i <= kCount; ++i) {
      ShardMessage msg = Interest{i, 0, 1};
      while (!m.TryPush(0, 1, msg)) std::this_thread::yield();
      m.Wake(1);
    }
  });
  uint64_t expect = 1;
  while (expect <= kCount) {
    pollfd p{m.wake_fd(1), POLLIN, 0};
    poll(&p, 1, 100);
    uint64_t n;
    if (p.revents & POLLIN) [[maybe_unused]]
      auto r = read(m.wake_fd(1), &n, 8);
    m.ClearNotified(1);
    m.Drain(1, [&](ShardId, ShardMessage& got) {
      ASSERT_EQ(std::get<Interest>(got).channel_id, expect);
      ++expect;
    });
  }
  producer.join();
}

}  // namespace
}  // namespace parley::shard
