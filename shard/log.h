// Structured logs: one JSON object per line on stderr. Safe from any thread (one write(2) per
// line). Never log secrets or message bodies.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace parley::shard {

void LogJson(std::string_view level, std::string_view msg,
             std::initializer_list<std::pair<std::string_view, std::string>> fields = {});

}  // namespace parley::shard
