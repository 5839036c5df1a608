// Structured logs: one JSON object per line, on stderr or in the file --log_file names. Safe from
// any thread (one write(2) per line, to a descriptor that a reopen swaps atomically). Never log
// secrets, tokens or message bodies.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace parley::shard {

void LogJson(std::string_view level, std::string_view msg,
             std::initializer_list<std::pair<std::string_view, std::string>> fields = {});

// From now on, lines are appended to `path` (created with mode 0640 if missing). Call once,
// from the main thread, before other threads log. Fails with errno's message.
Status OpenLogFile(const std::string& path);
// Opens the OpenLogFile path again and swaps it in (dup2: no line is lost or split), for
// logrotate after it moved the file away (SIGHUP). A no-op when logging to stderr. Main thread.
Status ReopenLogFile();
// fsync of the log file (at exit); a no-op on stderr.
void SyncLog();

}  // namespace parley::shard
