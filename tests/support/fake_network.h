#pragma once

// A net::Network for unit tests of clients (HTTP, TLS over TCP): TCP only,
// in memory. A test listens on any endpoint and serves the server ends of
// the connections clients open there (make_stream_pair underneath);
// connecting to an endpoint nobody listens on is refused (Errc::closed), and
// to a black hole waits until the deadline (Errc::timed_out).
//
//   test::FakeNetwork network;
//   auto listener = network.listen({net::Ipv4Address::from_octets(192, 0, 2, 2), 80});
//   loop().spawn(serve(std::move(listener)));   // co_await listener->accept() ...
//   http::Client client(network);

#include <cstddef>
#include <memory>
#include <vector>

#include "morgana/net/network.h"

namespace morgana::test {

class FakeNetwork final : public net::Network {
public:
  // `address`: ours, the local end of every connection.
  explicit FakeNetwork(net::Ipv4Address address = net::Ipv4Address::from_octets(192, 0, 2, 1),
                       std::size_t capacity = 64 * 1024);
  ~FakeNetwork() override;

  // Accepts connections to `endpoint` until the listener is destroyed.
  [[nodiscard]] std::unique_ptr<net::Listener> listen(net::Endpoint endpoint);
  // Connections to `endpoint` never complete.
  void black_hole(net::Endpoint endpoint);
  // Every endpoint tcp_connect was asked for, in order.
  [[nodiscard]] const std::vector<net::Endpoint>& connects() const { return m_connects; }

  // No UDP: Errc::unsupported.
  [[nodiscard]] Result<std::unique_ptr<net::DatagramSocket>> udp_bind(std::uint16_t port) override;
  // Listens on our own address.
  [[nodiscard]] Result<std::unique_ptr<net::Listener>> tcp_listen(std::uint16_t port,
                                                                  net::TcpListenOptions options = {}) override;
  [[nodiscard]] Task<Result<std::unique_ptr<net::Stream>>> tcp_connect(net::Endpoint remote, Instant deadline,
                                                                       net::TcpConnectionOptions options = {}) override;
  [[nodiscard]] net::Ipv4Address address() const override { return m_address; }
  [[nodiscard]] std::span<const net::Ipv4Address> dns_servers() const override { return {}; }

  struct Port;

private:
  friend class FakeListener;
  net::Ipv4Address m_address;
  std::size_t m_capacity;
  std::uint16_t m_next_port = 49152;
  std::vector<Port*> m_ports; // live listeners, owned by them
  std::vector<net::Endpoint> m_black_holes;
  std::vector<net::Endpoint> m_connects;
};

} // namespace morgana::test
