#pragma once

// struct virtio_net_hdr (virtio 1.x, 5.1.6), the 10 bytes that carry offload
// metadata in front of each frame, and its translation to and from
// FrameOffload. Three places speak it: the hosted tap (IFF_VNET_HDR), the pvh
// virtio-net queues (which may append num_buffers, 5.1.6.1) and the host tool
// netimpair (PACKET_VNET_HDR on an AF_PACKET socket). <linux/virtio_net.h>
// does not parse as C++ (a member there is named `class`), hence our own.
//
// Standalone: header-only, using only the standard library and core headers
// whose used parts are themselves header-only, so netimpair compiles it
// without Morgana's libraries.
//
// Byte order: little-endian, as virtio 1.x says. Legacy virtio devices, the tap
// and packet sockets use the host's order, which is the same on the x86-64
// hosts and guests Morgana runs on (we never ask for TUNSETVNETLE/BE).

#include <cstddef>
#include <cstdint>
#include <span>

#include "morgana/core/net_offload.h"
#include "morgana/core/result.h"

namespace morgana {

struct VirtioNetHeader {
  static constexpr std::size_t size = 10;
  // flags
  static constexpr std::uint8_t flag_needs_csum = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr std::uint8_t flag_data_valid = 2; // VIRTIO_NET_HDR_F_DATA_VALID
  // gso_type
  static constexpr std::uint8_t gso_none = 0;   // VIRTIO_NET_HDR_GSO_NONE
  static constexpr std::uint8_t gso_tcpv4 = 1;  // VIRTIO_NET_HDR_GSO_TCPV4
  static constexpr std::uint8_t gso_ecn = 0x80; // VIRTIO_NET_HDR_GSO_ECN, or-ed into the type

  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;

  // The GSO type without the ECN bit, which only says the sender's segments
  // carried CWR: the frame is the same.
  [[nodiscard]] constexpr std::uint8_t gso_kind() const { return gso_type & static_cast<std::uint8_t>(~gso_ecn); }

  [[nodiscard]] static constexpr VirtioNetHeader parse(std::span<const std::byte, size> bytes);
  constexpr void serialize(std::span<std::byte, size> out) const;

  friend constexpr bool operator==(const VirtioNetHeader&, const VirtioNetHeader&) = default;
};

// The header for sending `frame` with `offload`. Refuses metadata that does
// not fit the frame (Errc::invalid_argument): a checksum field past its end, a
// segment size without a partial checksum or without a whole TCP header.
// hdr_len is set for segmentation only (5.1.6.2: up to the TCP payload); for a
// partial checksum alone it stays 0, which a tap reads as
// csum_start + csum_offset + 2.
[[nodiscard]] constexpr Result<VirtioNetHeader> virtio_net_header_for(std::span<const std::byte> frame,
                                                                      const FrameOffload& offload);

// The metadata of a received frame of `frame_length` bytes. Refuses what it
// cannot stand for: a checksum field past the frame or a TCP/IPv4 GSO frame
// without a segment size (Errc::malformed), a GSO type other than TCP/IPv4
// (Errc::unsupported).
[[nodiscard]] constexpr Result<FrameOffload> frame_offload_of(const VirtioNetHeader& header, std::size_t frame_length);

// ---- Implementation ----

namespace virtio_net_detail {

// Byte offsets in the header (5.1.6).
inline constexpr std::size_t flags_at = 0, gso_type_at = 1, hdr_len_at = 2, gso_size_at = 4, csum_start_at = 6,
                             csum_offset_at = 8;
// The TCP header's data offset (RFC 9293 3.1): the high nibble of its 13th byte, in 32-bit words.
inline constexpr std::size_t tcp_data_offset_at = 12, tcp_minimum_header = 20;

constexpr std::uint16_t load_le16(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[at]) |
                                    (std::to_integer<unsigned>(bytes[at + 1]) << 8));
}
constexpr void store_le16(std::span<std::byte> bytes, std::size_t at, std::uint16_t value) {
  bytes[at] = static_cast<std::byte>(value & 0xff);
  bytes[at + 1] = static_cast<std::byte>(value >> 8);
}

