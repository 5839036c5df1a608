// Threads, reactions, edits, deletions, pins, bookmarks and mentions end to end on a real
// parleyd with three shards: users, sessions and channels deliberately on different shards, and
// everything compared before and after a SIGKILL and restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/multi_shard.h"

namespace parley::testing {
namespace {

// The next event `pick` accepts, skipping others.
template <class T>
std::optional<T> NextEventOf(wire::Client& c, std::function<const T*(const wire::FrameT&)> pick) {
  for (;;) {
    auto e = c.NextEvent(10000);
    if (!e.ok()) {
      ADD_FAILURE() << "no event: " << e.error().message;
      return std::nullopt;
    }
    if (const T* found = pick(*e)) return *found;
  }
}

template <class R>
void ExpectError(const R& r, ErrorCode code, const std::string& details) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_EQ(r.error().details, details) << r.error().message;
}

// The FlatBuffers encoding of an object-API value: equal values encode to equal bytes.
template <class T>
std::string Packed(const T& value) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(T::TableType::Pack(fbb, &value));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

// A workspace with a channel, owned by a user, that others join.
struct Place {
  Person owner;
  uint64_t workspace = 0;
  uint64_t channel = 0;  // #general
  ShardId shard = 0;
};

// A workspace is minted on the shard of the session creating it: an owner whose session is off
// `avoid_shard` puts it elsewhere.
Place MakePlace(const TestServer& server, const std::string& name, ShardId avoid_shard = kShards) {
  Place p;
  p.owner = AwayFrom(server, "owner-" + name, {}, avoid_shard);
  for (int i = 0; i < 30; ++i) {
    auto ws = p.owner->CreateWorkspace(name + std::to_string(i));
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) return p;
    if (OwnerShard(ws->id, kShards) == avoid_shard) continue;
    OpenWorkspace(*p.owner.client, ws->id);
    p.workspace = ws->id;
    p.channel = ws->general_channel_id;
    p.shard = OwnerShard(ws->id, kShards);
    return p;
  }
  ADD_FAILURE() << "no workspace off shard " << avoid_shard;
  return p;
}

Person Member(const TestServer& server, const Place& p, const std::string& who) {
  Person u = AwayFrom(server, who, {p.shard}, p.shard);
  EXPECT_TRUE(u->JoinWorkspace(p.workspace).ok());
  return u;
}

class MessagesTest : public MultiShardTest {};

// ---- Threads ----------------------------------------------------------------------------------

