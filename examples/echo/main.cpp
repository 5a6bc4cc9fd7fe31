// Echo: answers UDP datagrams on port 7 with the same bytes (RFC 862).
//
//   echo --net=tap0 --ipv4=10.0.0.2/24          static address
//   echo --net=tap0 --resolve=example.test       DHCP, then resolve a name

#include "morgana/core/args.h"
#include "morgana/core/boot.h"
#include "morgana/core/log.h"
#include "morgana/net/stack.h"

namespace {

using namespace morgana;

args::Option<std::uint16_t> udp_port_arg{"udp-echo-port", "UDP port of the echo service", 7};

Task<void> serve_udp_echo(net::UdpSocket& socket) {
  while (true) {
    auto datagram = co_await socket.receive_from();
    if (!datagram) {
      log::main.error("echo: receive failed: {}", datagram.error());
      co_return;
    }
    if (auto sent = socket.send_to(datagram->source, datagram->payload.data()); !sent)
      log::main.warn("echo: reply to {} failed: {}", datagram->source, sent.error());
  }
}

} // namespace

morgana::Task<int> morgana::app_main() {
  auto stack = net::Stack::create(0);
  if (!stack) {
    log::main.error("echo: no network: {}", stack.error());
    co_return 1;
  }
  (*stack)->start();
  if (auto configured = co_await (*stack)->configure(); !configured) {
    log::main.error("echo: cannot configure the network: {}", configured.error());
    co_return 1;
  }
  auto socket = (*stack)->udp().bind(udp_port_arg.value());
  if (!socket) {
    log::main.error("echo: cannot bind UDP port {}: {}", udp_port_arg.value(), socket.error());
    co_return 1;
  }
  log::main.info("echo: serving UDP on {}:{}", (*stack)->config().address.address, udp_port_arg.value());
  co_await serve_udp_echo(**socket);
  co_return 1;
}
