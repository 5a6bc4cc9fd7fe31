#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "morgana/core/mac_address.h"
#include "morgana/core/packet.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

class Stack;

// An ARP packet for IPv4 over Ethernet (RFC 826).
struct ArpPacket {
  static constexpr std::size_t size = 28;
  static constexpr std::uint16_t request = 1;
  static constexpr std::uint16_t reply = 2;

  std::uint16_t operation = request;
  MacAddress sender_hardware;
  Ipv4Address sender_protocol;
  MacAddress target_hardware;
  Ipv4Address target_protocol;

  // Fails unless hardware type is Ethernet (1), protocol type IPv4, lengths 6 and 4.
  [[nodiscard]] static Result<ArpPacket> parse(ByteReader& reader);
  void write(ByteWriter& writer) const;
};

// Address resolution: a cache with expiry and refresh, requests with retries,
// a bounded queue of IPv4 packets waiting for resolution, replies only for our
// own address, and a gratuitous announcement when the address is set.
class Arp {
public:
  static constexpr Duration entry_lifetime = std::chrono::seconds(60);
  // Entries used within this long of expiry are refreshed with a unicast request.
  static constexpr Duration refresh_before = std::chrono::seconds(10);
  static constexpr Duration retry_interval = std::chrono::seconds(1);
  static constexpr int max_requests = 3;
  // Enough for the fragments of one maximum-size datagram (65535 / 1480 ≈ 45).
  static constexpr std::size_t max_pending_per_address = 48;
  static constexpr std::size_t max_pending_total = 128;
  static constexpr std::size_t max_entries = 256;

  explicit Arp(Stack& stack) : m_stack(stack) {}

  void receive(PacketBuffer packet);
  // Sends an IPv4 datagram (without Ethernet header) to `next_hop`: at once if
  // its MAC is known, else queued while a request goes out. Errc::limit_reached
  // when the queue is full (the packet is counted and dropped).
  [[nodiscard]] Result<void> send_ipv4(Ipv4Address next_hop, PacketBuffer packet);
  // Gratuitous ARP for our address (RFC 5227 §3 announcement).
  void announce();
  [[nodiscard]] std::optional<MacAddress> lookup(Ipv4Address address) const;
  // Expires entries, refreshes used ones, retries and gives up on requests.
  // Spawned by the stack; runs until the stack stops.
  Task<void> run_timers();

private:
  struct Entry {
    Ipv4Address address;
    std::optional<MacAddress> mac; // empty while resolving
    Instant expires;
    Instant last_request;
    int requests_sent = 0;
    bool used_since_refresh = false;
  };
  struct Pending {
    Ipv4Address next_hop;
    PacketBuffer packet;
  };

  Entry* find(Ipv4Address address);
  const Entry* find(Ipv4Address address) const;
  void update(Ipv4Address address, MacAddress mac, bool create);
  void send_request(Ipv4Address target, MacAddress destination);
  void send_packet(const ArpPacket& packet, MacAddress destination);
  void flush_pending(Ipv4Address address, MacAddress mac);
  void expire(Instant now);

  Stack& m_stack;
  std::vector<Entry> m_entries;
  std::deque<Pending> m_pending;
};

} // namespace morgana::net
