#pragma once

#include <memory>

#include "morgana/net/network.h"

namespace morgana::platform::hosted {

// The Network interface over the host kernel's sockets (--net=socket): TCP
// and UDP through the host's own stack, so applications run unprivileged.
[[nodiscard]] Result<std::unique_ptr<net::Network>> open_socket_network();

} // namespace morgana::platform::hosted
