#pragma once

// Reading the global counters (morgana/core/counter.h) that tests check drops against.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

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

// How much each of several counters moved since construction, to check many
// drop paths at once: EXPECT_EQ(drops.deltas(), drops.each(1)).
class CounterWatches {
public:
  CounterWatches(std::initializer_list<std::string_view> names) {
    for (auto name : names) m_watches.emplace_back(name, CounterWatch(name));
  }
  // Each counter's name and how much it moved.
  [[nodiscard]] std::map<std::string_view, std::uint64_t> deltas() const {
    std::map<std::string_view, std::uint64_t> moved;
    for (const auto& [name, watch] : m_watches) moved[name] = watch.delta();
    return moved;
  }
  // What deltas() is when every counter moved by `delta`.
  [[nodiscard]] std::map<std::string_view, std::uint64_t> each(std::uint64_t delta) const {
    std::map<std::string_view, std::uint64_t> expected;
    for (const auto& watch : m_watches) expected[watch.first] = delta;
    return expected;
  }

private:
  std::vector<std::pair<std::string_view, CounterWatch>> m_watches;
};

} // namespace morgana::test_support