TEST_F(MessagesTest, RepliesSummariseTheirThreadAndPage) {
  Place p = MakePlace(*server_, "Threads");
  Person bob = Member(*server_, p, "bob");
  Person dave = Member(*server_, p, "dave");
  auto parent = p.owner->Post(p.channel, "lunch?");
  ASSERT_TRUE(parent.ok());
  auto r1 = bob->Reply(p.channel, parent->seq, "yes", false, "bob-1");
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(r1->seq, parent->seq + 1);
  EXPECT_FALSE(r1->duplicate);
  auto retry = bob->Reply(p.channel, parent->seq, "yes", false, "bob-1");
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, r1->seq);
  auto r2 = dave->Reply(p.channel, parent->seq, "me too", /*also_to_channel=*/true);
  ASSERT_TRUE(r2.ok());
  auto r3 = bob->Reply(p.channel, parent->seq, "12:30");
  ASSERT_TRUE(r3.ok());
  auto top = p.owner->Post(p.channel, "after");
  ASSERT_TRUE(top.ok());

  // The stream has every seq; the timeline only the top level and the reply sent to it.
  auto sync = dave->Sync(p.channel, 0);
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->messages.size(), 5u);
  auto timeline = dave->Timeline(p.channel);
  ASSERT_TRUE(timeline.ok());
  ASSERT_EQ(timeline->messages.size(), 3u);
  EXPECT_EQ(timeline->messages[0]->seq, parent->seq);
  EXPECT_EQ(timeline->messages[1]->seq, r2->seq);
  EXPECT_TRUE(timeline->messages[1]->also_to_channel);
  EXPECT_EQ(timeline->messages[1]->thread_seq, parent->seq);
  EXPECT_EQ(timeline->messages[2]->seq, top->seq);
  const wire::MessageT& summary = *timeline->messages[0];
  EXPECT_EQ(summary.reply_count, 3u);
  EXPECT_EQ(summary.reply_users, (std::vector<uint64_t>{bob.id, dave.id}));
  EXPECT_EQ(summary.last_reply_at_ms, sync->messages[3]->created_at_ms);
  auto older = dave->Timeline(p.channel, top->seq, 0, 1);
  ASSERT_TRUE(older.ok());
  ASSERT_EQ(older->messages.size(), 1u);
  EXPECT_EQ(older->messages[0]->seq, r2->seq);
  EXPECT_TRUE(older->has_more);

  auto page = dave->ThreadHistory(p.channel, parent->seq, 0, 2);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->channel_id, p.channel);
  ASSERT_TRUE(page->parent);
  EXPECT_EQ(page->parent->text, "lunch?");
  ASSERT_EQ(page->replies.size(), 2u);
  EXPECT_EQ(page->replies[0]->text, "yes");
  EXPECT_EQ(page->replies[1]->text, "me too");
  EXPECT_TRUE(page->has_more);
  EXPECT_TRUE(page->following);  // replying follows
  page = dave->ThreadHistory(p.channel, parent->seq, page->replies[1]->seq, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->replies.size(), 1u);
  EXPECT_EQ(page->replies[0]->seq, r3->seq);
  EXPECT_FALSE(page->has_more);

  ExpectError(bob->Reply(p.channel, r1->seq, "nested"), ErrorCode::kInvalidArgument,
              "thread_seq");
  ExpectError(bob->Reply(p.channel, 999, "nowhere"), ErrorCode::kNotFound, "thread_seq");
  ExpectError(bob->ThreadHistory(p.channel, r1->seq), ErrorCode::kInvalidArgument, "thread_seq");
  Person outsider = AwayFrom(*server_, "outsider", {});
  ExpectError(outsider->Reply(p.channel, parent->seq, "hi"), ErrorCode::kNotFound, "channel_id");
  ExpectError(outsider->ThreadHistory(p.channel, parent->seq), ErrorCode::kNotFound,
              "channel_id");
}

TEST_F(MessagesTest, RepliesAreLiveAndFollowingIsToldToTheUser) {
  Place p = MakePlace(*server_, "LiveThreads");
  Person bob = Member(*server_, p, "bob");
  auto parent = bob->Post(p.channel, "top");
  ASSERT_TRUE(parent.ok());
  auto reply = p.owner->Reply(p.channel, parent->seq, "hello <@" + std::to_string(bob.id) + ">");
  ASSERT_TRUE(reply.ok());
  auto posted = NextEventOf<wire::MessagePostedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsMessagePosted(); });
  ASSERT_TRUE(posted && posted->message);
  EXPECT_EQ(posted->message->seq, parent->seq);  // bob's own post first
  posted = NextEventOf<wire::MessagePostedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsMessagePosted(); });
  ASSERT_TRUE(posted && posted->message);
  EXPECT_EQ(posted->message->seq, reply->seq);
  EXPECT_EQ(posted->message->thread_seq, parent->seq);
  // Bob follows as the parent's author: told so on his sessions.
  auto follow = NextEventOf<wire::ThreadFollowUpdatedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsThreadFollowUpdated(); });
  ASSERT_TRUE(follow);
  EXPECT_EQ(follow->thread_seq, parent->seq);
  EXPECT_TRUE(follow->following);
  const uint64_t followed_at = follow->user_seq;  // entries of Bob's feed, gapless
  EXPECT_GT(followed_at, 0u);

  ASSERT_TRUE(bob->FollowThread(p.channel, parent->seq, false).ok());
  follow = NextEventOf<wire::ThreadFollowUpdatedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsThreadFollowUpdated(); });
  ASSERT_TRUE(follow);
  EXPECT_FALSE(follow->following);
  // followed_at + 1: the reply's notification to Bob, who follows the thread.
  EXPECT_EQ(follow->user_seq, followed_at + 2);
  EXPECT_TRUE(bob->FollowThread(p.channel, parent->seq, false).ok());  // idempotent
  auto page = bob->ThreadHistory(p.channel, parent->seq);
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->following);
}

