#pragma once

// Lets at most `per_interval` events through in each interval, the interval
// starting at the first event after the last one ended: for warnings and
// error replies that a flood of packets or connections would otherwise repeat
// thousands of times.

#include <cstddef>
#include <optional>

#include "morgana/core/time.h"

namespace morgana {

class RateLimiter {
public:
  explicit RateLimiter(Duration interval, std::size_t per_interval = 1)
      : m_interval(interval), m_per_interval(per_interval) {}

  // True when this event is within the current interval's allowance.
  [[nodiscard]] bool try_now() {
    Instant now = MonotonicClock::now();
    if (!m_start || now - *m_start >= m_interval) {
      m_start = now;
      m_count = 0;
    }
    if (m_count >= m_per_interval) return false;
    ++m_count;
    return true;
  }

private:
  Duration m_interval;
  std::size_t m_per_interval;
  std::optional<Instant> m_start;
  std::size_t m_count = 0;
};

} // namespace morgana
