// A reader that stops reading must not grow the server's memory or slow anyone else: past its
// outbound bound it is told it lagged and disconnected, and it resumes from its last seq.
#include <gtest/gtest.h>

#include <thread>

#include "tests/test_server.h"

namespace parley::testing {
namespace {

TEST(BackpressureTest, StalledReaderLagsAndResumesWhileOthersKeepUp) {
  TestServer server({2, "async", {"--max_frame_bytes=4096", "--max_outbound_bytes=65536"}});
  server.Start();
  auto owner = server.SignedIn("owner@example.com");
  auto ws = owner->CreateWorkspace("Backpressure");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  ASSERT_TRUE(ws.ok());
  const uint64_t ch = ws->general_channel_id;
  auto stalled = server.SignedIn("stalled@example.com");
  auto healthy = server.SignedIn("healthy@example.com");
  ASSERT_TRUE(stalled->JoinWorkspace(ws->id).ok());
  ASSERT_TRUE(healthy->JoinWorkspace(ws->id).ok());

  // Far more than the stalled reader's socket buffers plus its 64 KiB queue can hold.
  const int kPosts = 3000;
  const std::string text(3000, 'p');
  uint64_t healthy_last = 0;
  std::thread reader([&] { healthy_last = ReadPostsInOrder(*healthy, kPosts); });
  for (int i = 0; i < kPosts; ++i) ASSERT_TRUE(owner->Post(ch, text).ok());
  reader.join();
  EXPECT_EQ(healthy_last, static_cast<uint64_t>(kPosts)) << "the healthy reader was disturbed";

  // The stalled reader now drains what reached it: messages in order, then `lagged`, then EOF.
  uint64_t last = 0;
  bool lagged = false;
  for (;;) {
    auto f = stalled->ReadFrame(10000);
    if (!f.ok()) break;
    if (auto* p = f->body.AsMessagePosted()) {
      ASSERT_EQ(p->message->seq, last + 1);
      last = p->message->seq;
    } else if (auto* err = f->body.AsError()) {
      EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kLagged));
      lagged = true;
    }
  }
  EXPECT_TRUE(lagged);
  EXPECT_TRUE(stalled->closed());
  EXPECT_LT(last, static_cast<uint64_t>(kPosts));

  // Resume: everything after the last seq it saw, exactly once.
  auto again = server.SignedIn("stalled@example.com");
  uint64_t resumed = last;
  for (;;) {
    auto page = again->Sync(ch, resumed, 200);
    ASSERT_TRUE(page.ok()) << page.error().message;
    for (auto& m : page->messages) {
      ASSERT_EQ(m->seq, resumed + 1);
      resumed = m->seq;
    }
    if (!page->has_more) break;
  }
  EXPECT_EQ(resumed, static_cast<uint64_t>(kPosts));
}

}  // namespace
}  // namespace parley::testing