TEST_F(MessagesTest, UnreadThreadsGatherFromEveryShard) {
  Place a = MakePlace(*server_, "UnreadA");
  Place b = MakePlace(*server_, "UnreadB", a.shard);
  ASSERT_NE(a.shard, b.shard);
  Person bob = AwayFrom(*server_, "bob", {a.shard});
  ASSERT_TRUE(bob->JoinWorkspace(a.workspace).ok());
  ASSERT_TRUE(bob->JoinWorkspace(b.workspace).ok());
  auto pa = bob->Post(a.channel, "in A");
  auto pb = bob->Post(b.channel, "in B");
  auto pc = bob->Post(b.channel, "quiet");
  ASSERT_TRUE(pa.ok() && pb.ok() && pc.ok());
  ASSERT_TRUE(a.owner->Reply(a.channel, pa->seq, "a1").ok());
  ASSERT_TRUE(a.owner->Reply(a.channel, pa->seq, "a2").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(b.owner->Reply(b.channel, pb->seq, "b1").ok());
  ASSERT_TRUE(bob->Reply(b.channel, pc->seq, "talking to myself").ok());  // own reply: read

  auto list = bob->ListUnreadThreads();
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->total, 2u);
  ASSERT_EQ(list->threads.size(), 2u);
  EXPECT_EQ(list->threads[0]->channel_id, b.channel);  // newest reply first
  EXPECT_EQ(list->threads[0]->thread_seq, pb->seq);
  EXPECT_EQ(list->threads[0]->unread_replies, 1u);
  EXPECT_EQ(list->threads[1]->channel_id, a.channel);
  EXPECT_EQ(list->threads[1]->unread_replies, 2u);
  EXPECT_GE(list->threads[0]->last_reply_at_ms, list->threads[1]->last_reply_at_ms);

  ASSERT_TRUE(bob->MarkThreadRead(b.channel, pb->seq).ok());
  list = bob->ListUnreadThreads();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->total, 1u);
  EXPECT_EQ(list->threads[0]->channel_id, a.channel);
  ASSERT_TRUE(bob->FollowThread(a.channel, pa->seq, false).ok());
  list = bob->ListUnreadThreads();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->total, 0u);
  EXPECT_TRUE(list->threads.empty());
  auto owners = a.owner->ListUnreadThreads();  // replied: nothing unread
  ASSERT_TRUE(owners.ok());
  EXPECT_EQ(owners->total, 0u);
}

// ---- Reactions --------------------------------------------------------------------------------

