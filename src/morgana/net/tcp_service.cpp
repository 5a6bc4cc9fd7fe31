#include "morgana/net/tcp_service.h"

#include <new>

#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"

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
  std::unique_ptr<TcpService> service(new (std::nothrow) TcpService(std::move(*listener), std::move(handler)));
  if (!service) return fail(Errc::no_memory, "TCP service");
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
    if (!stream) {
      service_log.error("accepting on TCP port {} failed: {}", m_listener->port(), stream.error());
      co_return;
    }
    loop().spawn(m_handler(std::move(*stream)));
  }
}

} // namespace morgana::net
