#pragma once

#include <cstddef>
#include <optional>

#include "morgana/core/time.h"

namespace morgana::net {

struct TcpConnectionOptions {
  std::size_t send_buffer = 256 * 1024;
  std::size_t receive_buffer = 256 * 1024;
  bool nodelay = false;              // Nagle's algorithm off (RFC 9293 §3.7.4)
  std::optional<Duration> keepalive; // idle time before keep-alive probes (RFC 1122 §4.2.3.6)
};

struct TcpListenOptions {
  std::size_t backlog = 128;          // half-open (SYN-RECEIVED) plus not yet accepted
  std::size_t max_connections = 4096; // established connections from this listener
  TcpConnectionOptions connection;
};

// Settings of one stack's TCP.
struct TcpConfig {
  Duration msl = std::chrono::seconds(30); // maximum segment lifetime; TIME-WAIT lasts twice this
};

} // namespace morgana::net
