#pragma once

#include <memory>
#include <optional>

#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/net/network.h"
#include "morgana/net/tcp_connection.h"

namespace morgana::net {

// An application's handle on one connection. Destroying it closes the
// connection gracefully (or resets it when unread data remains); the
// connection finishes its shutdown on its own.
class TcpStream final : public Stream {
public:
  explicit TcpStream(TcpConnection& connection) : m_connection(&connection) {}
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream() override;

  [[nodiscard]] Task<Result<std::size_t>> read(MutableBytes out, Instant deadline = far_future) override {
    return m_connection->read(out, deadline);
  }
  [[nodiscard]] Task<Result<void>> write(Bytes data, Instant deadline = far_future) override {
    return m_connection->write(data, {}, deadline);
  }
  // `body` stays referenced in the send queue until acknowledged: never copied but into frames.
  [[nodiscard]] Task<Result<void>> write_shared(Bytes head, SharedBytes body, Instant deadline = far_future) override {
    return m_connection->write(head, std::move(body), deadline);
  }
  // The FIN goes on the last segment of the data.
  [[nodiscard]] Task<Result<void>> write_last(Bytes head, SharedBytes body, Instant deadline = far_future) override {
    return m_connection->write(head, std::move(body), deadline, WriteEnd::fin);
  }
  // FIN follows the queued data.
  [[nodiscard]] Result<void> shutdown() override { return m_connection->shutdown(); }
  void abort() override { m_connection->abort(); }

  void set_nodelay(bool nodelay) override { m_connection->set_nodelay(nodelay); }
  void set_keepalive(std::optional<Duration> idle) override { m_connection->set_keepalive(idle); }
  [[nodiscard]] Endpoint local() const override { return m_connection->local(); }
  [[nodiscard]] Endpoint remote() const override { return m_connection->remote(); }
  [[nodiscard]] TcpState state() const { return m_connection->state(); }
  [[nodiscard]] TcpStats stats() const { return m_connection->stats(); }

private:
  TcpConnection* m_connection;
};

} // namespace morgana::net
