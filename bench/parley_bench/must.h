// For the scenarios that drive parley through the blocking client (boot, search): a failed
// step ends the run with a message naming the scenario and the step.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "core/error.h"

namespace parley::bench {

[[noreturn]] inline void Fail(const char* scenario, const char* what, const Error& e) {
  std::fprintf(stderr, "parley-bench %s: %s: %s %s\n", scenario, what, e.message.c_str(),
               e.details.c_str());
  std::exit(1);
}

// Must(scenario) returns a checker: must(result, "step") is the value, or the run ends.
struct Must {
  const char* scenario;
  template <class T>
  T operator()(Result<T> r, const char* what) const {
    if (!r.ok()) Fail(scenario, what, r.error());
    return std::move(*r);
  }
  void operator()(const Status& s, const char* what) const {
    if (!s.ok()) Fail(scenario, what, s.error());
  }
};

}  // namespace parley::bench
