#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "morgana/core/event_loop.h"
#include "morgana/core/packet.h"
#include "morgana/core/task.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/ipv4_header.h"
#include "morgana/net/network.h"

namespace morgana::net {

class Stack;
class Udp;

// The UDP header (RFC 768).
struct UdpHeader {
  static constexpr std::size_t size = 8;
  static constexpr std::size_t checksum_offset = 6;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint16_t length = 0;
  std::uint16_t checksum = 0;

  // Checks the length field against the available bytes (RFC 768); the
  // checksum is verified separately because it covers the pseudo-header.
  [[nodiscard]] static Result<UdpHeader> parse(ByteReader& reader);
  void write(ByteWriter& writer) const;
};

// The UDP checksum over pseudo-header, header and payload (RFC 768), with the
// checksum field itself taken as zero.
[[nodiscard]] std::uint16_t udp_checksum(Ipv4Address source, Ipv4Address destination, Bytes header_and_payload);

// A bound UDP port. Received datagrams queue (up to a bound; beyond it they are
// counted and dropped) until receive_from takes them.
class UdpSocket final : public DatagramSocket {
public:
  static constexpr std::size_t max_queued = 128;

  UdpSocket(Udp& udp, std::uint16_t port) : m_udp(&udp), m_port(port) {}
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket() override;

  [[nodiscard]] std::uint16_t local_port() const override { return m_port; }
  [[nodiscard]] Task<Result<Datagram>> receive_from(Instant deadline = far_future) override;
  // Sends from our configured address.
  [[nodiscard]] Result<void> send_to(Endpoint destination, Bytes payload) override;
  // Sends with an explicit source address (DHCP sends from 0.0.0.0).
  [[nodiscard]] Result<void> send_from(Ipv4Address source, Endpoint destination, Bytes payload);

private:
  friend class Udp;
  Udp* m_udp; // null once the stack is gone: sends fail with Errc::closed
  std::uint16_t m_port;
  std::deque<Datagram> m_queue;
  WaitQueue m_readers;
  UdpSocket* m_next = nullptr;
};

class Udp {
public:
  explicit Udp(Stack& stack) : m_stack(stack) {}
  Udp(const Udp&) = delete;
  Udp& operator=(const Udp&) = delete;
  // Detaches sockets that outlive the stack; their waiting readers get Errc::closed.
  ~Udp();

  // Binds `port` (0 picks a free ephemeral port at random). Errc::in_use when taken.
  [[nodiscard]] Result<std::unique_ptr<UdpSocket>> bind(std::uint16_t port);
  // From IPv4: one whole (reassembled) datagram's payload.
  void receive(const Ipv4Header& header, PacketBuffer packet);
  [[nodiscard]] Result<void> send(Ipv4Address source, std::uint16_t source_port, Endpoint destination, Bytes payload);

private:
  friend class UdpSocket;
  UdpSocket* find(std::uint16_t port) const;
  void unbind(UdpSocket* socket);

  Stack& m_stack;
  UdpSocket* m_sockets = nullptr;
};

} // namespace morgana::net
