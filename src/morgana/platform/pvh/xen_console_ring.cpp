#include "morgana/platform/pvh/xen_console_ring.h"

namespace morgana::pvh::xen {

std::uint32_t console_ring_used(std::uint32_t consumer, std::uint32_t producer, std::size_t ring_size) {
  std::uint32_t used = producer - consumer;
  return used > ring_size ? static_cast<std::uint32_t>(ring_size) : used;
}

std::size_t console_ring_write(std::span<char> ring, std::uint32_t consumer, std::uint32_t& producer,
                               std::string_view text) {
  const auto mask = static_cast<std::uint32_t>(ring.size() - 1);
  std::size_t free = ring.size() - console_ring_used(consumer, producer, ring.size());
  std::size_t taken = 0;
  for (char c : text) {
    std::size_t needed = c == '\n' ? 2 : 1;
    if (free < needed) break;
    if (c == '\n') ring[producer++ & mask] = '\r';
    ring[producer++ & mask] = c;
    free -= needed;
    ++taken;
  }
  return taken;
}

} // namespace morgana::pvh::xen
