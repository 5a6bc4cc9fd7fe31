#include "morgana/net/udp.h"

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/core/random.h"
#include "morgana/net/stack.h"
#include "morgana/net/transport_checksum.h"

namespace morgana::net {
namespace {

log::Source udp_log{"udp"};

Counter received{"udp.received", "UDP datagrams delivered to a socket"};
Counter truncated{"udp.truncated", "UDP datagrams shorter than their header or length field"};
Counter malformed{"udp.malformed", "UDP datagrams with a length field below 8"};
Counter bad_checksum{"udp.bad_checksum", "UDP datagrams whose checksum does not verify"};
Counter no_listener{"udp.no_listener", "UDP datagrams to a port nobody listens on"};
Counter queue_full{"udp.queue_full", "UDP datagrams dropped because the socket's queue was full"};
Counter no_memory{"udp.no_memory", "UDP datagrams dropped for want of memory"};

constexpr std::uint16_t first_ephemeral = 49152;
constexpr std::size_t max_payload = 65535 - Ipv4Header::minimum_size - UdpHeader::size;

} // namespace

Result<UdpHeader> UdpHeader::parse(ByteReader& reader) {
  auto available = reader.remaining();
  UdpHeader header;
  header.source_port = TRY(reader.u16());
  header.destination_port = TRY(reader.u16());
  header.length = TRY(reader.u16());
  header.checksum = TRY(reader.u16());
  if (header.length < size) return fail(Errc::malformed, "UDP length below 8");
  if (header.length > available) return fail(Errc::truncated, "UDP length beyond the datagram");
  return header;
}

void UdpHeader::write(ByteWriter& writer) const {
  writer.u16(source_port);
  writer.u16(destination_port);
  writer.u16(length);
  writer.u16(checksum);
}

std::uint16_t udp_checksum(Ipv4Address source, Ipv4Address destination, Bytes header_and_payload) {
  return transport_checksum(source, destination, ip_protocol::udp, header_and_payload);
}

UdpSocket::~UdpSocket() {
  if (m_udp) m_udp->unbind(this);
}

Task<Result<Datagram>> UdpSocket::receive_from(Instant deadline) {
  while (m_queue.empty()) CO_TRY(co_await m_readers.wait(deadline));
  Datagram datagram = std::move(m_queue.front());
  m_queue.pop_front();
  co_return datagram;
}

Result<void> UdpSocket::send_to(Endpoint destination, Bytes payload) {
  if (!m_udp) return fail(Errc::closed, "the network stack is gone");
  return m_udp->send(m_udp->m_stack.config().address.address, m_port, destination, payload);
}

Result<void> UdpSocket::send_from(Ipv4Address source, Endpoint destination, Bytes payload) {
  if (!m_udp) return fail(Errc::closed, "the network stack is gone");
  return m_udp->send(source, m_port, destination, payload);
}

Udp::~Udp() {
  for (auto* socket = m_sockets; socket; socket = socket->m_next) {
    socket->m_udp = nullptr;
    socket->m_readers.notify_all(fail(Errc::closed));
  }
}

UdpSocket* Udp::find(std::uint16_t port) const {
  for (auto* socket = m_sockets; socket; socket = socket->m_next)
    if (socket->m_port == port) return socket;
  return nullptr;
}

Result<std::unique_ptr<UdpSocket>> Udp::bind(std::uint16_t port) {
  if (port == 0) {
    // RFC 6056 §3.3.1: start the search at a random port, so replies cannot be forged by guessing it.
    constexpr std::uint32_t range = 65536 - first_ephemeral;
    std::uint32_t start = random::u16().value_or(0) % range;
    for (std::uint32_t tries = 0; tries < range && !port; ++tries) {
      auto candidate = static_cast<std::uint16_t>(first_ephemeral + (start + tries) % range);
      if (!find(candidate)) port = candidate;
    }
    if (!port) return fail(Errc::limit_reached, "no free ephemeral UDP port");
  } else if (find(port)) {
    return fail(Errc::in_use, "UDP port already bound");
  }
  auto socket = TRY(try_make_unique<UdpSocket>("UDP socket", *this, port));
  socket->m_next = m_sockets;
  m_sockets = socket.get();
  return socket;
}

void Udp::unbind(UdpSocket* socket) {
  for (auto** link = &m_sockets; *link; link = &(*link)->m_next) {
    if (*link == socket) {
      *link = socket->m_next;
      return;
    }
  }
}

void Udp::receive(const Ipv4Header& header, PacketBuffer packet) {
  ByteReader reader(packet.data());
  auto parsed = UdpHeader::parse(reader);
  if (!parsed) {
    (parsed.error() == Errc::truncated ? truncated : malformed).increment();
    return;
  }
  MUST(packet.truncate(parsed->length));
  // A zero checksum means the sender computed none (RFC 768).
  if (parsed->checksum != 0 && !checked_by_device(packet) &&
      udp_checksum(header.source, header.destination, packet.data()) != 0) {
    bad_checksum.increment();
    return;
  }
  auto* socket = find(parsed->destination_port);
  if (!socket) {
    no_listener.increment();
    m_stack.icmp().send_port_unreachable(header, packet.data());
    return;
  }
  if (socket->m_queue.size() >= UdpSocket::max_queued) {
    queue_full.increment();
    return;
  }
  MUST(packet.trim_front(UdpHeader::size));
  socket->m_queue.push_back({{header.source, parsed->source_port}, header.destination, std::move(packet)});
  received.increment();
  socket->m_readers.notify_one();
}

Result<void> Udp::send(Ipv4Address source, std::uint16_t source_port, Endpoint destination, Bytes payload) {
  if (payload.size() > max_payload) return fail(Errc::no_space, "UDP payload above 65507 bytes");
  auto packet = PacketBuffer::create(UdpHeader::size + payload.size());
  if (!packet) {
    no_memory.increment();
    return std::unexpected(packet.error());
  }
  ByteWriter writer(packet->data());
  UdpHeader{source_port, destination.port, static_cast<std::uint16_t>(UdpHeader::size + payload.size()), 0}.write(
      writer);
  writer.bytes(payload);
  TRY(writer.finish());
  // A datagram IPv4 fragments is summed here: a device sees only fragments.
  bool offload = m_stack.offloads().tx_checksum && packet->size() + Ipv4Header::minimum_size <= m_stack.mtu();
  fill_transport_checksum(*packet, source, destination.address, ip_protocol::udp, UdpHeader::checksum_offset, offload);
  return m_stack.ipv4().send(source, destination.address, ip_protocol::udp, std::move(*packet));
}

} // namespace morgana::net
