#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "morgana/core/virtio_net_header.h"

namespace netimpair {

// struct virtio_net_hdr, which PACKET_VNET_HDR puts before each frame: the
// one layout Morgana's tap and virtio-net speak too.
using morgana::VirtioNetHeader;

using Frame = std::vector<std::byte>;

// What a NIC does to a frame a sender left to it (an AF_PACKET socket with
// PACKET_VNET_HDR hands frames over as the sender wrote them, e.g. an image
// writing to its tap with TSO and checksum offload): the checksum at
// csum_start + csum_offset completed, a TCP/IPv4 GSO frame cut into
// gso_size segments, each with its own IPv4 length, identification and
// checksums, FIN and PSH only on the last. So netimpair impairs the segments
// a wire would carry. Frames it cannot take apart come back as they are.
[[nodiscard]] std::vector<Frame> finish_offloads(std::span<const std::byte> frame, const VirtioNetHeader& header);

} // namespace netimpair
