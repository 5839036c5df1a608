// JSON text for tools and structured logs: a string quoted and escaped per RFC 8259.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace parley {

// Appends `text` as a JSON string. Bytes are copied as they are apart from the escapes JSON
// requires (quote, backslash, control characters), so UTF-8 text stays readable.
inline void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

inline std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

}  // namespace parley
