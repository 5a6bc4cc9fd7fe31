#include "morgana/net/icmp.h"

#include "morgana/core/checksum.h"
#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/net/stack.h"

namespace morgana::net {
namespace {

log::Source icmp_log{"icmp"};

Counter malformed{"icmp.malformed", "ICMP messages shorter than their header"};
Counter bad_checksum{"icmp.bad_checksum", "ICMP messages whose checksum does not verify"};
Counter echo_requests{"icmp.echo_requests", "echo requests answered"};
Counter broadcast_echo{"icmp.broadcast_echo_ignored", "echo requests to a broadcast address, not answered"};
Counter other_messages{"icmp.other_messages", "ICMP messages other than echo request, not answered"};
Counter unreachable_sent{"icmp.port_unreachable_sent", "port unreachable messages sent"};
Counter rate_limited{"icmp.rate_limited", "ICMP errors not sent because of the rate limit"};
Counter send_errors{"icmp.send_errors", "ICMP messages that could not be sent"};

} // namespace

Result<IcmpHeader> IcmpHeader::parse(ByteReader& reader) {
  if (internet_checksum(reader.rest()) != 0 && reader.remaining() >= size) return fail(Errc::bad_checksum, "ICMP");
  IcmpHeader header;
  header.type = TRY(reader.u8());
  header.code = TRY(reader.u8());
  header.checksum = TRY(reader.u16());
  header.rest = TRY(reader.u32());
  return header;
}

void IcmpHeader::write(ByteWriter& writer) const {
  writer.u8(type);
  writer.u8(code);
  writer.u16(checksum);
  writer.u32(rest);
}

void Icmp::receive(const Ipv4Header& header, PacketBuffer packet) {
  ByteReader reader(packet.data());
  auto parsed = IcmpHeader::parse(reader);
  if (!parsed) {
    (parsed.error() == Errc::bad_checksum ? bad_checksum : malformed).increment();
    return;
  }
  if (parsed->type != IcmpHeader::echo_request || parsed->code != 0) {
    other_messages.increment();
    icmp_log.debug("type {} code {} from {}", parsed->type, parsed->code, header.source);
    return;
  }
  // RFC 1122 §3.2.2.6: echo requests to a broadcast address may be silently discarded.
  if (m_stack.ipv4().is_broadcast(header.destination)) {
    broadcast_echo.increment();
    return;
  }
  // The reply is the request with the type changed: rewrite it in place and
  // update the checksum incrementally (RFC 1624).
  auto message = packet.data();
  std::uint16_t old_word = load_be16(message.data());
  message[0] = std::byte{IcmpHeader::echo_reply};
  std::uint16_t new_word = load_be16(message.data());
  store_be16(message.data() + 2, checksum_update(parsed->checksum, old_word, new_word));
  // What the device said of the request is nothing it is to do for the reply.
  packet.offload() = {};
  if (!m_stack.ipv4().send(header.destination, header.source, ip_protocol::icmp, std::move(packet))) {
    send_errors.increment();
    return;
  }
  echo_requests.increment();
}

void Icmp::send_port_unreachable(const Ipv4Header& original, Bytes original_payload) {
  // RFC 1122 §3.2.2: never about broadcasts, multicasts, non-first fragments or
  // datagrams from an address that does not name one host.
  auto& ipv4 = m_stack.ipv4();
  if (ipv4.is_broadcast(original.destination) || original.fragment_offset != 0 || original.source.is_any() ||
      ipv4.is_broadcast(original.source))
    return;
  if (!m_error_limit.try_now()) {
    rate_limited.increment();
    return;
  }
  auto quoted = original_payload.first(std::min<std::size_t>(8, original_payload.size()));
  auto packet = PacketBuffer::create(IcmpHeader::size + Ipv4Header::minimum_size + quoted.size());
  if (!packet) {
    send_errors.increment();
    return;
  }
  ByteWriter writer(packet->data());
  IcmpHeader{IcmpHeader::destination_unreachable, IcmpHeader::port_unreachable_code, 0, 0}.write(writer);
  // The quoted header is rebuilt without options, so its length fields describe what follows it.
  Ipv4Header quoted_header = original;
  quoted_header.header_length = Ipv4Header::minimum_size;
  quoted_header.total_length = static_cast<std::uint16_t>(Ipv4Header::minimum_size + original_payload.size());
  quoted_header.write(writer);
  writer.bytes(quoted);
  if (!writer.finish()) {
    send_errors.increment();
    return;
  }
  store_be16(packet->data().data() + 2, internet_checksum(packet->data()));
  if (!m_stack.ipv4().send(original.destination, original.source, ip_protocol::icmp, std::move(*packet))) {
    send_errors.increment();
    return;
  }
  unreachable_sent.increment();
}

} // namespace morgana::net