TEST_F(MessagesTest, ReactionsAreIdempotentLimitedAndLive) {
  Place p = MakePlace(*server_, "Reactions");
  Person bob = Member(*server_, p, "bob");
  auto m = p.owner->Post(p.channel, "ship it");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(p.owner->AddReaction(p.channel, m->seq, ":Rocket:").ok());
  ASSERT_TRUE(p.owner->AddReaction(p.channel, m->seq, "rocket").ok());  // no change
  ASSERT_TRUE(bob->AddReaction(p.channel, m->seq, "\xf0\x9f\x8e\x89").ok());
  ASSERT_TRUE(bob->AddReaction(p.channel, m->seq, "rocket").ok());
  auto added = NextEventOf<wire::ReactionAddedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsReactionAdded(); });
  ASSERT_TRUE(added);
  EXPECT_EQ(added->emoji, "rocket");
  EXPECT_EQ(added->user_id, p.owner.id);
  EXPECT_EQ(added->seq, m->seq);
  added = NextEventOf<wire::ReactionAddedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsReactionAdded(); });
  ASSERT_TRUE(added);
  EXPECT_EQ(added->user_id, bob.id);  // the repeated add made no event
  EXPECT_EQ(added->emoji, "\xf0\x9f\x8e\x89");

  auto history = bob->History(p.channel);
  ASSERT_TRUE(history.ok());
  const auto& reactions = history->messages.back()->reactions;
  ASSERT_EQ(reactions.size(), 2u);
  EXPECT_EQ(reactions[0]->emoji, "rocket");
  EXPECT_EQ(reactions[0]->count, 2u);
  EXPECT_EQ(reactions[0]->users, (std::vector<uint64_t>{p.owner.id, bob.id}));
  EXPECT_EQ(reactions[1]->count, 1u);

  ASSERT_TRUE(p.owner->RemoveReaction(p.channel, m->seq, "rocket").ok());
  ASSERT_TRUE(p.owner->RemoveReaction(p.channel, m->seq, "rocket").ok());
  auto removed = NextEventOf<wire::ReactionRemovedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsReactionRemoved(); });
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->user_id, p.owner.id);
  ASSERT_TRUE(bob->RemoveReaction(p.channel, m->seq, "rocket").ok());
  history = bob->History(p.channel);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->messages.back()->reactions.size(), 1u);  // rocket is gone entirely

  for (int i = 1; i < 50; ++i) {
    ASSERT_TRUE(bob->AddReaction(p.channel, m->seq, "e" + std::to_string(i)).ok()) << i;
  }
  ExpectError(bob->AddReaction(p.channel, m->seq, "fifty_first"), ErrorCode::kInvalidArgument,
              "emoji");
  EXPECT_TRUE(p.owner->AddReaction(p.channel, m->seq, "e7").ok());
  ExpectError(bob->AddReaction(p.channel, m->seq, "not an emoji"), ErrorCode::kInvalidArgument,
              "emoji");
  ExpectError(bob->AddReaction(p.channel, 999, "a"), ErrorCode::kNotFound, "seq");
}

// ---- Edits and deletions ----------------------------------------------------------------------

TEST(MessagesEditWindowTest, EditsKeepHistoryAndCloseAfterTheWindow) {
  TestServer server(ThreeShards({"--edit_window_s=1"}));
  server.Start();
  Place p = MakePlace(server, "Edits");
  Person bob = Member(server, p, "bob");
  auto m = bob->Post(p.channel, "v0");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(bob->EditMessage(p.channel, m->seq, "v1").ok());
  auto ack = bob->EditMessage(p.channel, m->seq, "v2 <@" + std::to_string(p.owner.id) +
                                                     "> <@987654321>");
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  ASSERT_TRUE(ack->message);
  EXPECT_EQ(ack->message->edit_count, 2u);
  EXPECT_EQ(ack->unknown_mentions, (std::vector<uint64_t>{987654321}));
  auto edits = p.owner->ListEdits(p.channel, m->seq);
  ASSERT_TRUE(edits.ok()) << edits.error().message;
  ASSERT_EQ(edits->edits.size(), 2u);
  EXPECT_EQ(edits->edits[0]->text, "v0");
  EXPECT_EQ(edits->edits[1]->text, "v1");
  EXPECT_LE(edits->edits[0]->replaced_at_ms, edits->edits[1]->replaced_at_ms);
  ASSERT_TRUE(edits->message);
  EXPECT_EQ(edits->message->text, ack->message->text);
  EXPECT_EQ(edits->message->edit_count, 2u);
  auto edited = NextEventOf<wire::MessageEditedT>(
      *p.owner.client, [](const wire::FrameT& f) { return f.body.AsMessageEdited(); });
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->text, "v1");

  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  auto late = bob->EditMessage(p.channel, m->seq, "v3");
  ExpectError(late, ErrorCode::kForbidden, "seq");
  EXPECT_NE(late.error().message.find("1 second"), std::string::npos) << late.error().message;
  ExpectError(p.owner->ListEdits(p.channel, 999), ErrorCode::kNotFound, "seq");
}

