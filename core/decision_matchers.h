// Test-only: gtest matchers for Decide() results, shared by core's tests.
#pragma once

#include <optional>
#include <utility>
#include <vector>
#include <string_view>

#include "core/decide.h"
#include "core/error_matchers.h"
#include "gtest/gtest.h"

namespace parley::testing_matchers {

using Decision = Result<std::optional<Event>>;


inline ::testing::AssertionResult IsNoOp(const Decision& r) {
  if (!r.ok()) return ::testing::AssertionFailure() << "error: " << r.error().message;
  if (r->has_value()) return ::testing::AssertionFailure() << EventName(TagOf(**r));
  return ::testing::AssertionSuccess();
}

// The event of type E that `r` holds; a test failure (and E{}) otherwise.
template <class E>
E EventOf(const Decision& r) {
  if (!r.ok()) {
    ADD_FAILURE() << "error: " << ErrorCodeName(r.error().code) << ": " << r.error().message;
    return E{};
  }
  const E* e = r->has_value() ? std::get_if<E>(&**r) : nullptr;
  if (e == nullptr) ADD_FAILURE() << "no event of the expected type";
  return e == nullptr ? E{} : *e;
}

// A shard's state driven through Decide() the way the shard does it: each event decided, applied
// and kept, so a test can check that its log replays into the state it built live.
class DecideFixture : public ::testing::Test {
 protected:
  explicit DecideFixture(TimeMs now) : ctx_{now, &ids_} {}

  Decision Try(const Command& c) { return Decide(state_, c, ctx_); }

  // Decides `c`, which must produce an event of type E; applies and logs it.
  template <class E>
  E Do(const Command& c) {
    Decision r = Try(c);
    E e = EventOf<E>(r);
    if (r.ok() && r->has_value()) {
      state_.Apply(**r);
      log_.push_back(**r);
    }
    return e;
  }

  // The log replays, copied and moved, into a state equal to the live one.
  void ExpectReplayEqual() {
    ShardState replayed(0, 1);
    for (const Event& e : log_) replayed.Apply(e);
    EXPECT_TRUE(replayed == state_) << "replay of " << log_.size() << " events differs";
    ShardState moved(0, 1);
    for (Event e : log_) moved.Apply(std::move(e));
    EXPECT_TRUE(moved == state_) << "moved replay of " << log_.size() << " events differs";
  }

  ShardState state_{0, 1};
  IdMinter ids_{0, 1, 0};
  Context ctx_;
  std::vector<Event> log_;
};

}  // namespace parley::testing_matchers
