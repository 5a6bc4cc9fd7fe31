#pragma once

// Two connected in-memory net::Streams for unit tests of the layers above TCP
// (HTTP, TLS): what one side writes, the other reads. Each direction holds at
// most `capacity` bytes, so writers see backpressure as over TCP. Either end
// may be destroyed first; the other then reads the end of the stream (or
// Errc::closed after an abort) and its writes fail with Errc::closed.

#include <cstddef>
#include <memory>
#include <utility>

#include "morgana/net/network.h"

namespace morgana::test {

struct StreamPair {
  std::unique_ptr<net::Stream> client;
  std::unique_ptr<net::Stream> server;
};

// `capacity`: bytes buffered per direction. The endpoints are 192.0.2.1:49152
// (client) and 192.0.2.2:80 (server) unless given.
StreamPair make_stream_pair(std::size_t capacity = 64 * 1024,
                            net::Endpoint client_end = {net::Ipv4Address::from_octets(192, 0, 2, 1), 49152},
                            net::Endpoint server_end = {net::Ipv4Address::from_octets(192, 0, 2, 2), 80});

} // namespace morgana::test
