#include "morgana/net/tcp_service.h"

#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"

namespace morgana::net {
namespace {

log::Source service_log{"service"};

} // namespace

Result<std::unique_ptr<TcpService>> TcpService::start(Network& network, std::uint16_t port, ConnectionHandler handler,
                                                      TcpListenOptions options) {
  auto listener = network.tcp_listen(port, options);
  if (!listener) {
    service_log.error("cannot listen on TCP port {}: {}", port, listener.error());
    return std::unexpected(listener.error());
  }
  auto service = TRY(try_make_unique<TcpService>("TCP service", std::move(*listener), std::move(handler)));
  service->m_accepting = service->accept_loop();
  service->m_accepting.start();
  return service;
}

TcpService::TcpService(std::unique_ptr<Listener> listener, ConnectionHandler handler)
    : m_listener(std::move(listener)), m_handler(std::move(handler)) {}

TcpService::~TcpService() = default;

Task<void> TcpService::accept_loop() {
  while (true) {
    auto stream = co_await m_listener->accept();
    if (!stream && stream.error() == Errc::no_memory) continue; // that connection was refused; go on
    if (!stream) {
      service_log.error("accepting on TCP port {} failed: {}", m_listener->port(), stream.error());
      co_return;
    }
    loop().spawn(m_handler(std::move(*stream)));
  }
}

} // namespace morgana::net
