#pragma once

// What a network device may do for the stack: cut large TCP segments, fill or
// check transport checksums. One device-neutral description, which the hosted
// tap (virtio_net_hdr through IFF_VNET_HDR), virtio-net and Xen's netfront each
// translate from and to. Every feature is optional: a device without it sees
// the plain frames it sees today.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana {

struct NetOffloads {
  // Transmit: the device computes the TCP/UDP checksum of frames marked
  // FrameOffload::checksum_partial.
  bool tx_checksum = false;
  // Receive: the device may mark frames whose transport checksum it verified
  // (checksum_valid) or never computed because they did not leave the host
  // (checksum_partial).
  bool rx_checksum = false;
  // Transmit: the device cuts TCP/IPv4 frames of up to max_offload_frame bytes
  // into segments (FrameOffload::segment_size). Needs tx_checksum.
  bool tso4 = false;
  // Receive: the device may hand over TCP/IPv4 frames of up to
  // max_offload_frame bytes, coalesced from segments. Needs rx_checksum.
  bool gro4 = false;

  [[nodiscard]] NetOffloads operator&(const NetOffloads& other) const {
    return {tx_checksum && other.tx_checksum, rx_checksum && other.rx_checksum, tso4 && other.tso4, gro4 && other.gro4};
  }
  void format(FormatSink& sink) const;
  friend bool operator==(const NetOffloads&, const NetOffloads&) = default;
};

// The largest frame a device may give with gro4: the largest IPv4 packet plus
// the Ethernet header.
inline constexpr std::size_t max_offload_frame = 65535 + 14;
// The largest frame the stack gives a device with tso4, Ethernet header
// included: Xen's netif requests carry the size in 16 bits.
inline constexpr std::size_t max_tso_frame = 65535;

// What travels with one frame between the stack and the device.
struct FrameOffload {
  // Transmit: the transport checksum is the device's: the 16-bit field at
  // checksum_start + checksum_offset holds the pseudo-header sum (folded, not
  // inverted) and the device sums from checksum_start (offsets in the frame)
  // to the end. Receive: the frame came from this host with its checksum left
  // so; the data is as intact as if it had been checked.
  bool checksum_partial = false;
  std::uint16_t checksum_start = 0;
  std::uint16_t checksum_offset = 0;
  // Receive: the device verified the transport checksum.
  bool checksum_valid = false;
  // A TCP/IPv4 frame longer than one segment. Transmit: the device cuts it into
  // segments of segment_size payload bytes, each with its own IPv4 length,
  // identification and checksums, FIN and PSH only on the last. Receive: it was
  // coalesced from segments of that size. 0: a plain frame.
  std::uint16_t segment_size = 0;
};

// "all", "none", or a comma-separated list of tx-csum, rx-csum, tso, gro. A
// list naming tso without tx-csum, or gro without rx-csum, is refused.
[[nodiscard]] Result<void> parse_value(std::string_view text, NetOffloads& out);

// The offloads the boot argument --offload allows (all by default); a device
// uses those of them it has.
[[nodiscard]] NetOffloads allowed_net_offloads();

} // namespace morgana
