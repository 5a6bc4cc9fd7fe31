#pragma once

// How much memory a TCP connection may take. Each connection has a send and a
// receive ring; their sizes are chosen when the connection is made, from the
// free memory the platform reports, so that a guest with little memory serves
// many small connections instead of refusing all but a few large ones.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "morgana/core/memory.h"
#include "morgana/core/rate_limiter.h"
#include "morgana/core/time.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/tcp_options.h"

namespace morgana::net {

// The smallest ring a connection gets unless its options ask for less: it
// still holds Linux's initial window of ten full segments (RFC 6928).
inline constexpr std::size_t tcp_minimum_buffer = 16 * 1024;
// Free memory a new connection leaves for everything else (packets, reassembly).
inline constexpr std::size_t tcp_memory_reserve = 64 * 1024;

// `wanted` with its rings sized for `memory`: each ring as asked, halved while
// it is above 1/16 of the free memory, down to tcp_minimum_buffer. nullopt when
// the free memory cannot hold the smallest rings and the reserve.
[[nodiscard]] std::optional<TcpConnectionOptions> size_for_memory(TcpConnectionOptions wanted, MemoryStats memory);

// Connections refused for want of memory: counted (tcp.no_memory_connections)
// and logged at warning level, at most once a second, with how many were
// refused since the last line.
class TcpMemoryRefusals {
public:
  void refused(Endpoint remote);

private:
  RateLimiter m_report_limit{std::chrono::seconds(1)};
  std::uint64_t m_unreported = 0;
};

} // namespace morgana::net
