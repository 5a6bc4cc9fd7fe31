#include "morgana/net/tcp_memory.h"

#include <algorithm>
#include <bit>

#include "morgana/core/counter.h"
#include "morgana/net/tcp_connection.h"

namespace morgana::net {
namespace {

Counter refused_connections{"tcp.no_memory_connections",
                            "connections refused for want of memory (SYN dropped, or reset when the handshake ended)"};

constexpr std::size_t free_share = 16;

std::size_t ring_size(std::size_t wanted, std::size_t free) {
  if (wanted <= tcp_minimum_buffer) return wanted;
  // Halving keeps the sizes few, and a power of two suits the window scale (RFC 7323 §2.2).
  auto fit = std::bit_floor(std::max<std::size_t>(free / free_share, 1));
  return std::clamp(fit, tcp_minimum_buffer, wanted);
}

} // namespace

std::optional<TcpConnectionOptions> size_for_memory(TcpConnectionOptions wanted, MemoryStats memory) {
  auto smallest =
      std::min(wanted.send_buffer, tcp_minimum_buffer) + std::min(wanted.receive_buffer, tcp_minimum_buffer);
  if (memory.free < smallest + tcp_memory_reserve) return std::nullopt;
  wanted.send_buffer = ring_size(wanted.send_buffer, memory.free);
  wanted.receive_buffer = ring_size(wanted.receive_buffer, memory.free);
  return wanted;
}

void TcpMemoryRefusals::refused(Endpoint remote) {
  refused_connections.increment();
  ++m_unreported;
  if (!m_report_limit.try_now()) return;
  auto memory = memory_stats();
  tcp_log.warn("refused a connection with {} for want of memory ({} KiB free of {} KiB); {} refused since the "
               "last report, {} in all",
               remote, memory.free / 1024, memory.total / 1024, m_unreported, refused_connections.value());
  m_unreported = 0;
}

} // namespace morgana::net
