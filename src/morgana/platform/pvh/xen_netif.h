#pragma once

// The entries of netfront's two rings (xen/include/public/io/netif.h), in the
// guest's byte order (little-endian), as value types the rings encode and
// decode: the transmit ring carries netif_tx_request/netif_tx_response, the
// receive ring netif_rx_request/netif_rx_response.

#include <cstddef>
#include <cstdint>

#include "morgana/platform/pvh/xen_grant_table.h"
#include "morgana/platform/pvh/xen_ring.h"

namespace morgana::pvh::xen::netif {

// NETTXF_* and NETRXF_* flags.
inline constexpr std::uint16_t rx_more_data = 1 << 2, rx_extra_info = 1 << 3;
// NETIF_RSP_*: a transmit status, or for a receive response a negative error.
inline constexpr std::int16_t response_dropped = -2, response_error = -1, response_okay = 0, response_null = 1;

struct TxRequest {
  GrantRef gref;
  std::uint16_t offset;
  std::uint16_t flags;
  std::uint16_t id;
  std::uint16_t size;
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
  using Request = TxRequest;
  using Response = TxResponse;
  static constexpr std::size_t entry_size = 12;
  static void encode(const TxRequest& request, std::byte* entry) {
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

// union netif_rx_sring_entry: 8 bytes either way.
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
