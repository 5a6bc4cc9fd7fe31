#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "morgana/core/event_loop.h"
#include "morgana/core/packet.h"
#include "morgana/core/task.h"
#include "morgana/net/ipv4_header.h"
#include "morgana/net/network.h"
#include "morgana/net/tcp_connection.h"
#include "morgana/net/tcp_memory.h"

namespace morgana::net {

class Stack;
class Tcp;

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
    return m_connection->write(data, deadline);
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

private:
  friend class Tcp;
  friend class TcpConnection;
  void on_established(TcpConnection* connection);
  void on_closed(TcpConnection* connection);

  Tcp& m_tcp;
  std::uint16_t m_port;
  TcpListenOptions m_options;
  std::deque<TcpConnection*> m_half_open;
  std::deque<TcpConnection*> m_ready;
  std::size_t m_established = 0;
  WaitQueue m_acceptors;
};

// The TCP layer: demultiplexes segments to connections and listeners, answers
// segments for nothing with RST (RFC 9293 §3.10.7.1), picks initial sequence
// numbers (RFC 6528) and ephemeral ports, and frees finished connections.
class Tcp {
public:
  Tcp(Stack& stack, TcpConfig config);
  ~Tcp();

  [[nodiscard]] Result<std::unique_ptr<TcpListener>> listen(std::uint16_t port, TcpListenOptions options = {});
  // Active open; Errc::timed_out at the deadline, Errc::closed when refused (RST).
  [[nodiscard]] Task<Result<std::unique_ptr<TcpStream>>> connect(Endpoint remote, Instant deadline,
                                                                 TcpConnectionOptions options = {});

  void receive(const Ipv4Header& header, PacketBuffer packet);
  // Connections in any state but closed (TIME-WAIT included).
  [[nodiscard]] std::size_t connection_count() const { return m_connections.size(); }
  [[nodiscard]] std::size_t count_in_state(TcpState state) const;
  // Bytes the send and receive rings of all connections hold.
  [[nodiscard]] std::size_t buffer_bytes() const;

  Stack& stack() { return m_stack; }
  [[nodiscard]] Duration time_wait() const;
  [[nodiscard]] std::uint16_t mss_for_mtu() const;

  // For connections: send a built segment (the checksum is filled in here), a
  // header alone, or the RST that answers `header` (RFC 9293 §3.10.7.1).
  void transmit_packet(Endpoint local, Endpoint remote, PacketBuffer segment);
  void transmit_header(Endpoint local, Endpoint remote, const TcpHeader& header);
  void send_reset(Endpoint local, Endpoint remote, const TcpHeader& header, std::size_t length);
  // Takes a closed connection out of the table; frees it once the application let go.
  void remove(TcpConnection* connection);
  // Counts and logs (rate-limited) a connection refused for want of memory.
  void refuse_for_memory(Endpoint remote) { m_memory_refusals.refused(remote); }
  [[nodiscard]] SequenceNumber initial_sequence(Endpoint local, Endpoint remote);

private:
  static std::uint64_t key(std::uint16_t local_port, Endpoint remote);
  TcpConnection* find(std::uint16_t local_port, Endpoint remote) const;
  TcpListener* find_listener(std::uint16_t port) const;
  // `previous` is the connection in TIME-WAIT the SYN replaces (RFC 6191), if any.
  void accept_syn(TcpListener& listener, Endpoint local, Endpoint remote, const TcpHeader& syn,
                  TcpConnection* previous = nullptr);
  // Whether a SYN in TIME-WAIT opened a new connection (else it goes to the old one).
  [[nodiscard]] bool reopen_time_wait(TcpConnection& previous, Endpoint local, Endpoint remote, const TcpHeader& syn);
  void send_cookie(Endpoint local, Endpoint remote, const TcpHeader& syn);
  // Whether `ack` carried a valid SYN cookie (a connection is then made from it).
  [[nodiscard]] bool accept_cookie(TcpListener& listener, Endpoint local, Endpoint remote, const TcpHeader& ack,
                                   Bytes payload);
  [[nodiscard]] std::uint32_t cookie_hash(Endpoint local, Endpoint remote, std::uint32_t period,
                                          SequenceNumber client_isn) const;
  [[nodiscard]] std::uint32_t cookie_period() const;
  [[nodiscard]] std::vector<TcpConnection*> listener_connections(const TcpListener* listener) const;
  Task<void> reap();
  [[nodiscard]] Result<std::uint16_t> ephemeral_port(Endpoint remote);

  friend class TcpListener;
  Stack& m_stack;
  TcpConfig m_config;
  std::unordered_map<std::uint64_t, TcpConnection*> m_connections;
  std::vector<std::unique_ptr<TcpConnection>> m_owned; // every connection not yet freed
  std::vector<TcpListener*> m_listeners;
  std::uint32_t m_isn_key[8] = {};
  std::uint16_t m_next_ephemeral = 49152;
  WaitQueue m_reap_wake;
  Task<void> m_reaper;
  TcpMemoryRefusals m_memory_refusals;
};

} // namespace morgana::net
