#pragma once

// What differs between targets above the platform interface, for the boot
// layer: app/hosted/target.cpp and app/pvh/target.cpp define these.

#include <memory>
#include <span>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/network.h"

namespace morgana::boot::target {

// After the boot arguments are parsed, before devices start: stores read at
// boot (hosted --store=NAME=DIR). Errc::invalid_argument with a message in
// `diagnostics` naming the argument.
[[nodiscard]] Result<void> prepare(FormatSink& diagnostics);

// The host's own network (hosted --net=socket, platform::host_sockets()).
[[nodiscard]] Result<std::unique_ptr<net::Network>> host_network(std::span<const net::Ipv4Address> dns_servers);

// Besides ./morgana configure --crunch, how a store can be given on this
// target, for messages: "" or " (or boot with --store=NAME=DIR)".
[[nodiscard]] std::string_view store_hint();

} // namespace morgana::boot::target