constexpr bool checksum_field_fits(std::size_t start, std::size_t offset, std::size_t frame_length) {
  return start + offset + 2 <= frame_length;
}

} // namespace virtio_net_detail

constexpr VirtioNetHeader VirtioNetHeader::parse(std::span<const std::byte, size> bytes) {
  using namespace virtio_net_detail;
  VirtioNetHeader header;
  header.flags = std::to_integer<std::uint8_t>(bytes[flags_at]);
  header.gso_type = std::to_integer<std::uint8_t>(bytes[gso_type_at]);
  header.hdr_len = load_le16(bytes, hdr_len_at);
  header.gso_size = load_le16(bytes, gso_size_at);
  header.csum_start = load_le16(bytes, csum_start_at);
  header.csum_offset = load_le16(bytes, csum_offset_at);
  return header;
}

constexpr void VirtioNetHeader::serialize(std::span<std::byte, size> out) const {
  using namespace virtio_net_detail;
  out[flags_at] = static_cast<std::byte>(flags);
  out[gso_type_at] = static_cast<std::byte>(gso_type);
  store_le16(out, hdr_len_at, hdr_len);
  store_le16(out, gso_size_at, gso_size);
  store_le16(out, csum_start_at, csum_start);
  store_le16(out, csum_offset_at, csum_offset);
}

constexpr Result<VirtioNetHeader> virtio_net_header_for(std::span<const std::byte> frame, const FrameOffload& offload) {
  using namespace virtio_net_detail;
  VirtioNetHeader header;
  if (offload.checksum_partial) {
    if (!checksum_field_fits(offload.checksum_start, offload.checksum_offset, frame.size()))
      return fail(Errc::invalid_argument, "checksum field beyond the frame");
    header.flags = VirtioNetHeader::flag_needs_csum;
    header.csum_start = offload.checksum_start;
    header.csum_offset = offload.checksum_offset;
  }
  if (offload.segment_size) {
    // 5.1.6.2: segmentation needs the partial checksum; hdr_len tells the
    // device how much to copy in front of each segment: up to the TCP payload.
    if (!offload.checksum_partial) return fail(Errc::invalid_argument, "segment size without a partial checksum");
    std::size_t tcp = offload.checksum_start;
    if (tcp + tcp_minimum_header > frame.size()) return fail(Errc::invalid_argument, "TCP header beyond the frame");
    std::size_t headers = tcp + 4 * (std::to_integer<std::size_t>(frame[tcp + tcp_data_offset_at]) >> 4);
    if (headers < tcp + tcp_minimum_header || headers > frame.size())
      return fail(Errc::invalid_argument, "TCP header length does not fit the frame");
    header.gso_type = VirtioNetHeader::gso_tcpv4;
    header.hdr_len = static_cast<std::uint16_t>(headers);
    header.gso_size = offload.segment_size;
  }
  return header;
}

constexpr Result<FrameOffload> frame_offload_of(const VirtioNetHeader& header, std::size_t frame_length) {
  using namespace virtio_net_detail;
  FrameOffload offload;
  if (header.flags & VirtioNetHeader::flag_needs_csum) {
    if (!checksum_field_fits(header.csum_start, header.csum_offset, frame_length))
      return fail(Errc::malformed, "checksum field beyond the frame");
    offload.checksum_partial = true;
    offload.checksum_start = header.csum_start;
    offload.checksum_offset = header.csum_offset;
  }
  offload.checksum_valid = (header.flags & VirtioNetHeader::flag_data_valid) != 0;
  if (header.gso_kind() == VirtioNetHeader::gso_tcpv4) {
    if (header.gso_size == 0) return fail(Errc::malformed, "TCP/IPv4 GSO frame without a segment size");
    offload.segment_size = header.gso_size;
  } else if (header.gso_kind() != VirtioNetHeader::gso_none) {
    return fail(Errc::unsupported, "GSO type other than TCP/IPv4");
  }
  return offload;
}

} // namespace morgana
