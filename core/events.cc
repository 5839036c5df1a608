#include "core/events.h"

#include <type_traits>

namespace parley {

namespace {

template <class E>
constexpr EventTag TagOfType() = delete;
#define PARLEY_TAG_OF(Type) \
  template <>               \
  constexpr EventTag TagOfType<Type>() { return EventTag::k##Type; }
PARLEY_EVENT_TYPES(PARLEY_TAG_OF)
#undef PARLEY_TAG_OF

}  // namespace

// A new Event alternative missing from PARLEY_EVENT_TYPES fails to compile here (deleted
// template) rather than logging tag 0.
EventTag TagOf(const Event& event) {
  return std::visit([](const auto& e) { return TagOfType<std::decay_t<decltype(e)>>(); }, event);
}

std::string_view EventName(EventTag tag) {
  switch (tag) {
#define PARLEY_EVENT_NAME(Type) \
  case EventTag::k##Type:       \
    return #Type;
    PARLEY_EVENT_TYPES(PARLEY_EVENT_NAME)
#undef PARLEY_EVENT_NAME
  }
  // Tags come back from the log, so an unknown one (newer writer) must still print.
  return "Unknown";
}

}  // namespace parley
