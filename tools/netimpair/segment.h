#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace netimpair {

// struct virtio_net_hdr, which PACKET_VNET_HDR puts before each frame
// (virtio 1.x §5.1.6, native byte order). <linux/virtio_net.h> does not parse
// as C++: a member there is named `class`.
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
inline constexpr std::uint8_t vnet_needs_csum = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr std::uint8_t vnet_gso_tcpv4 = 1;  // VIRTIO_NET_HDR_GSO_TCPV4
inline constexpr std::uint8_t vnet_gso_ecn = 0x80; // VIRTIO_NET_HDR_GSO_ECN

using Frame = std::vector<std::byte>;

// What a NIC does to a frame a sender left to it (an AF_PACKET socket with
// PACKET_VNET_HDR hands frames over as the sender wrote them, e.g. an image
// writing to its tap with TSO and checksum offload): the checksum at
// csum_start + csum_offset completed, a TCP/IPv4 GSO frame cut into
// gso_size segments, each with its own IPv4 length, identification and
// checksums, FIN and PSH only on the last. So netimpair impairs the segments
// a wire would carry. Frames it cannot take apart come back as they are.
[[nodiscard]] std::vector<Frame> finish_offloads(std::span<const std::byte> frame, const VnetHeader& header);

} // namespace netimpair
