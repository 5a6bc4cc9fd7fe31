// Echo: the classic test services over UDP and TCP (settings in morgana.toml).
//   UDP and TCP port 7: echo (RFC 862); TCP port 9: discard (RFC 863);
//   TCP port 19: a source of bytes (like chargen, RFC 864) until the client closes.
//
//   echo --net=tap0 --ipv4=10.0.0.2/24          static address
//   echo --net=tap0 --resolve=example.test       address by DHCP, then resolve a name
//   echo --net=socket --echo-port=7007           over the host's sockets, no root needed

#include <array>

#include "morgana/net/dns_resolver.h"
#include "morgana/net/tcp_service.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

Task<void> serve_udp_echo(std::unique_ptr<net::DatagramSocket> socket, const log::Source& log) {
  while (auto datagram = co_await socket->receive_from()) {
    if (auto sent = socket->send_to(datagram->source, datagram->payload.data()); !sent)
      log.warn("UDP reply to {} failed: {}", datagram->source, sent.error());
  }
}

// Reads until the peer closes; echoes what it read unless `echo` is false.
Task<void> read_all(std::unique_ptr<net::Stream> stream, bool echo) {
  std::array<std::byte, 16384> buffer;
  while (auto count = co_await stream->read(buffer)) {
    if (*count == 0 || (echo && !co_await stream->write(std::span(buffer).first(*count)))) break;
  }
  (void)stream->shutdown();
}

Task<void> tcp_source(std::unique_ptr<net::Stream> stream) {
  std::array<std::byte, 16384> buffer;
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = std::byte(' ' + i % 95);
  while (co_await stream->write(buffer)) {}
}

} // namespace

Task<Result<void>> app_main(::app::Context& context) {
  auto& settings = context.settings;
  auto& network = *CO_TRY(co_await context.network());
  auto udp = CO_TRY(network.udp_bind(settings.echo_port));
  auto echo = CO_TRY(net::TcpService::start(network, settings.echo_port, [](auto s) { return read_all(std::move(s), true); }));
  auto discard = CO_TRY(net::TcpService::start(network, settings.discard_port, [](auto s) { return read_all(std::move(s), false); }));
  auto source = CO_TRY(net::TcpService::start(network, settings.source_port, tcp_source));
  context.log().info("serving on {}: echo {} (UDP, TCP), discard {}, source {}", network.address(), settings.echo_port,
                     settings.discard_port, settings.source_port);
  auto udp_echo = serve_udp_echo(std::move(udp), context.log());
  udp_echo.start();
  if (settings.resolve) {
    net::DnsResolver resolver(network);
    auto addresses = co_await resolver.resolve(*settings.resolve, MonotonicClock::now() + std::chrono::seconds(30));
    if (!addresses) context.log().error("cannot resolve {}: {}", *settings.resolve, addresses.error());
    else for (auto address : *addresses) context.log().info("resolved {} to {}", *settings.resolve, address);
  }
  co_await context.stopped();
  co_return Result<void>{};
}
