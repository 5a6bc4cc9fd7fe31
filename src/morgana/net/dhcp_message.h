#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/core/mac_address.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

// Option codes the client reads or writes (RFC 2132).
namespace dhcp_option {
inline constexpr std::uint8_t pad = 0;                     // §3.1
inline constexpr std::uint8_t subnet_mask = 1;             // §3.3
inline constexpr std::uint8_t router = 3;                  // §3.5
inline constexpr std::uint8_t domain_name_server = 6;      // §3.8
inline constexpr std::uint8_t requested_ip_address = 50;   // §9.1
inline constexpr std::uint8_t ip_address_lease_time = 51;  // §9.2
inline constexpr std::uint8_t option_overload = 52;        // §9.3
inline constexpr std::uint8_t dhcp_message_type = 53;      // §9.6
inline constexpr std::uint8_t server_identifier = 54;      // §9.7
inline constexpr std::uint8_t parameter_request_list = 55; // §9.8
inline constexpr std::uint8_t renewal_time_value = 58;     // §9.11 (T1)
inline constexpr std::uint8_t rebinding_time_value = 59;   // §9.12 (T2)
inline constexpr std::uint8_t client_identifier = 61;      // §9.14
inline constexpr std::uint8_t end = 255;                   // §3.2
} // namespace dhcp_option

// The DHCP message type option's values (RFC 2132 §9.6). Later RFCs add more;
// any byte is kept as read.
enum class DhcpMessageType : std::uint8_t {
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7,
  inform = 8,
};

void format_value(FormatSink& sink, DhcpMessageType type);

// Up to Capacity values of a list option, without allocating.
template <class T, std::size_t Capacity>
class BoundedList {
public:
  static constexpr std::size_t capacity = Capacity;

  // False (and nothing stored) when full.
  bool push_back(T value) {
    if (m_size == Capacity) return false;
    m_items[m_size++] = value;
    return true;
  }
  void clear() { m_size = 0; }
  [[nodiscard]] std::size_t size() const { return m_size; }
  [[nodiscard]] bool empty() const { return m_size == 0; }
  [[nodiscard]] std::span<const T> view() const { return {m_items.data(), m_size}; }
  [[nodiscard]] const T& operator[](std::size_t index) const { return m_items[index]; }
  [[nodiscard]] const T* begin() const { return m_items.data(); }
  [[nodiscard]] const T* end() const { return m_items.data() + m_size; }
  friend bool operator==(const BoundedList& a, const BoundedList& b) {
    if (a.m_size != b.m_size) return false;
    for (std::size_t i = 0; i < a.m_size; ++i)
      if (!(a.m_items[i] == b.m_items[i])) return false;
    return true;
  }

private:
  std::array<T, Capacity> m_items{};
  std::size_t m_size = 0;
};

// A DHCP message (RFC 2131 §2, figure 1) as host-order values, with the options
// this client uses (RFC 2132). Other options are skipped when parsing; `sname`
// and `file` are skipped too, so option overload (RFC 2132 §9.3) is ignored.
struct DhcpMessage {
  static constexpr std::size_t fixed_size = 236;            // op .. file
  static constexpr std::uint32_t magic_cookie = 0x63825363; // 99.130.83.99 (RFC 2131 §3)
  static constexpr std::size_t minimum_size = fixed_size + 4;
  // RFC 1542 §2.1: BOOTP relays and old servers expect messages of at least 300 octets.
  static constexpr std::size_t bootp_minimum_size = 300;
  // Enough for every option this struct can hold.
  static constexpr std::size_t maximum_size = 1024;
  static constexpr std::uint16_t server_port = 67;
  static constexpr std::uint16_t client_port = 68;
  static constexpr std::uint8_t bootrequest = 1;
  static constexpr std::uint8_t bootreply = 2;
  static constexpr std::uint8_t htype_ethernet = 1;       // RFC 1700 hardware type
  static constexpr std::uint16_t broadcast_flag = 0x8000; // RFC 2131 §2, figure 2
  // Lease time meaning "forever" (RFC 2131 §3.3).
  static constexpr std::uint32_t infinite_lease = 0xffffffff;

  // Fixed fields (RFC 2131 §2, table 1).
  std::uint8_t op = bootrequest;
  std::uint8_t htype = htype_ethernet;
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  Ipv4Address ciaddr;
  Ipv4Address yiaddr;
  Ipv4Address siaddr;
  Ipv4Address giaddr;
  std::array<std::uint8_t, 16> chaddr{};

  // Options (absent unless set).
  std::optional<DhcpMessageType> message_type;
  std::optional<Ipv4Address> subnet_mask;
  BoundedList<Ipv4Address, 8> routers;
  BoundedList<Ipv4Address, 8> domain_name_servers;
  std::optional<std::uint32_t> ip_address_lease_time; // seconds
  std::optional<std::uint32_t> renewal_time_value;    // T1, seconds
  std::optional<std::uint32_t> rebinding_time_value;  // T2, seconds
  std::optional<Ipv4Address> server_identifier;
  std::optional<Ipv4Address> requested_ip_address;
  BoundedList<std::uint8_t, 255> parameter_request_list;
  BoundedList<std::uint8_t, 255> client_identifier; // type byte, then the identifier

  // Parses a whole UDP payload. Fails with Errc::truncated when the fixed part,
  // the cookie or an option runs past the end, Errc::malformed for a wrong
  // cookie or an option whose length its definition forbids (the context says
  // which). List entries beyond a list's capacity are ignored.
  [[nodiscard]] static Result<DhcpMessage> parse(ByteReader& reader);
  [[nodiscard]] static Result<DhcpMessage> parse(Bytes payload) {
    ByteReader reader(payload);
    return parse(reader);
  }
  // Writes the fixed part, the cookie, the options present and END, padded
  // with zeros to bootp_minimum_size. Overflow is left to the writer's finish().
  void write(ByteWriter& writer) const;

  // The Ethernet client hardware address, when htype/hlen say there is one.
  [[nodiscard]] std::optional<MacAddress> client_mac() const;
  void set_client_mac(MacAddress mac);

  // Client messages (RFC 2131 §4.4.1, §4.4.5 and table 5). Each sets the
  // BROADCAST flag only where the client has no address yet (§4.1).
  [[nodiscard]] static DhcpMessage discover(std::uint32_t xid, MacAddress mac, std::uint16_t secs);
  // SELECTING: requests `offer`'s address from its server; copies the offer's xid.
  [[nodiscard]] static DhcpMessage request_selecting(const DhcpMessage& offer, MacAddress mac, std::uint16_t secs);
  // RENEWING (unicast to the server) and REBINDING (broadcast) look the same on
  // the wire: ciaddr filled in, no server identifier or requested address.
  [[nodiscard]] static DhcpMessage request_renewing(std::uint32_t xid, MacAddress mac, Ipv4Address ciaddr,
                                                    std::uint16_t secs);
  [[nodiscard]] static DhcpMessage request_rebinding(std::uint32_t xid, MacAddress mac, Ipv4Address ciaddr,
                                                     std::uint16_t secs);
  [[nodiscard]] static DhcpMessage release(std::uint32_t xid, MacAddress mac, Ipv4Address ciaddr,
                                           Ipv4Address server_identifier);

  friend bool operator==(const DhcpMessage&, const DhcpMessage&) = default;
};

// The prefix length of a contiguous netmask; Errc::malformed for one with holes.
[[nodiscard]] Result<std::uint8_t> prefix_length_of(Ipv4Address netmask);

} // namespace morgana::net
