#include "shard/page_cache.h"

#include <gtest/gtest.h>

namespace parley::shard {
namespace {

HistoryQuery SyncAfter(ChannelId channel, Seq after) {
  return HistoryQuery{channel, 0, after, true, 0, false};
}

PageCache::Page PageOf(size_t bytes, Seq newest) {
  return PageCache::Page{wire::Bytes(bytes, 0x5a), newest};
}

TEST(PageCache, FindsOnlyTheIdenticalQuery) {
  PageCache cache;
  cache.Keep(SyncAfter(7, 10), PageOf(100, 12));
  const PageCache::Page* page = cache.Find(SyncAfter(7, 10));
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->newest, 12u);
  EXPECT_EQ(cache.Find(SyncAfter(7, 11)), nullptr);
  EXPECT_EQ(cache.Find(SyncAfter(8, 10)), nullptr);
  HistoryQuery backward = SyncAfter(7, 10);
  backward.forward = false;
  EXPECT_EQ(cache.Find(backward), nullptr);
  HistoryQuery bounded = SyncAfter(7, 10);
  bounded.before = 20;
  EXPECT_EQ(cache.Find(bounded), nullptr);
  HistoryQuery smaller = SyncAfter(7, 10);
  smaller.limit = 5;
  EXPECT_EQ(cache.Find(smaller), nullptr);
  HistoryQuery timeline = SyncAfter(7, 10);
  timeline.top_level_only = true;
  EXPECT_EQ(cache.Find(timeline), nullptr);
}

TEST(PageCache, AMessageEventForgetsItsChannelOnly) {
  PageCache cache;
  cache.Keep(SyncAfter(7, 10), PageOf(100, 12));
  cache.Keep(SyncAfter(7, 0), PageOf(50, 12));
  cache.Keep(SyncAfter(8, 10), PageOf(100, 11));
  MessagePosted posted;
  posted.channel_id = 7;
  cache.Note(posted);
  EXPECT_EQ(cache.Find(SyncAfter(7, 10)), nullptr);
  EXPECT_EQ(cache.Find(SyncAfter(7, 0)), nullptr);
  EXPECT_NE(cache.Find(SyncAfter(8, 10)), nullptr);
  EXPECT_EQ(cache.pages(), 1u);
  EXPECT_EQ(cache.bytes(), 100u);
}

TEST(PageCache, EventsThatChangeNoPageKeepThem) {
  PageCache cache;
  cache.Keep(SyncAfter(7, 10), PageOf(100, 12));
  ReceiptsAdvanced receipts;
  receipts.channel_id = 7;
  cache.Note(receipts);
  cache.Note(SessionStarted{});
  cache.Note(ReadMarkerSet{});
  EXPECT_NE(cache.Find(SyncAfter(7, 10)), nullptr);
}

TEST(PageCache, EventsWithoutAChannelForgetEverything) {
  PageCache cache;
  cache.Keep(SyncAfter(7, 10), PageOf(100, 12));
  cache.Keep(SyncAfter(8, 10), PageOf(100, 12));
  cache.Note(WorkspaceRetentionSet{});
  EXPECT_EQ(cache.pages(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.Find(SyncAfter(8, 10)), nullptr);
}

TEST(PageCache, ImpactOfEachKind) {
  EXPECT_EQ(PageImpactOf(Event{ReactionAdded{}}).scope, PageScope::kChannel);
  EXPECT_EQ(PageImpactOf(Event{MessagesExpired{}}).scope, PageScope::kChannel);
  EXPECT_EQ(PageImpactOf(Event{ThreadReplyPosted{}}).scope, PageScope::kChannel);
  EXPECT_EQ(PageImpactOf(Event{NotificationCreated{}}).scope, PageScope::kNone);
  EXPECT_EQ(PageImpactOf(Event{MemberActiveChanged{}}).scope, PageScope::kAll);
  MessageEdited edited;
  edited.channel_id = 42;
  PageImpact impact = PageImpactOf(Event{edited});
  EXPECT_EQ(impact.scope, PageScope::kChannel);
  EXPECT_EQ(impact.channel, 42u);
}

TEST(PageCache, StaysWithinItsByteBudget) {
  PageCache cache;
  const size_t page_bytes = PageCache::kMaxBytes / 4 + 1;
  for (Seq after = 0; after < 10; ++after) {
    cache.Keep(SyncAfter(7, after), PageOf(page_bytes, after));
    EXPECT_LE(cache.bytes(), PageCache::kMaxBytes);
  }
  EXPECT_NE(cache.Find(SyncAfter(7, 9)), nullptr);  // the newest is always kept
}

}  // namespace
}  // namespace parley::shard
