#pragma once

// What applications program against: a network that binds UDP ports, listens
// and connects over TCP. Morgana's own stack implements it over a network
// device (stack.h); on the hosted target the host kernel's sockets can too
// (hosted/socket_network.h, --net=socket), so the same application runs
// without root or a tap device. Applications get theirs from their Context.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "morgana/core/packet.h"
#include "morgana/core/shared_bytes.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/tcp_options.h"

namespace morgana::net {

struct Datagram {
  Endpoint source;
  Ipv4Address destination;
  PacketBuffer payload;
};

class DatagramSocket {
public:
  virtual ~DatagramSocket() = default;
  [[nodiscard]] virtual std::uint16_t local_port() const = 0;
  // The next datagram; Errc::timed_out at the deadline, Errc::closed when the
  // socket closes while waiting.
  [[nodiscard]] virtual Task<Result<Datagram>> receive_from(Instant deadline = far_future) = 0;
  // Errc::unreachable without a route; Errc::no_space above 65507 bytes.
  [[nodiscard]] virtual Result<void> send_to(Endpoint destination, Bytes payload) = 0;
};

// One TCP connection as the application sees it. Destroying it closes the
// connection gracefully (or resets it when unread data remains).
class Stream {
public:
  virtual ~Stream() = default;
  // Up to out.size() bytes; 0 at the end of the stream (the peer closed).
  [[nodiscard]] virtual Task<Result<std::size_t>> read(MutableBytes out, Instant deadline = far_future) = 0;
  // All of `data`; waits while the send buffer is full (backpressure).
  [[nodiscard]] virtual Task<Result<void>> write(Bytes data, Instant deadline = far_future) = 0;
  // `head` (copied) and then all of `body`, as one write: the two leave
  // together (an HTTP head and the start of its body share a segment or a TLS
  // record). The stream may keep `body` by reference, holding its owner, until
  // the peer has acknowledged it: Morgana's TCP cuts segments straight from it.
  // By default small ones are joined and written once, large ones written in turn.
  [[nodiscard]] virtual Task<Result<void>> write_shared(Bytes head, SharedBytes body, Instant deadline = far_future);
  // write_shared and then shutdown, as one: the end of the stream may leave
  // with the last of the data (Morgana's TCP puts the FIN on its last segment
  // instead of a segment of its own). By default the two calls in turn.
  [[nodiscard]] virtual Task<Result<void>> write_last(Bytes head, SharedBytes body, Instant deadline = far_future);
  // Half-close: no more writes; the peer reads the end of the stream.
  [[nodiscard]] virtual Result<void> shutdown() = 0;
  // Resets the connection at once.
  virtual void abort() = 0;
  virtual void set_nodelay(bool nodelay) = 0;
  virtual void set_keepalive(std::optional<Duration> idle) = 0;
  [[nodiscard]] virtual Endpoint local() const = 0;
  [[nodiscard]] virtual Endpoint remote() const = 0;
};

class Listener {
public:
  virtual ~Listener() = default;
  [[nodiscard]] virtual std::uint16_t port() const = 0;
  // The next established connection. Errc::no_memory: one connection was
  // closed for want of memory (and counted), and the listener goes on; call
  // again. Any other error ends the listener, or is the deadline.
  [[nodiscard]] virtual Task<Result<std::unique_ptr<Stream>>> accept(Instant deadline = far_future) = 0;
};

class Network {
public:
  virtual ~Network() = default;
  // Binds a UDP port (0: a free ephemeral port).
  [[nodiscard]] virtual Result<std::unique_ptr<DatagramSocket>> udp_bind(std::uint16_t port) = 0;
  [[nodiscard]] virtual Result<std::unique_ptr<Listener>> tcp_listen(std::uint16_t port,
                                                                     TcpListenOptions options = {}) = 0;
  // Errc::timed_out at the deadline; Errc::closed when refused.
  [[nodiscard]] virtual Task<Result<std::unique_ptr<Stream>>> tcp_connect(Endpoint remote, Instant deadline,
                                                                          TcpConnectionOptions options = {}) = 0;
  // Our address (0.0.0.0 when the host's sockets pick it).
  [[nodiscard]] virtual Ipv4Address address() const = 0;
  // Name servers learnt from DHCP, if any.
  [[nodiscard]] virtual std::span<const Ipv4Address> dns_servers() const = 0;
};

} // namespace morgana::net
