#pragma once

// A plain TCP service: listens on a port and runs a handler coroutine for
// each accepted connection, as inetd would. The echo example is three of them.
//
//   auto echo = TRY(net::TcpService::start(network, 7, echo_connection));

#include <cstdint>
#include <functional>
#include <memory>

#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/net/network.h"

namespace morgana::net {

// Serves one connection; runs on a coroutine of its own, which owns the stream.
using ConnectionHandler = std::function<Task<void>(std::unique_ptr<Stream>)>;

class TcpService {
public:
  // Listens on `port` (Errc::in_use and the like when it cannot) and accepts
  // until the service is destroyed or accepting fails (logged).
  [[nodiscard]] static Result<std::unique_ptr<TcpService>>
  start(Network& network, std::uint16_t port, ConnectionHandler handler, TcpListenOptions options = {});
  TcpService(const TcpService&) = delete;
  TcpService& operator=(const TcpService&) = delete;
  ~TcpService();

  [[nodiscard]] std::uint16_t port() const { return m_listener->port(); }

private:
  friend struct morgana::NothrowNew;
  TcpService(std::unique_ptr<Listener> listener, ConnectionHandler handler);
  Task<void> accept_loop();

  std::unique_ptr<Listener> m_listener;
  ConnectionHandler m_handler;
  Task<void> m_accepting; // last: destroyed first, while the listener is still there
};

} // namespace morgana::net
