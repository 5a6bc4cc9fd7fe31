#pragma once

#include <cstdint>

#include "morgana/core/packet.h"
#include "morgana/core/task.h"
#include "morgana/net/ipv4_header.h"
#include "morgana/net/ipv4_reassembly.h"

namespace morgana::net {

class Stack;

// IPv4 input (validation, reassembly, delivery to ICMP/UDP/TCP) and output
// (routing to a next hop, fragmentation above the MTU).
class Ipv4 {
public:
  explicit Ipv4(Stack& stack) : m_stack(stack) {}

  void receive(PacketBuffer packet);
  // Sends `payload` (an upper-layer header and data, with headroom for ours)
  // from `source` to `destination`, fragmenting when it exceeds the MTU
  // (Errc::no_space instead when `dont_fragment`). A TSO frame (the payload's
  // offload has a segment_size) goes whole, with DF, for the device to cut.
  [[nodiscard]] Result<void> send(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol,
                                  PacketBuffer payload, bool dont_fragment = false);
  // The neighbour to hand a packet for `destination` to: itself when on-link
  // or broadcast, else the gateway. Errc::unreachable without a route.
  [[nodiscard]] Result<Ipv4Address> next_hop(Ipv4Address destination) const;
  // Is `address` ours, or a broadcast we accept?
  [[nodiscard]] bool accepts(Ipv4Address address) const;
  // Limited or directed broadcast on our network, or multicast: no single host.
  [[nodiscard]] bool is_broadcast(Ipv4Address address) const;

  // Expires stale fragments. Spawned by the stack.
  Task<void> run_timers();

private:
  [[nodiscard]] Result<void> send_fragments(Ipv4Header header, Ipv4Address next_hop, Bytes payload);
  [[nodiscard]] Result<void> transmit(Ipv4Address next_hop, PacketBuffer packet);
  void deliver(const Ipv4Header& header, PacketBuffer payload);

  Stack& m_stack;
  Ipv4Reassembler m_reassembler;
  std::uint16_t m_next_identification = 1;
};

} // namespace morgana::net
