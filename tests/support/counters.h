#pragma once

// Reading the global counters (morgana/core/counter.h) that tests check drops against.

#include <cstdint>
#include <string_view>

#include "morgana/core/counter.h"
#include "morgana/platform/interface.h"

namespace morgana::test_support {

// A counter's value; stops the test binary when there is no such counter (a typo in a test).
inline std::uint64_t counter_value(std::string_view name) {
  auto* counter = Counter::find(name);
  if (!counter) platform::abort("test: no such counter");
  return counter->value();
}

// How much a global counter moved since construction.
class CounterWatch {
public:
  explicit CounterWatch(std::string_view name) : m_counter(Counter::find(name)) {
    if (!m_counter) platform::abort("test: no such counter");
    m_start = m_counter->value();
  }
  [[nodiscard]] std::uint64_t delta() const { return m_counter->value() - m_start; }

private:
  Counter* m_counter;
  std::uint64_t m_start = 0;
};

} // namespace morgana::test_support
