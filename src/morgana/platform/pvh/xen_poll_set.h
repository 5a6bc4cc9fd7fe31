#pragma once

// Which event channel ports a wait (SCHEDOP_poll) should wake on: those the
// image unmasked, less the ones whose events nobody consumes. A port that was
// pending when the last wait ended and has not been taken since has no one
// looking at it: waiting on it would return at once, every time. A port whose
// owner takes its events is always waited on, pending or not, so an event that
// arrives after the owner's last look ends the wait instead of being lost.
// Pure bookkeeping, apart from the shared memory, so that host tests check it.

#include <cstddef>
#include <cstdint>
#include <span>

namespace morgana::pvh::xen {

class PollSet {
public:
  static constexpr std::size_t capacity = 32;

  // The port's events are wanted (unmask). Beyond `capacity` ports, ignored.
  void add(std::uint32_t port);
  // No longer wanted (mask).
  void remove(std::uint32_t port);
  // Its owner took (or looked for) its event: waits include it again.
  void taken(std::uint32_t port);

  // The ports to wait on, written to `out` (room for `capacity`); returns how many.
  std::size_t ports_to_wait_on(std::span<std::uint32_t, capacity> out) const;
  // After a wait: `is_pending(port)` for each port marks the unclaimed ones.
  template <class IsPending>
  void after_wait(IsPending is_pending) {
    for (std::size_t i = 0; i < m_count; ++i) m_unclaimed[i] = is_pending(m_ports[i]);
  }

private:
  [[nodiscard]] std::size_t index(std::uint32_t port) const;

  std::uint32_t m_ports[capacity] = {};
  bool m_unclaimed[capacity] = {};
  std::size_t m_count = 0;
};

} // namespace morgana::pvh::xen
