#pragma once

// The entries of netfront's two rings (xen/include/public/io/netif.h), in the
// guest's byte order (little-endian), as value types the rings encode and
// decode: the transmit ring carries netif_tx_request/netif_tx_response, the
// receive ring netif_rx_request/netif_rx_response.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "morgana/platform/pvh/xen_grant_table.h"
#include "morgana/platform/pvh/xen_ring.h"

namespace morgana::pvh::xen::netif {

// NETTXF_* flags. The first request of a frame carries the frame's length
// and its checksum flags; more_data links it to the next request, extra_info
// says a netif_extra_info entry follows it on the ring.
inline constexpr std::uint16_t tx_csum_blank = 1 << 0, tx_data_validated = 1 << 1, tx_more_data = 1 << 2,
                               tx_extra_info = 1 << 3;
// NETRXF_* flags: the checksum bits are the other way round from NETTXF_*'s.
inline constexpr std::uint16_t rx_data_validated = 1 << 0, rx_csum_blank = 1 << 1, rx_more_data = 1 << 2,
                               rx_extra_info = 1 << 3;
// XEN_NETIF_EXTRA_TYPE_*, XEN_NETIF_EXTRA_FLAG_MORE and XEN_NETIF_GSO_TYPE_*.
inline constexpr std::uint8_t extra_type_none = 0, extra_type_gso = 1, extra_type_max = 5, extra_flag_more = 1 << 0;
inline constexpr std::uint8_t gso_type_tcpv4 = 1;
// XEN_NETIF_NR_SLOTS_MIN: the most data requests one frame may use; netback
// drops longer frames (and disconnects a front end that goes past 20).
inline constexpr std::size_t max_frame_slots = 18;
// A request's size is 16 bits: no frame is longer (XEN_NETIF_MAX_TX_SIZE).
inline constexpr std::size_t max_frame_size = 0xffff;
// NETIF_RSP_*: a transmit status, or for a receive response a negative error.
inline constexpr std::int16_t response_dropped = -2, response_error = -1, response_okay = 0, response_null = 1;

struct TxRequest {
  GrantRef gref;
  std::uint16_t offset;
  std::uint16_t flags;
  std::uint16_t id;
  std::uint16_t size;
};
// struct netif_extra_info, the entry that follows a request or response
// flagged extra_info (8 bytes on either ring). Only a GSO entry's fields are
// kept; other types have none we use.
struct ExtraInfo {
  std::uint8_t type;
  std::uint8_t flags;
  std::uint16_t gso_size;
  std::uint8_t gso_type;
};
inline void encode_extra(const ExtraInfo& extra, std::byte* entry) {
  store_field(entry, extra.type);
  store_field(entry + 1, extra.flags);
  store_field(entry + 2, extra.gso_size);
  store_field(entry + 4, extra.gso_type);
  store_field(entry + 5, std::uint8_t{0});
  store_field(entry + 6, std::uint16_t{0}); // gso.features
}
inline ExtraInfo decode_extra(const std::byte* entry) {
  return {load_field<std::uint8_t>(entry), load_field<std::uint8_t>(entry + 1), load_field<std::uint16_t>(entry + 2),
          load_field<std::uint8_t>(entry + 4)};
}

// A transmit ring entry: a request, or the extra info after one.
struct TxSlot {
  TxRequest request{};
  std::optional<ExtraInfo> extra; // set: this entry is the extra info
};
struct TxResponse {
  std::uint16_t id;
  std::int16_t status;
};
struct RxRequest {
  std::uint16_t id;
  GrantRef gref;
};
struct RxResponse {
  std::uint16_t id;
  std::uint16_t offset;
  std::uint16_t flags;
  std::int16_t status; // bytes received, or a negative NETIF_RSP_*
};

// union netif_tx_sring_entry: the request's 12 bytes.
struct TxWire {
  using Request = TxSlot;
  using Response = TxResponse;
  static constexpr std::size_t entry_size = 12;
  static void encode(const TxSlot& slot, std::byte* entry) {
    if (slot.extra) {
      encode_extra(*slot.extra, entry);
      return;
    }
    const auto& request = slot.request;
    store_field(entry, request.gref);
    store_field(entry + 4, request.offset);
    store_field(entry + 6, request.flags);
    store_field(entry + 8, request.id);
    store_field(entry + 10, request.size);
  }
  static TxResponse decode(const std::byte* entry) {
    return {load_field<std::uint16_t>(entry), load_field<std::int16_t>(entry + 2)};
  }
};

// union netif_rx_sring_entry: 8 bytes either way; an extra info entry is
// read with FrontRing::take_response_as(decode_extra).
struct RxWire {
  using Request = RxRequest;
  using Response = RxResponse;
  static constexpr std::size_t entry_size = 8;
  static void encode(const RxRequest& request, std::byte* entry) {
    store_field(entry, request.id);
    store_field(entry + 2, std::uint16_t{0});
    store_field(entry + 4, request.gref);
  }
  static RxResponse decode(const std::byte* entry) {
    return {load_field<std::uint16_t>(entry), load_field<std::uint16_t>(entry + 2),
            load_field<std::uint16_t>(entry + 4), load_field<std::int16_t>(entry + 6)};
  }
};

} // namespace morgana::pvh::xen::netif
