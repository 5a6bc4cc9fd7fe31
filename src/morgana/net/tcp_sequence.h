#pragma once

#include <cstdint>

#include "morgana/core/format.h"

namespace morgana::net {

// A TCP sequence number: 32 bits counted modulo 2^32 (RFC 9293 §3.4).
//
// a < b means that b lies less than 2^31 ahead of a. This is not a total
// order: two numbers exactly 2^31 apart are each "less" than the other, and
// a < b < c does not imply a < c across more than half the space. Compare only
// numbers that lie within one window of each other, and never sort by it.
class SequenceNumber {
public:
  constexpr SequenceNumber() = default;
  constexpr explicit SequenceNumber(std::uint32_t value) : m_value(value) {}

  [[nodiscard]] constexpr std::uint32_t value() const { return m_value; }

  constexpr SequenceNumber& operator+=(std::uint32_t offset) {
    m_value += offset;
    return *this;
  }
  constexpr SequenceNumber& operator-=(std::uint32_t offset) {
    m_value -= offset;
    return *this;
  }
  [[nodiscard]] friend constexpr SequenceNumber operator+(SequenceNumber a, std::uint32_t offset) {
    return a += offset;
  }
  [[nodiscard]] friend constexpr SequenceNumber operator-(SequenceNumber a, std::uint32_t offset) {
    return a -= offset;
  }

  // The signed distance from b to a: positive when a lies ahead of b.
  [[nodiscard]] friend constexpr std::int32_t operator-(SequenceNumber a, SequenceNumber b) {
    return static_cast<std::int32_t>(a.m_value - b.m_value);
  }

  friend constexpr bool operator==(SequenceNumber, SequenceNumber) = default;
  friend constexpr bool operator<(SequenceNumber a, SequenceNumber b) { return a - b < 0; }
  friend constexpr bool operator<=(SequenceNumber a, SequenceNumber b) { return a - b <= 0; }
  friend constexpr bool operator>(SequenceNumber a, SequenceNumber b) { return a - b > 0; }
  friend constexpr bool operator>=(SequenceNumber a, SequenceNumber b) { return a - b >= 0; }

  void format(FormatSink& sink) const { format_unsigned(sink, m_value); }

private:
  std::uint32_t m_value = 0;
};

// Whether start <= x < start + size, modulo 2^32 (RFC 9293 §3.4). An empty
// window holds nothing; RFC 9293 §3.10.7.4's zero-window rule (SEG.SEQ =
// RCV.NXT is acceptable) is the caller's to apply.
[[nodiscard]] constexpr bool in_window(SequenceNumber x, SequenceNumber start, std::uint32_t size) {
  return x.value() - start.value() < size;
}

[[nodiscard]] constexpr SequenceNumber seq_max(SequenceNumber a, SequenceNumber b) { return a < b ? b : a; }
[[nodiscard]] constexpr SequenceNumber seq_min(SequenceNumber a, SequenceNumber b) { return b < a ? b : a; }

} // namespace morgana::net
