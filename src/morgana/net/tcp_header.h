#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/tcp_sequence.h"

namespace morgana::net {

// Control bits, as they sit in the header's flags byte (RFC 9293 §3.1).
namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
inline constexpr std::uint8_t ece = 0x40; // RFC 3168 §6.1
inline constexpr std::uint8_t cwr = 0x80; // RFC 3168 §6.1
} // namespace tcp_flag

// Option kinds this header reads and writes (RFC 9293 §3.2 and the RFCs named).
namespace tcp_option {
inline constexpr std::uint8_t end_of_option_list = 0;   // RFC 9293 §3.2
inline constexpr std::uint8_t no_operation = 1;         // RFC 9293 §3.2
inline constexpr std::uint8_t maximum_segment_size = 2; // RFC 9293 §3.2, length 4
inline constexpr std::uint8_t window_scale = 3;         // RFC 7323 §2.2, length 3
inline constexpr std::uint8_t sack_permitted = 4;       // RFC 2018 §2, length 2
inline constexpr std::uint8_t sack = 5;                 // RFC 2018 §3, length 2 + 8n
inline constexpr std::uint8_t timestamps = 8;           // RFC 7323 §3.2, length 10
} // namespace tcp_option

// TSval and TSecr (RFC 7323 §3.2).
struct TcpTimestamps {
  std::uint32_t value = 0;
  std::uint32_t echo_reply = 0;
  friend constexpr bool operator==(const TcpTimestamps&, const TcpTimestamps&) = default;
};

// One SACK block: the data from left up to, not including, right (RFC 2018 §3).
struct SackBlock {
  SequenceNumber left;
  SequenceNumber right;
  friend constexpr bool operator==(const SackBlock&, const SackBlock&) = default;
};

// The TCP header (RFC 9293 §3.1) as host-order values, with the options the
// stack uses. Options say what the segment carried; whether an option may
// appear in this kind of segment (MSS and window scale only with SYN) is for
// the connection to decide.
struct TcpHeader {
  static constexpr std::size_t minimum_size = 20;
  static constexpr std::size_t maximum_size = 60;
  static constexpr std::size_t maximum_options_size = maximum_size - minimum_size;
  static constexpr std::size_t checksum_offset = 16;
  // RFC 7323 §2.3: a larger shift count is taken as 14.
  static constexpr std::uint8_t maximum_window_scale = 14;
  // 2 + 8 * 5 exceeds the option space (RFC 2018 §3).
  static constexpr std::size_t maximum_sack_blocks = 4;

  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  SequenceNumber sequence;
  SequenceNumber acknowledgment;
  std::uint8_t data_offset = minimum_size; // bytes (the field * 4), as parsed; write() computes its own
  std::uint8_t flags = 0;                  // tcp_flag bits; the reserved bits are ignored and written as 0
  std::uint16_t window = 0;                // as on the wire, before any window scaling
  std::uint16_t checksum = 0;
  std::uint16_t urgent_pointer = 0;

  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale; // shift count, at most maximum_window_scale when parsed
  bool sack_permitted = false;
  std::optional<TcpTimestamps> timestamps;
  std::array<SackBlock, maximum_sack_blocks> sack_blocks{}; // the first sack_block_count are used
  std::uint8_t sack_block_count = 0;

  // Whether every bit of `mask` (tcp_flag bits) is set.
  [[nodiscard]] constexpr bool has(std::uint8_t mask) const { return (flags & mask) == mask; }
  [[nodiscard]] std::span<const SackBlock> sack() const {
    return std::span(sack_blocks).first(std::min<std::size_t>(sack_block_count, maximum_sack_blocks));
  }

  // Parses the header and its options and leaves the reader at the payload
  // (unmoved on failure). Errc::truncated when the bytes end before 20 or
  // before the data offset; Errc::malformed for a data offset below 20 or an
  // option list that cannot be walked: a kind without its length byte, a length
  // below 2, or an option running past the data offset (RFC 9293 §3.1, MUST-7).
  // The context says which. A known option whose length its definition forbids
  // is skipped like an unknown one (as Linux and FreeBSD do): the list stays
  // walkable and the remaining options are still good. The checksum is not
  // verified here: that needs the pseudo-header (tcp_checksum).
  [[nodiscard]] static Result<TcpHeader> parse(ByteReader& reader);

  // Writes the header and the options present, with data offset 20 +
  // options_length() and the checksum field as given (zero it, then patch in
  // tcp_checksum at checksum_offset). Each option is placed as Linux places
  // it, aligned to 4 bytes by NOPs; when that layout does not fit in 40 bytes
  // the options are written packed and NOP-padded at the end instead, so any
  // parsed header can be written back. SACK blocks that fit in neither layout
  // are left out, last first (RFC 2018 §4: the first block is the most
  // recent). Overflow is left to the writer's finish().
  void write(ByteWriter& writer) const;

  // The bytes of options write() emits, padding included: a multiple of 4, at most 40.
  [[nodiscard]] std::size_t options_length() const;
  [[nodiscard]] std::size_t header_length() const { return minimum_size + options_length(); }

  // For logs, after tcpdump: "35768 > 5001 [S.] seq=1 ack=2 win=65160 mss=1460 ...".
  void format(FormatSink& sink) const;
};

// The TCP checksum over the pseudo-header and the whole segment (RFC 9293 §3.1);
// see transport_checksum for how the checksum field itself is treated.
[[nodiscard]] std::uint16_t tcp_checksum(Ipv4Address source, Ipv4Address destination, Bytes segment);

} // namespace morgana::net
