// Test-only: gtest matchers for Decide() results, shared by core's tests.
#pragma once

#include <optional>
#include <string_view>

#include "core/decide.h"
#include "gtest/gtest.h"

namespace parley::testing_matchers {

using Decision = Result<std::optional<Event>>;

// An error with this code and details, and a message for people.
template <class R>
::testing::AssertionResult IsError(const R& r, ErrorCode code, std::string_view details) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded; wanted " << ErrorCodeName(code);
  const Error& e = r.error();
  if (e.code != code || e.details != details || e.message.empty()) {
    return ::testing::AssertionFailure()
           << "got " << ErrorCodeName(e.code) << " [" << e.details << "] \"" << e.message
           << "\"; wanted " << ErrorCodeName(code) << " [" << details << "]";
  }
  return ::testing::AssertionSuccess();
}

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

}  // namespace parley::testing_matchers
