#pragma once

#include <cstdint>

#include "morgana/core/bytes.h"

namespace morgana {

// The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit words,
// accumulated over several pieces (pseudo-header, header, payload).
class InternetChecksum {
public:
  void add(Bytes data);
  void add_u16(std::uint16_t value) { m_sum += value; }
  void add_u32(std::uint32_t value) { m_sum += (value >> 16) + (value & 0xffff); }
  // The checksum field value: the complement of the folded sum.
  [[nodiscard]] std::uint16_t finish() const { return static_cast<std::uint16_t>(~folded()); }
  // The sum folded to 16 bits, not complemented: what a checksum-offloading
  // device expects in the field before it adds the rest.
  [[nodiscard]] std::uint16_t folded() const;

private:
  std::uint64_t m_sum = 0;
  bool m_odd = false; // the last piece ended mid-word
};

[[nodiscard]] std::uint16_t internet_checksum(Bytes data);

// The checksum after one 16-bit field changes from old_field to new_field,
// by RFC 1624 equation 3: HC' = ~(~HC + ~m + m').
[[nodiscard]] std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_field, std::uint16_t new_field);

} // namespace morgana
