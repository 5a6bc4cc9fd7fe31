// The hosted target's part of the boot layer: stores from directories named
// at boot, and the host's sockets as the network.

#include "morgana/app/target.h"

#include "morgana/core/args.h"
#include "morgana/kv/hosted/directory_store.h"
#include "morgana/net/hosted/socket_network.h"

namespace morgana::boot::target {
namespace {

args::Option<std::string_view> store_arg{
    "store",
    "read-only stores read from directories at boot, NAME=DIR[,NAME=DIR...], used instead of a store crunched in "
    "under that name",
    ""};
args::Option<net::Ipv4Address> socket_address_arg{
    "socket-address", "with --net=socket: the host address to bind listeners and UDP sockets to",
    net::Ipv4Address::any()};

} // namespace

Result<void> prepare(FormatSink& diagnostics) {
  if (store_arg.value().empty()) return {};
  return kv::register_directory_stores(store_arg.value(), diagnostics);
}

Result<std::unique_ptr<net::Network>> host_network(std::span<const net::Ipv4Address> dns_servers) {
  net::SocketNetworkConfig config;
  config.bind_address = socket_address_arg.value();
  config.dns_servers.assign(dns_servers.begin(), dns_servers.end());
  return net::open_socket_network(std::move(config));
}

std::string_view store_hint() { return " (or boot with --store=NAME=DIR)"; }

} // namespace morgana::boot::target
