#include "shard/worker_pool.h"

#include <atomic>
#include <latch>
#include <set>
#include <thread>

#include "gtest/gtest.h"

namespace parley::shard {
namespace {

TEST(WorkerPoolTest, RunsEveryJobOffTheCallingThread) {
  std::atomic<int> ran{0};
  std::latch done(100);
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{false};
  {
    WorkerPool pool(2);
    for (int i = 0; i < 100; ++i) {
      pool.Submit([&] {
        if (std::this_thread::get_id() == caller) on_caller = true;
        ran++;
        done.count_down();
      });
    }
    done.wait();
  }
  EXPECT_EQ(ran.load(), 100);
  EXPECT_FALSE(on_caller.load());
}

TEST(WorkerPoolTest, DestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1);
    for (int i = 0; i < 50; ++i) pool.Submit([&] { ran++; });
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace parley::shard
