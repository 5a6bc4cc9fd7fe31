#pragma once

#include <cstdint>
#include <string_view>

#include "morgana/core/format.h"

namespace morgana {

// A named event count ("ipv4.bad_checksum"), defined at namespace scope by the
// layer that counts. Every drop path has one; all are printed at exit and
// readable by applications.
class Counter {
public:
  Counter(std::string_view name, std::string_view help);
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void increment(std::uint64_t by = 1) { m_value += by; }
  [[nodiscard]] std::uint64_t value() const { return m_value; }
  [[nodiscard]] std::string_view name() const { return m_name; }
  [[nodiscard]] std::string_view help() const { return m_help; }
  [[nodiscard]] Counter* next() const { return m_next; }

  static Counter* first();
  static Counter* find(std::string_view name);
  // Every non-zero counter, one "name value" per line (all with `include_zero`).
  static void print_all(FormatSink& sink, bool include_zero = false);

private:
  std::string_view m_name;
  std::string_view m_help;
  std::uint64_t m_value = 0;
  Counter* m_next;
};

} // namespace morgana
