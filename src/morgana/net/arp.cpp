#include "morgana/net/arp.h"

#include <algorithm>

#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/net/ethernet.h"
#include "morgana/net/stack.h"

namespace morgana::net {
namespace {

log::Source arp_log{"arp"};

Counter malformed{"arp.malformed", "ARP packets that are truncated or not IPv4 over Ethernet"};
Counter not_for_us{"arp.not_for_us", "ARP requests and replies for another host's address"};
Counter unknown_operation{"arp.unknown_operation", "ARP packets that are neither request nor reply"};
Counter bad_sender{"arp.bad_sender", "ARP packets from a broadcast or multicast MAC or a non-unicast address"};
Counter conflicts{"arp.address_conflict", "ARP packets from another host claiming our address"};
Counter pending_dropped{"arp.pending_dropped", "packets dropped because the queue awaiting resolution was full"};
Counter unresolved{"arp.unresolved", "packets dropped because their next hop never answered"};
Counter replies_sent{"arp.replies_sent", "ARP replies sent"};
Counter requests_sent{"arp.requests_sent", "ARP requests sent"};
Counter send_errors{"arp.send_errors", "ARP or queued packets the device would not take"};

} // namespace

Result<ArpPacket> ArpPacket::parse(ByteReader& reader) {
  // RFC 826: hardware type, protocol type, lengths, operation, then the addresses.
  auto hardware_type = TRY(reader.u16());
  auto protocol_type = TRY(reader.u16());
  auto hardware_length = TRY(reader.u8());
  auto protocol_length = TRY(reader.u8());
  if (hardware_type != 1 || protocol_type != ether_type::ipv4 || hardware_length != 6 || protocol_length != 4)
    return fail(Errc::unsupported, "ARP for other than IPv4 over Ethernet");
  ArpPacket packet;
  packet.operation = TRY(reader.u16());
  TRY(packet.sender_hardware.read(reader));
  TRY(packet.sender_protocol.read(reader));
  TRY(packet.target_hardware.read(reader));
  TRY(packet.target_protocol.read(reader));
  return packet;
}

void ArpPacket::write(ByteWriter& writer) const {
  writer.u16(1);
  writer.u16(ether_type::ipv4);
  writer.u8(6);
  writer.u8(4);
  writer.u16(operation);
  sender_hardware.write(writer);
  sender_protocol.write(writer);
  target_hardware.write(writer);
  target_protocol.write(writer);
}

Arp::Entry* Arp::find(Ipv4Address address) {
  for (auto& entry : m_entries)
    if (entry.address == address) return &entry;
  return nullptr;
}

const Arp::Entry* Arp::find(Ipv4Address address) const { return const_cast<Arp*>(this)->find(address); }

std::optional<MacAddress> Arp::lookup(Ipv4Address address) const {
  auto* entry = find(address);
  return entry ? entry->mac : std::nullopt;
}

void Arp::receive(PacketBuffer packet) {
  ByteReader reader(packet.data());
  auto parsed = ArpPacket::parse(reader);
  if (!parsed) {
    malformed.increment();
    return;
  }
  const auto& arp = *parsed;
  if (arp.operation != ArpPacket::request && arp.operation != ArpPacket::reply) {
    unknown_operation.increment();
    return;
  }
  if (arp.sender_hardware.is_multicast() || arp.sender_protocol.is_broadcast() || arp.sender_protocol.is_multicast()) {
    bad_sender.increment();
    return;
  }
  auto ours = m_stack.config().address.address;
  if (!ours.is_any() && arp.sender_protocol == ours && arp.sender_hardware != m_stack.mac()) {
    conflicts.increment();
    arp_log.warn("{} claims our address {}", arp.sender_hardware, ours);
    return;
  }
  // RFC 826 "Packet Reception": merge the sender into an existing entry first;
  // add it only when the packet is addressed to us.
  bool for_us = !ours.is_any() && arp.target_protocol == ours;
  if (!arp.sender_protocol.is_any()) update(arp.sender_protocol, arp.sender_hardware, for_us);
  if (!for_us) {
    not_for_us.increment();
    return;
  }
  if (arp.operation == ArpPacket::request) {
    ArpPacket reply{ArpPacket::reply, m_stack.mac(), ours, arp.sender_hardware, arp.sender_protocol};
    send_packet(reply, arp.sender_hardware);
    replies_sent.increment();
  }
}

void Arp::update(Ipv4Address address, MacAddress mac, bool create) {
  auto* entry = find(address);
  if (!entry) {
    if (!create) return;
    if (m_entries.size() >= max_entries) {
      // Evict the resolved entry closest to expiry; keep entries being resolved.
      auto oldest = std::min_element(m_entries.begin(), m_entries.end(), [](const Entry& a, const Entry& b) {
        return (a.mac && !b.mac) || (a.mac.has_value() == b.mac.has_value() && a.expires < b.expires);
      });
      if (!oldest->mac) return;
      m_entries.erase(oldest);
    }
    m_entries.push_back({address, std::nullopt, {}, {}, 0, false});
    entry = &m_entries.back();
  }
  bool was_resolving = !entry->mac;
  if (entry->mac != mac) arp_log.debug("{} is at {}", address, mac);
  entry->mac = mac;
  entry->expires = MonotonicClock::now() + entry_lifetime;
  entry->requests_sent = 0;
  entry->used_since_refresh = false;
  if (was_resolving) flush_pending(address, mac);
}

Result<void> Arp::send_ipv4(Ipv4Address next_hop, PacketBuffer packet) {
  if (auto* entry = find(next_hop); entry && entry->mac) {
    entry->used_since_refresh = true;
    return m_stack.send_frame(*entry->mac, ether_type::ipv4, std::move(packet));
  }
  auto for_hop = std::count_if(m_pending.begin(), m_pending.end(),
                               [&](const Pending& pending) { return pending.next_hop == next_hop; });
  if (m_pending.size() >= max_pending_total || static_cast<std::size_t>(for_hop) >= max_pending_per_address) {
    pending_dropped.increment();
    return fail(Errc::limit_reached, "ARP queue full");
  }
  m_pending.push_back({next_hop, std::move(packet)});
  if (!find(next_hop)) {
    if (m_entries.size() >= max_entries) {
      m_pending.pop_back();
      pending_dropped.increment();
      return fail(Errc::limit_reached, "ARP cache full");
    }
    m_entries.push_back({next_hop, std::nullopt, {}, MonotonicClock::now(), 1, false});
    send_request(next_hop, MacAddress::broadcast());
  }
  return {};
}

void Arp::flush_pending(Ipv4Address address, MacAddress mac) {
  for (auto it = m_pending.begin(); it != m_pending.end();) {
    if (it->next_hop != address) {
      ++it;
      continue;
    }
    if (!m_stack.send_frame(mac, ether_type::ipv4, std::move(it->packet))) send_errors.increment();
    it = m_pending.erase(it);
  }
}

void Arp::announce() {
  // RFC 5227 §2.3: an announcement is a request with sender and target both our address.
  auto ours = m_stack.config().address.address;
  ArpPacket announcement{ArpPacket::request, m_stack.mac(), ours, MacAddress::zero(), ours};
  send_packet(announcement, MacAddress::broadcast());
}

void Arp::send_request(Ipv4Address target, MacAddress destination) {
  ArpPacket request{ArpPacket::request, m_stack.mac(), m_stack.config().address.address, MacAddress::zero(), target};
  send_packet(request, destination);
  requests_sent.increment();
}

void Arp::send_packet(const ArpPacket& packet, MacAddress destination) {
  auto buffer = PacketBuffer::create(ArpPacket::size);
  if (!buffer) {
    send_errors.increment();
    return;
  }
  ByteWriter writer(buffer->data());
  packet.write(writer);
  if (!writer.finish() || !m_stack.send_frame(destination, ether_type::arp, std::move(*buffer)))
    send_errors.increment();
}

void Arp::expire(Instant now) {
  for (auto it = m_entries.begin(); it != m_entries.end();) {
    auto& entry = *it;
    if (!entry.mac) {
      if (now - entry.last_request < retry_interval) {
        ++it;
        continue;
      }
      if (entry.requests_sent < max_requests) {
        entry.last_request = now;
        ++entry.requests_sent;
        send_request(entry.address, MacAddress::broadcast());
        ++it;
        continue;
      }
      arp_log.debug("{} did not answer", entry.address);
      auto address = entry.address;
      auto dropped = std::erase_if(m_pending, [&](const Pending& pending) { return pending.next_hop == address; });
      unresolved.increment(dropped);
      it = m_entries.erase(it);
      continue;
    }
    if (now >= entry.expires) {
      it = m_entries.erase(it);
      continue;
    }
    // RFC 1122 §2.3.2.1: refresh entries in use by unicast request before they expire.
    if (entry.used_since_refresh && entry.expires - now <= refresh_before &&
        now - entry.last_request >= retry_interval) {
      entry.last_request = now;
      send_request(entry.address, *entry.mac);
    }
    ++it;
  }
}

Task<void> Arp::run_timers() {
  while (true) {
    (void)co_await sleep_for(retry_interval);
    expire(MonotonicClock::now());
  }
}

} // namespace morgana::net
