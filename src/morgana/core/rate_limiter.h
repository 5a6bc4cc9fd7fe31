#pragma once

// Lets an event through at most once per interval: for warnings that a flood
// of packets or connections would otherwise repeat thousands of times.

#include <optional>

#include "morgana/core/time.h"

namespace morgana {

class RateLimiter {
public:
  explicit RateLimiter(Duration interval) : m_interval(interval) {}

  // True when the last allowed event is at least the interval ago (or none was).
  [[nodiscard]] bool try_now() {
    Instant now = MonotonicClock::now();
    if (m_last && now - *m_last < m_interval) return false;
    m_last = now;
    return true;
  }

private:
  Duration m_interval;
  std::optional<Instant> m_last;
};

} // namespace morgana
