// The PVH target's part of the boot layer: stores are crunched in, and the
// network is always Morgana's stack on a device.

#include "morgana/app/target.h"

namespace morgana::boot::target {

Result<void> prepare(FormatSink&) { return {}; }

Result<std::unique_ptr<net::Network>> host_network(std::span<const net::Ipv4Address>) {
  return fail(Errc::unsupported, "a PVH image has no host sockets");
}

std::string_view store_hint() { return ""; }

} // namespace morgana::boot::target
