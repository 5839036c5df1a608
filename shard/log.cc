#include "shard/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace parley::shard {
namespace {

void AppendEscaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

void LogJson(std::string_view level, std::string_view msg,
             std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string line = "{\"ts_ms\":" + std::to_string(now) + ",\"level\":";
  AppendEscaped(line, level);
  line += ",\"msg\":";
  AppendEscaped(line, msg);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendEscaped(line, key);
    line.push_back(':');
    AppendEscaped(line, value);
  }
  line += "}\n";
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace parley::shard
