// Recent searches: recording (trimmed, newest first, a repeat moves to the front), the cap,
// clearing, the errors, and replay.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/decision_matchers.h"
#include "core/search_query.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'000;

class RecentSearchesTest : public DecideFixture {
 protected:
  RecentSearchesTest() : DecideFixture(kNow) {
    ann_ = Do<UserRegistered>(
               RegisterUser{"ann@example.com", "Ann", "a long password 123", "", "hash"})
               .user_id;
    bob_ = Do<UserRegistered>(
               RegisterUser{"bob@example.com", "Bob", "a long password 123", "", "hash"})
               .user_id;
  }

  SearchRecorded Record(UserId user, std::string query) {
    ctx_.now += 1000;
    return Do<SearchRecorded>(RecordSearch{user, std::move(query)});
  }
  std::vector<std::string> Queries(UserId user) {
    std::vector<std::string> out;
    for (const RecentSearch& r : state_.RecentSearchesOf(user)) out.push_back(r.query);
    return out;
  }

  UserId ann_ = 0, bob_ = 0;
};

TEST_F(RecentSearchesTest, RecordsTheTrimmedQueryWithItsTime) {
  SearchRecorded e = Record(ann_, " \t deploy in:#general \n");
  EXPECT_EQ(e.user_id, ann_);
  EXPECT_EQ(e.query, "deploy in:#general");
  EXPECT_EQ(e.at, kNow + 1000);
  EXPECT_EQ(state_.RecentSearchesOf(ann_),
            (std::vector<RecentSearch>{{"deploy in:#general", kNow + 1000}}));
  EXPECT_TRUE(state_.RecentSearchesOf(bob_).empty());
  ExpectReplayEqual();
}

TEST_F(RecentSearchesTest, NewestFirst) {
  Record(ann_, "one");
  Record(ann_, "two");
  Record(ann_, "three");
  EXPECT_EQ(Queries(ann_), (std::vector<std::string>{"three", "two", "one"}));
}

TEST_F(RecentSearchesTest, ARepeatMovesToTheFrontWithItsNewTime) {
  Record(ann_, "one");
  Record(ann_, "two");
  Record(ann_, "three");
  TimeMs again = Record(ann_, "  one ").at;
  std::vector<RecentSearch> list = state_.RecentSearchesOf(ann_);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], (RecentSearch{"one", again}));
  EXPECT_EQ(Queries(ann_), (std::vector<std::string>{"one", "three", "two"}));
  // Only an exact match after trimming is a repeat.
  Record(ann_, "ONE");
  Record(ann_, "one  two");
  EXPECT_EQ(Queries(ann_), (std::vector<std::string>{"one  two", "ONE", "one", "three", "two"}));
  ExpectReplayEqual();
}

TEST_F(RecentSearchesTest, KeepsTheNewestTwentyAndDropsTheOldest) {
  for (size_t i = 0; i < kMaxRecentSearches; ++i) Record(ann_, "q" + std::to_string(i));
  EXPECT_EQ(state_.RecentSearchesOf(ann_).size(), kMaxRecentSearches);
  EXPECT_EQ(Queries(ann_).back(), "q0");
  Record(ann_, "q20");
  std::vector<std::string> queries = Queries(ann_);
  ASSERT_EQ(queries.size(), kMaxRecentSearches);
  EXPECT_EQ(queries.front(), "q20");
  EXPECT_EQ(queries.back(), "q1");
  // A repeat at the end of a full list moves it: nothing else is dropped.
  Record(ann_, "q1");
  queries = Queries(ann_);
  ASSERT_EQ(queries.size(), kMaxRecentSearches);
  EXPECT_EQ(queries.front(), "q1");
  EXPECT_EQ(queries.back(), "q2");
  ExpectReplayEqual();
}

TEST_F(RecentSearchesTest, ListsArePerUser) {
  Record(ann_, "deploy");
  Record(bob_, "lunch");
  EXPECT_EQ(Queries(ann_), std::vector<std::string>{"deploy"});
  EXPECT_EQ(Queries(bob_), std::vector<std::string>{"lunch"});
}

TEST_F(RecentSearchesTest, ClearEmptiesOnlyTheActorsList) {
  Record(ann_, "deploy");
  Record(ann_, "rollback");
  Record(bob_, "lunch");
  ctx_.now += 1000;
  RecentSearchesCleared e = Do<RecentSearchesCleared>(ClearRecentSearches{ann_});
  EXPECT_EQ(e.user_id, ann_);
  EXPECT_EQ(e.at, ctx_.now);
  EXPECT_TRUE(state_.RecentSearchesOf(ann_).empty());
  EXPECT_EQ(Queries(bob_), std::vector<std::string>{"lunch"});
  Record(ann_, "deploy");
  EXPECT_EQ(Queries(ann_), std::vector<std::string>{"deploy"});
  ExpectReplayEqual();
}

TEST_F(RecentSearchesTest, ClearingAnEmptyListIsStillAnEvent) {
  Do<RecentSearchesCleared>(ClearRecentSearches{bob_});
  EXPECT_TRUE(state_.RecentSearchesOf(bob_).empty());
}

TEST_F(RecentSearchesTest, TheActorMustBeAUserHeldHere) {
  constexpr UserId kStranger = 999;
  EXPECT_TRUE(IsError(Try(RecordSearch{kStranger, "deploy"}), ErrorCode::kNotFound, "user_id"));
  EXPECT_TRUE(IsError(Try(ClearRecentSearches{kStranger}), ErrorCode::kNotFound, "user_id"));
  EXPECT_TRUE(IsError(Try(RecordSearch{0, "deploy"}), ErrorCode::kNotFound, "user_id"));
  EXPECT_TRUE(state_.RecentSearchesOf(kStranger).empty());
}

TEST_F(RecentSearchesTest, QueryRules) {
  EXPECT_TRUE(IsError(Try(RecordSearch{ann_, ""}), ErrorCode::kInvalidArgument, "query"));
  EXPECT_TRUE(IsError(Try(RecordSearch{ann_, " \t\n "}), ErrorCode::kInvalidArgument, "query"));
  std::string longest(kMaxSearchQueryBytes, 'q');
  EXPECT_TRUE(
      IsError(Try(RecordSearch{ann_, longest + "q"}), ErrorCode::kInvalidArgument, "query"));
  EXPECT_TRUE(
      IsError(Try(RecordSearch{ann_, "deploy \xc3"}), ErrorCode::kInvalidArgument, "query"));
  // The limit applies after trimming.
  EXPECT_EQ(Record(ann_, "  " + longest + "  ").query, longest);
  EXPECT_EQ(Record(ann_, "日本語").query, "日本語");
}

}  // namespace
}  // namespace parley