TEST_F(MessagesTest, DeletedParentIsATombstoneWithReachableReplies) {
  Place p = MakePlace(*server_, "Tombstones");
  Person bob = Member(*server_, p, "bob");
  auto parent = bob->Post(p.channel, "regrettable");
  ASSERT_TRUE(parent.ok());
  auto reply = p.owner->Reply(p.channel, parent->seq, "indeed");
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(bob->AddReaction(p.channel, parent->seq, "eyes").ok());
  ASSERT_TRUE(bob->Pin(p.channel, parent->seq).ok());
  ASSERT_TRUE(bob->DeleteMessage(p.channel, parent->seq).ok());
  auto page = p.owner->ThreadHistory(p.channel, parent->seq);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_TRUE(page->parent);
  EXPECT_TRUE(page->parent->deleted);
  EXPECT_EQ(page->parent->text, "");
  EXPECT_EQ(page->parent->reply_count, 1u);  // the parent keeps its thread
  EXPECT_TRUE(page->parent->reactions.empty());
  EXPECT_FALSE(page->parent->pinned);
  ASSERT_EQ(page->replies.size(), 1u);
  EXPECT_EQ(page->replies[0]->text, "indeed");
  auto pins = bob->ListPins(p.channel);
  ASSERT_TRUE(pins.ok());
  EXPECT_TRUE(pins->pins.empty());
  ExpectError(bob->Reply(p.channel, parent->seq, "more"), ErrorCode::kNotFound, "thread_seq");
  ExpectError(bob->AddReaction(p.channel, parent->seq, "eyes"), ErrorCode::kNotFound, "seq");
  ExpectError(bob->EditMessage(p.channel, parent->seq, "x"), ErrorCode::kNotFound, "seq");
  ExpectError(bob->ListEdits(p.channel, parent->seq), ErrorCode::kNotFound, "seq");
}

// ---- Pins and bookmarks -----------------------------------------------------------------------

TEST_F(MessagesTest, PinsListNewestFirstAndAreLive) {
  Place p = MakePlace(*server_, "Pins");
  Person bob = Member(*server_, p, "bob");
  auto a = p.owner->Post(p.channel, "a");
  auto b = p.owner->Post(p.channel, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(bob->Pin(p.channel, a->seq).ok());
  ASSERT_TRUE(p.owner->Pin(p.channel, b->seq).ok());
  ASSERT_TRUE(p.owner->Pin(p.channel, b->seq).ok());  // idempotent
  auto pinned = NextEventOf<wire::PinChangedT>(
      *bob.client, [](const wire::FrameT& f) { return f.body.AsPinChanged(); });
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->seq, a->seq);
  EXPECT_EQ(pinned->by, bob.id);
  EXPECT_TRUE(pinned->pinned);
  auto pins = bob->ListPins(p.channel);
  ASSERT_TRUE(pins.ok());
  ASSERT_EQ(pins->pins.size(), 2u);
  EXPECT_EQ(pins->pins[0]->message->seq, b->seq);
  EXPECT_EQ(pins->pins[0]->by, p.owner.id);
  EXPECT_TRUE(pins->pins[0]->message->pinned);
  EXPECT_EQ(pins->pins[1]->message->text, "a");
  ASSERT_TRUE(bob->Pin(p.channel, b->seq, false).ok());
  pins = bob->ListPins(p.channel);
  ASSERT_TRUE(pins.ok());
  ASSERT_EQ(pins->pins.size(), 1u);
  EXPECT_EQ(pins->pins[0]->message->seq, a->seq);
  ExpectError(bob->Pin(p.channel, 999), ErrorCode::kNotFound, "seq");
}

