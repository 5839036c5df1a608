// IANA time zones (ICU), for do-not-disturb schedules. GCC 12's libstdc++ has no std::chrono
// tzdb, so names resolve through ICU's icu::TimeZone (libicu-dev). Shard thread only: each shard
// keeps its own cache (ICU zones are not shared across threads here).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/ids.h"

namespace parley::shard {

class TimeZones {
 public:
  TimeZones();
  ~TimeZones();
  // Whether ICU knows `name` (an IANA zone id such as "Europe/Berlin", or "UTC").
  bool Known(const std::string& name);
  // The minute of the day (0..1439) in zone `name` at `now`; -1 for an unknown zone.
  int32_t LocalMinute(const std::string& name, TimeMs now);
  // When the day year-month-day (plus add_days) begins in zone `name` (UTC for an unknown
  // zone). REQUIRES: a valid date (core/search_query.h checks them).
  TimeMs StartOfDay(const std::string& name, int32_t year, uint32_t month, uint32_t day,
                    int32_t add_days = 0);

 private:
  struct Zone;
  const Zone* Find(const std::string& name);
  std::unordered_map<std::string, std::unique_ptr<Zone>> zones_;  // unknown names are not kept
};

}  // namespace parley::shard
