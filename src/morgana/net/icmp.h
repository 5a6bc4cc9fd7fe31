#pragma once

#include <cstdint>

#include "morgana/core/packet.h"
#include "morgana/core/rate_limiter.h"
#include "morgana/net/ipv4_header.h"

namespace morgana::net {

class Stack;

// The ICMPv4 header (RFC 792) and the rest-of-header word.
struct IcmpHeader {
  static constexpr std::size_t size = 8;
  static constexpr std::uint8_t echo_reply = 0;
  static constexpr std::uint8_t destination_unreachable = 3;
  static constexpr std::uint8_t echo_request = 8;
  static constexpr std::uint8_t time_exceeded = 11;
  static constexpr std::uint8_t port_unreachable_code = 3;

  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint16_t checksum = 0;
  std::uint32_t rest = 0; // identifier and sequence for echo

  // Also verifies the checksum over the whole message.
  [[nodiscard]] static Result<IcmpHeader> parse(ByteReader& reader);
  void write(ByteWriter& writer) const;
};

class Icmp {
public:
  explicit Icmp(Stack& stack) : m_stack(stack) {}

  // A whole ICMP message addressed to us (not fragments other than whole datagrams).
  void receive(const Ipv4Header& header, PacketBuffer packet);
  // Port unreachable for a UDP datagram nobody listens to: carries the
  // original header and the first 8 bytes of its payload (RFC 792). Not sent
  // for broadcasts, multicasts or non-first fragments (RFC 1122 §3.2.2).
  void send_port_unreachable(const Ipv4Header& original, Bytes original_payload);

private:
  Stack& m_stack;
  // At most this many error messages per second (RFC 1812 §4.3.2.8 asks for a limit).
  static constexpr std::size_t errors_per_second = 100;
  RateLimiter m_error_limit{std::chrono::seconds(1), errors_per_second};
};

} // namespace morgana::net