// Bookmarks are validated, listed in creation order, and removed by their adder or an admin.
TEST_F(MessagesTest, BookmarksAddListRemove) {
  Place p = MakePlace(*server_, "Bookmarks");
  Person bob = Member(*server_, p, "bob");
  Person dave = Member(*server_, p, "dave");
  auto first = bob->AddBookmark(p.channel, "  Runbook  ", "https://example.com/runbook");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->title, "Runbook");
  EXPECT_EQ(first->by, bob.id);
  EXPECT_EQ(first->channel_id, p.channel);
  auto second = dave->AddBookmark(p.channel, "Board", "http://board.example.com");
  ASSERT_TRUE(second.ok());
  auto event = NextEventOf<wire::BookmarkAddedT>(
      *dave.client, [](const wire::FrameT& f) { return f.body.AsBookmarkAdded(); });
  ASSERT_TRUE(event && event->bookmark);
  EXPECT_EQ(event->bookmark->id, first->id);
  auto list = dave->ListBookmarks(p.channel);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->bookmarks.size(), 2u);
  EXPECT_EQ(list->bookmarks[0]->id, first->id);
  EXPECT_EQ(list->bookmarks[1]->id, second->id);

  ExpectError(bob->AddBookmark(p.channel, "x", "ftp://example.com"), ErrorCode::kInvalidArgument,
              "url");
  ExpectError(bob->AddBookmark(p.channel, "", "https://example.com"),
              ErrorCode::kInvalidArgument, "title");
  ExpectError(dave->RemoveBookmark(p.channel, first->id), ErrorCode::kForbidden, "bookmark_id");
  ExpectError(dave->RemoveBookmark(p.channel, 12345), ErrorCode::kNotFound, "bookmark_id");
  ASSERT_TRUE(bob->RemoveBookmark(p.channel, first->id).ok());
  ASSERT_TRUE(p.owner->RemoveBookmark(p.channel, second->id).ok());  // the owner is an admin
  auto removed = NextEventOf<wire::BookmarkRemovedT>(
      *dave.client, [](const wire::FrameT& f) { return f.body.AsBookmarkRemoved(); });
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->bookmark_id, first->id);
  list = dave->ListBookmarks(p.channel);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->bookmarks.empty());
}

// ---- Mentions ---------------------------------------------------------------------------------

TEST_F(MessagesTest, MentionsOfNonMembersComeBackInTheAck) {
  Place p = MakePlace(*server_, "Mentions");
  Person bob = Member(*server_, p, "bob");
  Person stranger = AwayFrom(*server_, "stranger", {});
  std::string text = "<@" + std::to_string(stranger.id) + "> <@" + std::to_string(bob.id) +
                     "> <@12> <!here>";
  auto ack = p.owner->Post(p.channel, text);
  ASSERT_TRUE(ack.ok());
  std::vector<uint64_t> want = {12, stranger.id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ack->unknown_mentions, want);
  auto reply = bob->Reply(p.channel, ack->seq, "<@" + std::to_string(stranger.id) + ">");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->unknown_mentions, (std::vector<uint64_t>{stranger.id}));
  auto plain = bob->Post(p.channel, "<@" + std::to_string(p.owner.id) + "> thanks");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->unknown_mentions.empty());
}

// ---- Durability -------------------------------------------------------------------------------

