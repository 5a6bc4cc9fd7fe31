// Echo: the classic test services (settings in morgana.toml): UDP and TCP port 7
// echo (RFC 862), TCP port 9 discard (RFC 863), TCP port 19 a byte source (RFC 864).
//   echo --net=socket --echo-port=7007 (host sockets, no root); --resolve=NAME: DNS once up

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

// Reads until the peer closes; echoes what it read unless `Echo` is false.
template <bool Echo>
Task<void> read_all(std::unique_ptr<net::Stream> stream) {
  std::array<std::byte, 16384> buffer;
  while (auto count = co_await stream->read(buffer)) {
    if (*count == 0 || (Echo && !co_await stream->write(std::span(buffer).first(*count)))) break;
  }
  (void)stream->shutdown();
}

Task<void> tcp_source(std::unique_ptr<net::Stream> stream) {
  std::array<std::byte, 16384> buffer;
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = std::byte(' ' + i % 95);
  while (co_await stream->write(buffer)) {}
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  auto& settings = context.settings;
  auto& network = *CO_TRY(co_await context.network());
  auto echo = CO_TRY(net::TcpService::start(network, settings.echo_port, read_all<true>));
  auto discard = CO_TRY(net::TcpService::start(network, settings.discard_port, read_all<false>));
  auto source = CO_TRY(net::TcpService::start(network, settings.source_port, tcp_source));
  auto udp_echo = serve_udp_echo(CO_TRY(network.udp_bind(settings.echo_port)), context.log());
  udp_echo.start();
  context.log().info("serving on {}: echo {} (UDP, TCP), discard {}, source {}", network.address(), settings.echo_port,
                     settings.discard_port, settings.source_port);
  if (auto name = settings.resolve) {
    auto addresses =
        co_await net::DnsResolver(network).resolve(*name, MonotonicClock::now() + std::chrono::seconds(30));
    if (!addresses) context.log().error("cannot resolve {}: {}", *name, addresses.error());
    for (auto address : addresses.value_or(std::vector<net::Ipv4Address>{}))
      context.log().info("resolved {} to {}", *name, address);
  }
  co_await context.stopped();
  co_return Result<void>{};
}
