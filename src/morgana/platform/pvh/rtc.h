#pragma once

// The MC146818 CMOS real-time clock: whole seconds of wall time, read once at
// boot to start the wall clock.

#include <cstdint>
#include <optional>

namespace morgana::pvh::rtc {

// Seconds since the Unix epoch, or nothing when there is no RTC or it holds
// an impossible date.
std::optional<std::int64_t> read_epoch_seconds();

// Days from 1970-01-01 to the given proleptic Gregorian date (public domain
// algorithm by Howard Hinnant).
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

} // namespace morgana::pvh::rtc
