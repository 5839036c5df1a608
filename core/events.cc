#include "core/events.h"

#include <type_traits>

namespace parley {

namespace {

// A new Event alternative without a tag fails to compile here rather than logging tag 0.
template <class E>
constexpr EventTag TagOfType() {
  if constexpr (std::is_same_v<E, UserRegistered>) {
    return EventTag::kUserRegistered;
  } else if constexpr (std::is_same_v<E, WorkspaceCreated>) {
    return EventTag::kWorkspaceCreated;
  } else if constexpr (std::is_same_v<E, WorkspaceJoined>) {
    return EventTag::kWorkspaceJoined;
  } else if constexpr (std::is_same_v<E, ChannelCreated>) {
    return EventTag::kChannelCreated;
  } else if constexpr (std::is_same_v<E, ChannelJoined>) {
    return EventTag::kChannelJoined;
  } else if constexpr (std::is_same_v<E, ChannelLeft>) {
    return EventTag::kChannelLeft;
  } else if constexpr (std::is_same_v<E, MessagePosted>) {
    return EventTag::kMessagePosted;
  } else {
    static_assert(!std::is_same_v<E, E>, "give the new event a stable EventTag");
  }
}

}  // namespace

EventTag TagOf(const Event& event) {
  return std::visit([](const auto& e) { return TagOfType<std::decay_t<decltype(e)>>(); }, event);
}

std::string_view EventName(EventTag tag) {
  switch (tag) {
    case EventTag::kUserRegistered:
      return "UserRegistered";
    case EventTag::kWorkspaceCreated:
      return "WorkspaceCreated";
    case EventTag::kWorkspaceJoined:
      return "WorkspaceJoined";
    case EventTag::kChannelCreated:
      return "ChannelCreated";
    case EventTag::kChannelJoined:
      return "ChannelJoined";
    case EventTag::kChannelLeft:
      return "ChannelLeft";
    case EventTag::kMessagePosted:
      return "MessagePosted";
  }
  // Tags come back from the log, so an unknown one (newer writer) must still print.
  return "Unknown";
}

}  // namespace parley
