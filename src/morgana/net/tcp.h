#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "morgana/core/event_loop.h"
#include "morgana/core/packet.h"
#include "morgana/core/task.h"
#include "morgana/net/ipv4_header.h"
#include "morgana/net/network.h"
#include "morgana/net/tcp_connection.h"
#include "morgana/net/tcp_listener.h"
#include "morgana/net/tcp_memory.h"
#include "morgana/net/tcp_stream.h"

namespace morgana::net {

class Stack;

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
  // The most data one segment we build may carry: `send_mss`, or with TSO a
  // multiple of it up to 64 KiB, which the device cuts into `send_mss` pieces.
  [[nodiscard]] std::uint32_t max_send_payload(std::uint32_t send_mss) const;

  // For connections: send a built segment (the checksum is filled in here, or
  // left to the device; a segment longer than the MSS carries its
  // segment_size in its offload already), a
  // header alone, or the RST that answers `header` (RFC 9293 §3.10.7.1).
  void transmit_packet(Endpoint local, Endpoint remote, PacketBuffer segment);
  void transmit_header(Endpoint local, Endpoint remote, const TcpHeader& header);
  void send_reset(Endpoint local, Endpoint remote, const TcpHeader& header, std::size_t length);
  // Takes a closed connection out of the table; frees it once the application let go.
  void remove(TcpConnection* connection);
  // For a listener that goes: its connections live on without it.
  void remove_listener(TcpListener* listener);
  // Counts and logs (rate-limited) a connection refused for want of memory.
  void refuse_for_memory(Endpoint remote) { m_memory_refusals.refused(remote); }
  [[nodiscard]] SequenceNumber initial_sequence(Endpoint local, Endpoint remote);

private:
  static std::uint64_t key(std::uint16_t local_port, Endpoint remote);
  TcpConnection* find(std::uint16_t local_port, Endpoint remote) const;
  TcpListener* find_listener(std::uint16_t port) const;
  // Every connection is made here: its rings sized for the free memory, and
  // entered in the tables. nullptr (counted, logged) when memory is short.
  [[nodiscard]] TcpConnection* create_connection(Endpoint local, Endpoint remote, const TcpConnectionOptions& wanted);
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
  Task<void> reap();
  [[nodiscard]] Result<std::uint16_t> ephemeral_port(Endpoint remote);

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
