#pragma once

// Hosted target only: the Network interface over the host kernel's sockets
// (--net=socket), so applications run unprivileged, through the host's stack.

#include <memory>
#include <vector>

#include "morgana/net/ipv4_address.h"
#include "morgana/net/network.h"

namespace morgana::net {

struct SocketNetworkConfig {
  Ipv4Address bind_address = Ipv4Address::any(); // where listeners and UDP sockets bind
  std::vector<Ipv4Address> dns_servers;          // what dns_servers() reports
};

[[nodiscard]] Result<std::unique_ptr<Network>> open_socket_network(SocketNetworkConfig config);

} // namespace morgana::net
