// Echo: the classic test services over UDP and TCP.
//   UDP and TCP port 7: echo (RFC 862); TCP port 9: discard (RFC 863);
//   TCP port 19: a source of bytes (like chargen, RFC 864) until the client closes.
//
//   echo --net=tap0 --ipv4=10.0.0.2/24          static address
//   echo --net=tap0 --resolve=example.test       address by DHCP, then resolve a name
//   echo --net=socket --echo-port=7007           over the host's sockets, no root needed

#include <array>
#include <cstring>

#include "morgana/core/args.h"
#include "morgana/core/boot.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"

namespace {

using namespace morgana;

args::Option<std::uint16_t> echo_port_arg{"echo-port", "UDP and TCP port of the echo service", 7};
args::Option<std::uint16_t> discard_port_arg{"discard-port", "TCP port of the discard service", 9};
args::Option<std::uint16_t> source_port_arg{"source-port", "TCP port of the byte source", 19};

args::Option<std::optional<std::string_view>> resolve_arg{"resolve", "a host name to resolve once the network is up",
                                                          std::nullopt};

log::Source echo_log{"echo"};

Task<void> resolve_once(net::Network& network, std::string_view name) {
  net::DnsResolver resolver(network);
  auto addresses = co_await resolver.resolve(name, MonotonicClock::now() + std::chrono::seconds(30));
  if (!addresses) {
    echo_log.error("cannot resolve {}: {}", name, addresses.error());
    co_return;
  }
  for (auto address : *addresses) echo_log.info("resolved {} to {}", name, address);
}

Task<void> serve_udp_echo(std::unique_ptr<net::DatagramSocket> socket) {
  while (true) {
    auto datagram = co_await socket->receive_from();
    if (!datagram) {
      echo_log.error("UDP receive failed: {}", datagram.error());
      co_return;
    }
    if (auto sent = socket->send_to(datagram->source, datagram->payload.data()); !sent)
      echo_log.warn("UDP reply to {} failed: {}", datagram->source, sent.error());
  }
}

Task<void> tcp_echo(std::unique_ptr<net::Stream> stream) {
  std::array<std::byte, 16384> buffer;
  while (true) {
    auto count = co_await stream->read(buffer);
    if (!count || *count == 0) break;
    if (!co_await stream->write(std::span(buffer).first(*count))) break;
  }
  (void)stream->shutdown();
}

Task<void> tcp_discard(std::unique_ptr<net::Stream> stream) {
  std::array<std::byte, 16384> buffer;
  while (true) {
    auto count = co_await stream->read(buffer);
    if (!count || *count == 0) break;
  }
  (void)stream->shutdown();
}

Task<void> tcp_source(std::unique_ptr<net::Stream> stream) {
  std::array<std::byte, 16384> buffer;
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = std::byte(' ' + i % 95);
  while (co_await stream->write(buffer)) {}
}

Task<void> serve_tcp(std::unique_ptr<net::Listener> listener, Task<void> (*handler)(std::unique_ptr<net::Stream>)) {
  while (true) {
    auto stream = co_await listener->accept();
    if (!stream) {
      echo_log.error("accept on port {} failed: {}", listener->port(), stream.error());
      co_return;
    }
    loop().spawn(handler(std::move(*stream)));
  }
}

} // namespace

morgana::Task<int> morgana::app_main() {
  auto network = co_await net::open_network();
  if (!network) {
    echo_log.error("no network: {}", network.error());
    co_return 1;
  }
  auto udp = (*network)->udp_bind(echo_port_arg.value());
  auto echo = (*network)->tcp_listen(echo_port_arg.value());
  auto discard = (*network)->tcp_listen(discard_port_arg.value());
  auto source = (*network)->tcp_listen(source_port_arg.value());
  for (auto* failed : {udp ? nullptr : &udp.error(), echo ? nullptr : &echo.error(),
                       discard ? nullptr : &discard.error(), source ? nullptr : &source.error()}) {
    if (failed) {
      echo_log.error("cannot open a port: {}", *failed);
      co_return 1;
    }
  }
  loop().spawn(serve_udp_echo(std::move(*udp)));
  loop().spawn(serve_tcp(std::move(*echo), tcp_echo));
  loop().spawn(serve_tcp(std::move(*discard), tcp_discard));
  loop().spawn(serve_tcp(std::move(*source), tcp_source));
  echo_log.info("serving on {}: echo {} (UDP, TCP), discard {}, source {}", (*network)->address(),
                echo_port_arg.value(), discard_port_arg.value(), source_port_arg.value());
  if (resolve_arg.value()) loop().spawn(resolve_once(**network, *resolve_arg.value()));
  // Serve until stopped (a signal on hosted).
  WaitQueue forever;
  (void)co_await forever.wait();
  co_return 0;
}
