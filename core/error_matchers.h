// Test-only: a gtest matcher for any Result or Status that should have failed, shared by every
// layer's unit tests.
#pragma once

#include <string_view>

#include "core/error.h"
#include "gtest/gtest.h"

namespace parley::testing_matchers {

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

}  // namespace parley::testing_matchers
