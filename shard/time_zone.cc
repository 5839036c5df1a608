#include "shard/time_zone.h"

#include <unicode/timezone.h>
#include <unicode/ucal.h>
#include <unicode/unistr.h>

#include <chrono>

namespace parley::shard {

struct TimeZones::Zone {
  std::unique_ptr<icu::TimeZone> tz;
};

TimeZones::TimeZones() = default;
TimeZones::~TimeZones() = default;

// ICU answers a copy of "Etc/Unknown" for names it does not know; the cache stays bounded by the
// zones ICU knows (a few hundred).
const TimeZones::Zone* TimeZones::Find(const std::string& name) {
  if (name.empty() || name.size() > 64) return nullptr;
  auto it = zones_.find(name);
  if (it != zones_.end()) return it->second.get();
  std::unique_ptr<icu::TimeZone> tz(
      icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(name)));
  if (!tz) return nullptr;
  icu::UnicodeString id;
  tz->getID(id);
  if (id == icu::UnicodeString(UCAL_UNKNOWN_ZONE_ID)) return nullptr;
  auto zone = std::make_unique<Zone>();
  zone->tz = std::move(tz);
  return zones_.emplace(name, std::move(zone)).first->second.get();
}

bool TimeZones::Known(const std::string& name) { return Find(name) != nullptr; }

int32_t TimeZones::LocalMinute(const std::string& name, TimeMs now) {
  const Zone* zone = Find(name);
  if (zone == nullptr) return -1;
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone->tz->getOffset(static_cast<UDate>(now), false, raw, dst, status);
  if (U_FAILURE(status)) return -1;
  int64_t minutes = (now + raw + dst) / 60'000;
  if ((now + raw + dst) % 60'000 < 0) --minutes;  // floor for times before the epoch
  int64_t minute = minutes % 1440;
  return static_cast<int32_t>(minute < 0 ? minute + 1440 : minute);
}

TimeMs TimeZones::StartOfDay(const std::string& name, int32_t year, uint32_t month, uint32_t day,
                             int32_t add_days) {
  using namespace std::chrono;
  sys_days date = sys_days(year_month_day(std::chrono::year(year), std::chrono::month(month),
                                          std::chrono::day(day))) +
                  days(add_days);
  TimeMs local = duration_cast<milliseconds>(date.time_since_epoch()).count();
  const Zone* zone = Find(name);
  if (zone == nullptr) return local;
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone->tz->getOffset(static_cast<UDate>(local), true, raw, dst, status);  // local wall time
  return U_FAILURE(status) ? local : local - raw - dst;
}

}  // namespace parley::shard
