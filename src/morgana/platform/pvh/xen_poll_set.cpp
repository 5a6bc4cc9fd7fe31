#include "morgana/platform/pvh/xen_poll_set.h"

namespace morgana::pvh::xen {

std::size_t PollSet::index(std::uint32_t port) const {
  for (std::size_t i = 0; i < m_count; ++i)
    if (m_ports[i] == port) return i;
  return capacity;
}

void PollSet::add(std::uint32_t port) {
  if (index(port) != capacity || m_count == capacity) return;
  m_unclaimed[m_count] = false;
  m_ports[m_count++] = port;
}

void PollSet::remove(std::uint32_t port) {
  auto i = index(port);
  if (i == capacity) return;
  --m_count;
  m_ports[i] = m_ports[m_count];
  m_unclaimed[i] = m_unclaimed[m_count];
}

void PollSet::taken(std::uint32_t port) {
  if (auto i = index(port); i != capacity) m_unclaimed[i] = false;
}

std::size_t PollSet::ports_to_wait_on(std::span<std::uint32_t, capacity> out) const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < m_count; ++i)
    if (!m_unclaimed[i]) out[count++] = m_ports[i];
  return count;
}

} // namespace morgana::pvh::xen