struct Snapshot {
  std::string thread, history, timeline, pins, bookmarks, edits, unread;
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(wire::Client& c, uint64_t channel, uint64_t thread, uint64_t edited) {
  Snapshot s;
  auto page = c.ThreadHistory(channel, thread);
  auto history = c.History(channel);
  auto timeline = c.Timeline(channel);
  auto pins = c.ListPins(channel);
  auto bookmarks = c.ListBookmarks(channel);
  auto edits = c.ListEdits(channel, edited);
  auto unread = c.ListUnreadThreads();
  EXPECT_TRUE(page.ok() && history.ok() && timeline.ok() && pins.ok() && bookmarks.ok() &&
              edits.ok() && unread.ok());
  if (!(page.ok() && history.ok() && timeline.ok() && pins.ok() && bookmarks.ok() &&
        edits.ok() && unread.ok())) {
    return s;
  }
  s.thread = Packed(*page);
  s.history = Packed(*history);
  s.timeline = Packed(*timeline);
  s.pins = Packed(*pins);
  s.bookmarks = Packed(*bookmarks);
  s.edits = Packed(*edits);
  s.unread = Packed(*unread);
  return s;
}

TEST(MessagesRestartTest, EverythingIsExactlyAsBeforeAfterSigkill) {
  TestServer server(ThreeShards());
  server.Start();
  Place p = MakePlace(server, "Durable");
  Person bob = Member(server, p, "bob");
  auto parent = p.owner->Post(p.channel, "plan <@" + std::to_string(bob.id) + ">");
  ASSERT_TRUE(parent.ok());
  ASSERT_TRUE(bob->Reply(p.channel, parent->seq, "agreed", true).ok());
  ASSERT_TRUE(bob->Reply(p.channel, parent->seq, "details").ok());
  ASSERT_TRUE(p.owner->Reply(p.channel, parent->seq, "go").ok());
  ASSERT_TRUE(bob->AddReaction(p.channel, parent->seq, "rocket").ok());
  ASSERT_TRUE(p.owner->AddReaction(p.channel, parent->seq, "\xe2\x9c\x85").ok());
  ASSERT_TRUE(bob->AddReaction(p.channel, parent->seq, "eyes").ok());
  ASSERT_TRUE(bob->RemoveReaction(p.channel, parent->seq, "eyes").ok());
  auto edited = bob->Post(p.channel, "tyop");
  ASSERT_TRUE(edited.ok());
  ASSERT_TRUE(bob->EditMessage(p.channel, edited->seq, "typo").ok());
  ASSERT_TRUE(bob->EditMessage(p.channel, edited->seq, "typo!").ok());
  ASSERT_TRUE(bob->Pin(p.channel, parent->seq).ok());
  ASSERT_TRUE(bob->Pin(p.channel, edited->seq).ok());
  auto gone = bob->Post(p.channel, "gone");
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(bob->Pin(p.channel, gone->seq).ok());
  ASSERT_TRUE(bob->DeleteMessage(p.channel, gone->seq).ok());
  ASSERT_TRUE(bob->AddBookmark(p.channel, "Spec", "https://spec.example.com").ok());
  auto dropped = bob->AddBookmark(p.channel, "Old", "https://old.example.com");
  ASSERT_TRUE(dropped.ok());
  ASSERT_TRUE(p.owner->AddBookmark(p.channel, "Wiki", "https://wiki.example.com").ok());
  ASSERT_TRUE(bob->RemoveBookmark(p.channel, dropped->id).ok());
  ASSERT_TRUE(p.owner->MarkThreadRead(p.channel, parent->seq).ok());
  ASSERT_TRUE(p.owner->Reply(p.channel, parent->seq, "one more").ok());

  Snapshot before_bob = Take(*bob.client, p.channel, parent->seq, edited->seq);
  Snapshot before_owner = Take(*p.owner.client, p.channel, parent->seq, edited->seq);
  EXPECT_FALSE(before_bob.thread.empty());
  auto unread = bob->ListUnreadThreads();
  ASSERT_TRUE(unread.ok());
  EXPECT_EQ(unread->total, 1u);  // the owner's last reply

  server.Kill();
  server.Start();
  wire::LoginOkT login;
  bob.client = server.SignedIn(bob.email, &login);
  EXPECT_EQ(login.user_id, bob.id);
  p.owner.client = server.SignedIn(p.owner.email, &login);
  EXPECT_EQ(login.user_id, p.owner.id);
  EXPECT_TRUE(Take(*bob.client, p.channel, parent->seq, edited->seq) == before_bob);
  EXPECT_TRUE(Take(*p.owner.client, p.channel, parent->seq, edited->seq) == before_owner);
  // And the restarted server goes on from there: ids and seqs continue, nothing is reused.
  auto next = bob->AddBookmark(p.channel, "After", "https://after.example.com");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->id, dropped->id);
  auto reply = bob->Reply(p.channel, parent->seq, "still here");
  ASSERT_TRUE(reply.ok());
  auto page = bob->ThreadHistory(p.channel, parent->seq);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->parent->reply_count, 5u);
  EXPECT_EQ(page->replies.back()->seq, reply->seq);
}

}  // namespace
}  // namespace parley::testing
