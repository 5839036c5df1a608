#include "tools/log_scan.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "core/events.h"
#include "core/state.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"

namespace parley::tools {
namespace {

// Records per read transaction: large enough to amortise the transaction, small enough that a
// live server's writer never waits on pages this reader holds for long.
constexpr size_t kScanChunk = 4096;

}  // namespace

Result<Lsn> ScanShard(const std::string& data_dir, uint32_t shard, Lsn from,
                      const std::function<bool(Lsn, std::string_view)>& fn) {
  persist::LmdbOptions options;
  options.read_only = true;
  auto store = persist::LmdbLogStore::Open(persist::ShardDir(data_dir, shard), options);
  if (!store.ok()) return store.error();
  Lsn next = from < 1 ? 1 : from;
  for (;;) {
    size_t seen = 0;
    bool stop = false;
    Status scanned = (*store)->Scan(next, kScanChunk, [&](Lsn lsn, std::string_view bytes) {
      ++seen;
      if (stop) return OkStatus();  // the rest of this chunk, read but not wanted
      next = lsn + 1;
      stop = !fn(lsn, bytes);
      return OkStatus();
    });
    if (!scanned.ok()) return scanned.error();
    if (stop || seen < kScanChunk) return next;
  }
}

ShardCheck VerifyShard(const std::string& data_dir, uint32_t shard, uint32_t shard_count) {
  ShardCheck check;
  check.shard = shard;
  ShardState state(shard, shard_count);
  Event event;
  Lsn expected = 1;
  Result<Lsn> end = ScanShard(data_dir, shard, 1, [&](Lsn lsn, std::string_view bytes) {
    if (lsn != expected) {
      check.problem = "lsn gap: expected " + std::to_string(expected) + ", found " +
                      std::to_string(lsn);
      return false;
    }
    if (Status decoded = persist::DecodeEventInto(bytes, event); !decoded.ok()) {
      check.problem = "lsn " + std::to_string(lsn) + ": " + decoded.error().message + ": " +
                      decoded.error().details;
      return false;
    }
    state.Apply(std::move(event));
    if (check.first_lsn == 0) check.first_lsn = lsn;
    check.last_lsn = lsn;
    ++check.events;
    ++expected;
    return true;
  });
  if (!end.ok() && check.problem.empty()) {
    check.problem = end.error().message + (end.error().details.empty() ? "" : ": ") +
                    end.error().details;
  }
  return check;
}

bool VerifyDataDir(const std::string& data_dir, std::FILE* out) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(data_dir, 0);
  if (!info.ok()) {
    std::fprintf(out, "data directory: FAILED: %s%s%s\n", info.error().message.c_str(),
                 info.error().details.empty() ? "" : ": ", info.error().details.c_str());
    return false;
  }
  std::fprintf(out, "data directory: ok, format %u, %u shard%s\n", info->format_version,
               info->shard_count, info->shard_count == 1 ? "" : "s");
  bool ok = true;
  for (uint32_t k = 0; k < info->shard_count; ++k) {
    ShardCheck check = VerifyShard(data_dir, k, info->shard_count);
    if (check.problem.empty()) {
      std::fprintf(out, "shard %u: ok, %" PRIu64 " events, lsn %" PRIu64 "..%" PRIu64 "\n", k,
                   check.events, check.first_lsn, check.last_lsn);
    } else {
      ok = false;
      std::fprintf(out, "shard %u: FAILED after %" PRIu64 " good events: %s\n", k, check.events,
                   check.problem.c_str());
    }
  }
  return ok;
}

std::string FormatTime(TimeMs at) {
  std::time_t seconds = static_cast<std::time_t>(at / 1000);
  int64_t millis = at % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];  // room for any int the format could print, not only real dates
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

Result<TimeMs> ParseTime(std::string_view text) {
  const std::string s(text);
  auto invalid = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected milliseconds since the epoch or a UTC time like "
                     "2026-12-04T18:20:01.234Z",
                     s);
  };
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    if (s.size() > 15) return invalid();
    return static_cast<TimeMs>(std::stoll(s));
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  int used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &used) != 3) return invalid();
  std::string_view rest = std::string_view(s).substr(used);
  if (!rest.empty()) {
    int n = 0;
    if (std::sscanf(rest.data(), "T%2d:%2d%n", &hour, &minute, &n) != 2) return invalid();
    rest.remove_prefix(n);
    if (!rest.empty() && rest[0] == ':') {
      if (std::sscanf(rest.data(), ":%2d%n", &second, &n) != 1) return invalid();
      rest.remove_prefix(n);
      if (!rest.empty() && rest[0] == '.') {
        if (rest.size() < 4 || std::sscanf(rest.data(), ".%3d%n", &millis, &n) != 1 || n != 4) {
          return invalid();
        }
        rest.remove_prefix(n);
      }
    }
    if (rest == "Z") rest.remove_prefix(1);
    if (!rest.empty()) return invalid();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 59 || millis < 0) {
    return invalid();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t seconds = timegm(&tm);
  std::tm check{};
  gmtime_r(&seconds, &check);
  if (check.tm_mday != day) return invalid();  // 2026-02-31 is not a date
  return static_cast<TimeMs>(seconds) * 1000 + millis;
}

}  // namespace parley::tools
