#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "morgana/core/mac_address.h"
#include "morgana/core/memory.h"
#include "morgana/core/task.h"
#include "morgana/net/arp.h"
#include "morgana/net/ethernet.h"
#include "morgana/net/icmp.h"
#include "morgana/net/ipv4.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/network.h"
#include "morgana/net/tcp.h"
#include "morgana/net/udp.h"
#include "morgana/platform/interface.h"

namespace morgana::net {

// The address in use: from StackConfig or DHCP.
struct Ipv4Config {
  Ipv4Cidr address; // 0.0.0.0/0 until configured
  std::optional<Ipv4Address> gateway;
  std::vector<Ipv4Address> dns_servers;
};

// How a stack is set up (the boot layer fills it from --ipv4, --ipv4-gateway,
// --dns-servers and --tcp-msl; tests fill it directly).
struct StackConfig {
  std::size_t device = 0;               // platform network device
  std::optional<Ipv4Cidr> ipv4;         // none: DHCP
  std::optional<Ipv4Address> gateway;   // with ipv4
  std::vector<Ipv4Address> dns_servers; // used instead of those from DHCP when given
  TcpConfig tcp;
};

class DhcpClient;

// One network interface and the protocols above it, composed in one object.
// Layers reach each other through the stack.
class Stack final : public Network {
public:
  // A stack on the platform network device `config.device`.
  [[nodiscard]] static Result<std::unique_ptr<Stack>> create(StackConfig config = {});
  // Creates, starts and configures a stack (DHCP waits until `deadline`).
  [[nodiscard]] static Task<Result<std::unique_ptr<Stack>>> open(StackConfig config, Instant deadline = far_future);
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack() override;

  // Starts the receive loop and the protocol timers; they stop when the stack
  // is destroyed.
  void start();
  // Applies the configured address, or runs DHCP when there is none
  // (waiting until a lease is bound or `deadline` passes).
  [[nodiscard]] Task<Result<void>> configure(Instant deadline = far_future);

  [[nodiscard]] MacAddress mac() const { return m_mac; }
  [[nodiscard]] std::uint16_t mtu() const { return m_mtu; }
  // What the device does for the layers: checksums, segmentation.
  [[nodiscard]] NetOffloads offloads() const { return m_offloads; }
  [[nodiscard]] const Ipv4Config& config() const { return m_config; }
  // Installs an address (from arguments or DHCP); announces it with ARP.
  void set_config(Ipv4Config config);

  // Network.
  [[nodiscard]] Result<std::unique_ptr<DatagramSocket>> udp_bind(std::uint16_t port) override;
  [[nodiscard]] Result<std::unique_ptr<Listener>> tcp_listen(std::uint16_t port, TcpListenOptions options) override;
  [[nodiscard]] Task<Result<std::unique_ptr<Stream>>> tcp_connect(Endpoint remote, Instant deadline,
                                                                  TcpConnectionOptions options) override;
  [[nodiscard]] Ipv4Address address() const override { return m_config.address.address; }
  // The configured servers, else those from DHCP.
  [[nodiscard]] std::span<const Ipv4Address> dns_servers() const override;

  Arp& arp() { return m_arp; }
  Ipv4& ipv4() { return m_ipv4; }
  Icmp& icmp() { return m_icmp; }
  Udp& udp() { return m_udp; }
  Tcp& tcp() { return m_tcp; }

  // Prepends an Ethernet header and writes the frame (padded to 60 bytes),
  // with the packet's offload for the device.
  [[nodiscard]] Result<void> send_frame(MacAddress destination, std::uint16_t ether_type, PacketBuffer packet);
  // Processes one received frame (the receive loop calls this; so do tests).
  void receive_frame(PacketBuffer frame);

private:
  Stack(StackConfig config, const platform::NetDeviceInfo& device);
  friend struct morgana::NothrowNew;
  Task<void> receive_loop();
  // The longest frame the MTU allows, with 4 bytes to spare (a VLAN tag or FCS).
  [[nodiscard]] std::size_t plain_frame_limit() const { return std::size_t{m_mtu} + EthernetHeader::size + 4; }

  StackConfig m_stack_config;
  MacAddress m_mac;
  std::uint16_t m_mtu;
  NetOffloads m_offloads;
  // The receive loop reads each frame here, then copies it into a packet of
  // its size: a device with gro4 may hand over 64 KiB frames, most are small.
  std::unique_ptr<std::byte[]> m_receive_scratch;
  std::size_t m_receive_scratch_size = 0;
  Ipv4Config m_config;
  Arp m_arp{*this};
  Ipv4 m_ipv4{*this};
  Icmp m_icmp{*this};
  Udp m_udp{*this};
  Tcp m_tcp{*this, m_stack_config.tcp};
  // After the layers, so destroyed before them: these use the layers.
  std::unique_ptr<DhcpClient> m_dhcp;
  Task<void> m_dhcp_task;
  Task<void> m_receive_task;
  Task<void> m_arp_timers;
  Task<void> m_ipv4_timers;
};

} // namespace morgana::net
