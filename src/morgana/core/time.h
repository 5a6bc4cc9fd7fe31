#pragma once

#include <chrono>
#include <cstdint>

namespace morgana {

using namespace std::chrono_literals;
using Duration = std::chrono::nanoseconds;

// The platform's monotonic clock: for deadlines, timeouts and intervals.
struct MonotonicClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<MonotonicClock>;
  static constexpr bool is_steady = true;
  static time_point now();
};
using Instant = MonotonicClock::time_point;

// The platform's wall clock: nanoseconds since the Unix epoch; may jump.
struct WallClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<WallClock>;
  static constexpr bool is_steady = false;
  static time_point now();
};

inline constexpr Instant far_future = Instant::max();

} // namespace morgana
