#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "morgana/core/packet.h"
#include "morgana/core/time.h"
#include "morgana/net/ipv4_header.h"

namespace morgana::net {

// Reassembles fragmented datagrams (RFC 791 §3.2, RFC 815), within bounds so
// that fragments cannot exhaust memory: a cap on datagrams in progress, on
// fragments per datagram and on total size, and a timeout.
//
// Policy, decided here and tested in ipv4_reassembly_test.cpp:
// - Datagrams are keyed by (source, destination, protocol, identification).
// - When max_datagrams are in progress, a fragment of a new datagram drops the
//   oldest one (counted in "ipv4.reassembly_evicted") to make room: a flood of
//   never-completing fragments then cannot lock out datagrams that complete.
// - An exact duplicate (same offset, length and bytes) is ignored; any other
//   overlap drops the whole datagram (RFC 5722's rule, applied to IPv4).
// - A fragment that is empty, or has MF set and a length that is not a multiple
//   of 8, is malformed: it alone is dropped. A second last fragment with a
//   different end, or data beyond the end a last fragment set, is malformed and
//   drops the datagram; so do offset + length > max_payload and a fragment past
//   max_fragments.
// - Only expire() looks at the clock (the IPv4 layer calls it on a timer);
//   memory held is at most max_datagrams * (max_payload + max_fragments pieces).
class Ipv4Reassembler {
public:
  struct Limits {
    std::size_t max_datagrams = 16;       // in progress at once
    std::size_t max_fragments = 64;       // per datagram
    std::size_t max_payload = 65535 - 20; // bytes of reassembled payload
    Duration timeout = std::chrono::seconds(30);
  };

  Ipv4Reassembler() = default;
  explicit Ipv4Reassembler(Limits limits) : m_limits(limits) {}

  // Adds one fragment (its header and payload: exactly the fragment's data,
  // link padding already trimmed). Returns the whole payload once
  // every piece is in; std::nullopt while pieces are missing; an error (with
  // the drop reason as context) when the fragment or its datagram is dropped.
  [[nodiscard]] Result<std::optional<PacketBuffer>> add(const Ipv4Header& header, Bytes payload, Instant now);
  // Drops datagrams whose first fragment came `timeout` or more before `now`;
  // returns how many.
  std::size_t expire(Instant now);
  [[nodiscard]] std::size_t in_progress() const;

private:
  struct Piece {
    std::uint32_t offset; // bytes
    std::uint32_t length;
  };
  struct Datagram {
    Ipv4Address source;
    Ipv4Address destination;
    std::uint8_t protocol;
    std::uint16_t identification;
    Instant started;
    std::optional<std::uint32_t> total_length; // known once the last fragment arrives
    std::uint32_t received = 0;                // bytes, no overlaps, so complete when == total_length
    std::vector<Piece> pieces;                 // sorted by offset, disjoint
    PacketBuffer buffer; // grows towards the highest end seen (at most max_payload), filled in place
  };

  [[nodiscard]] std::size_t find(const Ipv4Header& header) const;
  [[nodiscard]] Result<std::size_t> start_datagram(const Ipv4Header& header, Instant now);
  [[nodiscard]] Result<std::optional<PacketBuffer>> add_piece(Datagram& datagram, const Ipv4Header& header,
                                                              Bytes payload);
  [[nodiscard]] Result<void> reserve(Datagram& datagram, std::size_t end) const;

  Limits m_limits;
  std::vector<Datagram> m_datagrams;
};

} // namespace morgana::net
