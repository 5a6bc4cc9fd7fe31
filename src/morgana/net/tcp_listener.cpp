#include "morgana/net/tcp_listener.h"

#include <algorithm>
#include <new>

#include "morgana/net/tcp.h"
#include "morgana/net/tcp_stream.h"

namespace morgana::net {

TcpListener::~TcpListener() {
  // Connections nobody accepted go; accepted ones live on without us.
  while (!m_half_open.empty()) m_half_open.front()->abort();
  while (!m_ready.empty()) m_ready.front()->abort();
  m_tcp.remove_listener(this);
}

Task<Result<std::unique_ptr<Stream>>> TcpListener::accept(Instant deadline) {
  while (m_ready.empty()) CO_TRY(co_await m_acceptors.wait(deadline));
  auto* connection = m_ready.front();
  m_ready.pop_front();
  auto stream = try_make_unique<TcpStream>("TCP stream", *connection);
  if (!stream) {
    // The listener goes on; this connection is refused (DESIGN-memory.md).
    connection->abort();
    co_return std::unexpected(stream.error());
  }
  connection->on_accepted();
  co_return std::unique_ptr<Stream>(std::move(*stream));
}

TcpAdmission TcpListener::admission() const {
  // Nobody accepts: let the client retry later.
  if (m_established >= m_options.max_connections || m_ready.size() >= m_options.backlog) return TcpAdmission::full;
  // Backlog full (a SYN flood, or a burst): answer without keeping state; the
  // client's ACK brings the connection back.
  if (m_half_open.size() + m_ready.size() >= m_options.backlog) return TcpAdmission::syn_cookie;
  return TcpAdmission::connection;
}

void TcpListener::on_syn_received(TcpConnection* connection) { m_half_open.push_back(connection); }

void TcpListener::on_established(TcpConnection* connection) {
  std::erase(m_half_open, connection);
  m_ready.push_back(connection);
  ++m_established;
  m_acceptors.notify_one();
}

void TcpListener::on_closed(TcpConnection* connection) {
  if (std::erase(m_half_open, connection)) return;
  std::erase(m_ready, connection);
  --m_established;
}

} // namespace morgana::net
