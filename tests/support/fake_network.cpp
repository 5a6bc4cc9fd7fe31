#include "fake_network.h"

#include <algorithm>
#include <deque>

#include "memory_stream.h"
#include "morgana/core/event_loop.h"

namespace morgana::test {

struct FakeNetwork::Port {
  FakeNetwork* network;
  net::Endpoint endpoint;
  std::deque<std::unique_ptr<net::Stream>> pending;
  WaitQueue arrived;
};

class FakeListener final : public net::Listener {
public:
  explicit FakeListener(std::unique_ptr<FakeNetwork::Port> port) : m_port(std::move(port)) {}
  ~FakeListener() override {
    if (m_port->network) std::erase(m_port->network->m_ports, m_port.get());
  }

  [[nodiscard]] std::uint16_t port() const override { return m_port->endpoint.port; }

  Task<Result<std::unique_ptr<net::Stream>>> accept(Instant deadline) override {
    while (m_port->pending.empty()) CO_TRY(co_await m_port->arrived.wait(deadline));
    auto stream = std::move(m_port->pending.front());
    m_port->pending.pop_front();
    co_return stream;
  }

private:
  std::unique_ptr<FakeNetwork::Port> m_port;
};

FakeNetwork::FakeNetwork(net::Ipv4Address address, std::size_t capacity) : m_address(address), m_capacity(capacity) {}

FakeNetwork::~FakeNetwork() {
  for (auto* port : m_ports) port->network = nullptr;
}

std::unique_ptr<net::Listener> FakeNetwork::listen(net::Endpoint endpoint) {
  auto port = std::make_unique<Port>();
  port->network = this;
  port->endpoint = endpoint;
  m_ports.push_back(port.get());
  return std::make_unique<FakeListener>(std::move(port));
}

void FakeNetwork::black_hole(net::Endpoint endpoint) { m_black_holes.push_back(endpoint); }

Result<std::unique_ptr<net::DatagramSocket>> FakeNetwork::udp_bind(std::uint16_t) {
  return fail(Errc::unsupported, "the fake network has no UDP");
}

Result<std::unique_ptr<net::Listener>> FakeNetwork::tcp_listen(std::uint16_t port, net::TcpListenOptions) {
  return listen({m_address, port});
}

Task<Result<std::unique_ptr<net::Stream>>> FakeNetwork::tcp_connect(net::Endpoint remote, Instant deadline,
                                                                    net::TcpConnectionOptions) {
  m_connects.push_back(remote);
  if (std::ranges::find(m_black_holes, remote) != m_black_holes.end()) {
    WaitQueue never;
    CO_TRY(co_await never.wait(deadline));
  }
  auto found = std::ranges::find_if(m_ports, [&](const Port* port) { return port->endpoint == remote; });
  if (found == m_ports.end()) co_return fail(Errc::closed, "connection refused");
  auto pair = make_stream_pair(m_capacity, {m_address, m_next_port++}, remote);
  (*found)->pending.push_back(std::move(pair.server));
  (*found)->arrived.notify_one();
  co_return std::move(pair.client);
}

} // namespace morgana::test
