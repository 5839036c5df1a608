#include "shard/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace parley::shard {
namespace {

// Stays the same number for the life of the process once a file is open: a reopen dup2()s the
// new file onto it, so a line written meanwhile lands whole in the old file or the new.
std::atomic<int> log_fd{STDERR_FILENO};
std::string log_path;  // main thread only

Result<int> OpenForAppend(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable, "cannot open log file " + path, strerror(errno));
  return fd;
}

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
  [[maybe_unused]] ssize_t n =
      write(log_fd.load(std::memory_order_acquire), line.data(), line.size());
}

Status OpenLogFile(const std::string& path) {
  Result<int> fd = OpenForAppend(path);
  if (!fd.ok()) return fd.error();
  log_path = path;
  log_fd.store(*fd, std::memory_order_release);
  return OkStatus();
}

Status ReopenLogFile() {
  if (log_path.empty()) return OkStatus();
  Result<int> fd = OpenForAppend(log_path);
  if (!fd.ok()) return fd.error();
  int rc = dup2(*fd, log_fd.load(std::memory_order_acquire));
  int saved = errno;
  close(*fd);
  if (rc < 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot reopen log file " + log_path,
                     strerror(saved));
  }
  return OkStatus();
}

void SyncLog() {
  if (!log_path.empty()) fsync(log_fd.load(std::memory_order_acquire));
}

}  // namespace parley::shard
