#include "morgana/core/checksum.h"

#include <bit>
#include <cstring>

namespace morgana {

void InternetChecksum::add(Bytes data) {
  std::size_t i = 0;
  if (m_odd && !data.empty()) {
    m_sum += std::to_integer<std::uint8_t>(data[0]);
    i = 1;
    m_odd = false;
  }
  // RFC 1071 §2(B): the sum is byte-order independent, so add 64-bit words in
  // host order (two 32-bit halves per step, no carry lost in 64 bits) and swap
  // the folded result; then finish word by word.
  std::uint64_t host_order = 0;
  for (; i + 8 <= data.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data.data() + i, sizeof word);
    host_order += (word & 0xffffffff) + (word >> 32);
  }
  while (host_order >> 16) host_order = (host_order & 0xffff) + (host_order >> 16);
  if constexpr (std::endian::native == std::endian::little) host_order = ((host_order & 0xff) << 8) | (host_order >> 8);
  m_sum += host_order;
  for (; i + 1 < data.size(); i += 2) m_sum += load_be16(data.data() + i);
  if (i < data.size()) {
    // RFC 1071 §4.1: an odd trailing byte is padded with zero on the right.
    m_sum += std::uint32_t{std::to_integer<std::uint8_t>(data[i])} << 8;
    m_odd = true;
  }
}

std::uint16_t InternetChecksum::folded() const {
  std::uint64_t sum = m_sum;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

std::uint16_t internet_checksum(Bytes data) {
  InternetChecksum sum;
  sum.add(data);
  return sum.finish();
}

std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_field, std::uint16_t new_field) {
  std::uint32_t sum =
      static_cast<std::uint16_t>(~checksum) + static_cast<std::uint16_t>(~old_field) + std::uint32_t{new_field};
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

} // namespace morgana
