#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "morgana/core/event_loop.h"
#include "morgana/core/task.h"
#include "morgana/net/network.h"
#include "morgana/net/tcp_connection.h"

namespace morgana::net {

class Tcp;

// What a listener lets a new connection attempt become.
enum class TcpAdmission : std::uint8_t {
  connection, // a connection with state
  syn_cookie, // only a stateless SYN-ACK (RFC 4987 §3.6): the half-open backlog is full
  full,       // nothing: the connection limit or the accept queue is reached; the client retries
};

// A listening port. Beyond the backlog of half-open connections, SYNs are
// answered with SYN cookies and no state, so a SYN flood cannot exhaust memory
// nor lock out real clients.
class TcpListener final : public Listener {
public:
  TcpListener(Tcp& tcp, std::uint16_t port, TcpListenOptions options) : m_tcp(tcp), m_port(port), m_options(options) {}
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener() override;

  // The next established connection.
  [[nodiscard]] Task<Result<std::unique_ptr<Stream>>> accept(Instant deadline = far_future) override;
  [[nodiscard]] std::uint16_t port() const override { return m_port; }
  [[nodiscard]] std::size_t half_open() const { return m_half_open.size(); }

  // For Tcp: whether a SYN, or the ACK that returns a SYN cookie, may make a
  // connection now (the memory a connection needs is Tcp's to check).
  [[nodiscard]] TcpAdmission admission() const;
  [[nodiscard]] const TcpConnectionOptions& connection_options() const { return m_options.connection; }
  // For the listener's connections: a SYN made one (SYN-RECEIVED); it reached
  // ESTABLISHED and waits for accept(); it closed or went to TIME-WAIT.
  void on_syn_received(TcpConnection* connection);
  void on_established(TcpConnection* connection);
  void on_closed(TcpConnection* connection);

private:
  Tcp& m_tcp;
  std::uint16_t m_port;
  TcpListenOptions m_options;
  std::deque<TcpConnection*> m_half_open;
  std::deque<TcpConnection*> m_ready;
  std::size_t m_established = 0;
  WaitQueue m_acceptors;
};

} // namespace morgana::net
