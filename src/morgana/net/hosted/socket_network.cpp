#include "morgana/net/hosted/socket_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/platform/hosted/fd_wait.h"

namespace morgana::net {
namespace {

using platform::hosted::wait_fd;

log::Source socket_log{"socket"};
Counter refused_for_memory{"socket.no_memory", "accepted connections closed at once: no memory for their stream"};

Error errno_error(std::string_view context) {
  switch (errno) {
  case ECONNREFUSED:
  case ECONNRESET:
  case EPIPE: return Error{Errc::closed, context};
  case ETIMEDOUT: return Error{Errc::timed_out, context};
  case EADDRINUSE: return Error{Errc::in_use, context};
  case ENETUNREACH:
  case EHOSTUNREACH: return Error{Errc::unreachable, context};
  case ENOMEM:
  case ENOBUFS: return Error{Errc::no_memory, context};
  case EACCES:
  case EPERM: return Error{Errc::invalid_argument, context};
  default: return Error{Errc::io_error, context};
  }
}

sockaddr_in to_sockaddr(Endpoint endpoint) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port);
  address.sin_addr.s_addr = htonl(endpoint.address.value);
  return address;
}

Endpoint from_sockaddr(const sockaddr_in& address) {
  return {{ntohl(address.sin_addr.s_addr)}, ntohs(address.sin_port)};
}

// An owned, non-blocking host socket.
class Socket {
public:
  explicit Socket(int fd) : m_fd(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (m_fd >= 0) ::close(m_fd);
  }
  [[nodiscard]] int fd() const { return m_fd; }

  // Owns `fd` at once: closed when the Socket cannot be allocated.
  static Result<std::unique_ptr<Socket>> adopt(int fd) {
    auto socket = try_make_unique<Socket>("socket", fd);
    if (!socket) ::close(fd);
    return socket;
  }

  static Result<std::unique_ptr<Socket>> open(int type) {
    int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(errno_error("socket"));
    return adopt(fd);
  }

  [[nodiscard]] Result<void> bind(Endpoint local) {
    int one = 1;
    setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto address = to_sockaddr(local);
    if (::bind(m_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
      return std::unexpected(errno_error("bind"));
    return {};
  }

  [[nodiscard]] Endpoint name(bool peer) const {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (peer) getpeername(m_fd, reinterpret_cast<sockaddr*>(&address), &length);
    else getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length);
    return from_sockaddr(address);
  }

private:
  int m_fd;
};

class SocketStream final : public Stream {
public:
  explicit SocketStream(std::unique_ptr<Socket> socket) : m_socket(std::move(socket)) {}

  Task<Result<std::size_t>> read(MutableBytes out, Instant deadline) override {
    while (true) {
      auto n = ::recv(m_socket->fd(), out.data(), out.size(), 0);
      if (n >= 0) co_return static_cast<std::size_t>(n);
      if (errno != EAGAIN && errno != EINTR) co_return std::unexpected(errno_error("recv"));
      CO_TRY(co_await wait_fd(m_socket->fd(), POLLIN, deadline));
    }
  }

  Task<Result<void>> write(Bytes data, Instant deadline) override {
    while (!data.empty()) {
      auto n = ::send(m_socket->fd(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        data = data.subspan(static_cast<std::size_t>(n));
        continue;
      }
      if (errno != EAGAIN && errno != EINTR) co_return std::unexpected(errno_error("send"));
      CO_TRY(co_await wait_fd(m_socket->fd(), POLLOUT, deadline));
    }
    co_return Result<void>{};
  }

  Result<void> shutdown() override {
    if (::shutdown(m_socket->fd(), SHUT_WR) < 0) return std::unexpected(errno_error("shutdown"));
    return {};
  }

  void abort() override {
    // SO_LINGER with a zero timeout makes close() send RST.
    linger reset{1, 0};
    setsockopt(m_socket->fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::shutdown(m_socket->fd(), SHUT_RDWR);
  }

  void set_nodelay(bool nodelay) override {
    int value = nodelay;
    setsockopt(m_socket->fd(), IPPROTO_TCP, TCP_NODELAY, &value, sizeof value);
  }

  void set_keepalive(std::optional<Duration> idle) override {
    int on = idle.has_value();
    setsockopt(m_socket->fd(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    if (idle) {
      int seconds = static_cast<int>(std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(*idle).count()));
      setsockopt(m_socket->fd(), IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds);
    }
  }

  Endpoint local() const override { return m_socket->name(false); }
  Endpoint remote() const override { return m_socket->name(true); }

private:
  std::unique_ptr<Socket> m_socket;
};

Result<std::unique_ptr<Stream>> make_stream(std::unique_ptr<Socket> socket) {
  return TRY(try_make_unique<SocketStream>("stream", std::move(socket)));
}

class SocketListener final : public Listener {
public:
  SocketListener(std::unique_ptr<Socket> socket, std::uint16_t port) : m_socket(std::move(socket)), m_port(port) {}

  std::uint16_t port() const override { return m_port; }

  Task<Result<std::unique_ptr<Stream>>> accept(Instant deadline) override {
    while (true) {
      int fd = ::accept4(m_socket->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        // A connection without memory for its stream is closed; the listener goes on.
        auto socket = Socket::adopt(fd);
        auto stream = socket ? make_stream(std::move(*socket)) : std::unexpected(socket.error());
        if (stream) co_return std::move(*stream);
        refused_for_memory.increment();
        continue;
      }
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) co_return std::unexpected(errno_error("accept"));
      CO_TRY(co_await wait_fd(m_socket->fd(), POLLIN, deadline));
    }
  }

private:
  std::unique_ptr<Socket> m_socket;
  std::uint16_t m_port;
};

class SocketDatagrams final : public DatagramSocket {
public:
  explicit SocketDatagrams(std::unique_ptr<Socket> socket) : m_socket(std::move(socket)) {}

  std::uint16_t local_port() const override { return m_socket->name(false).port; }

  Task<Result<Datagram>> receive_from(Instant deadline) override {
    std::byte buffer[65536];
    while (true) {
      sockaddr_in from{};
      socklen_t length = sizeof from;
      auto n = ::recvfrom(m_socket->fd(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
      if (n >= 0) {
        auto payload = CO_TRY(PacketBuffer::copy_of(std::span(buffer, static_cast<std::size_t>(n))));
        co_return Datagram{from_sockaddr(from), m_socket->name(false).address, std::move(payload)};
      }
      if (errno != EAGAIN && errno != EINTR) co_return std::unexpected(errno_error("recvfrom"));
      CO_TRY(co_await wait_fd(m_socket->fd(), POLLIN, deadline));
    }
  }

  Result<void> send_to(Endpoint destination, Bytes payload) override {
    auto address = to_sockaddr(destination);
    if (::sendto(m_socket->fd(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&address),
                 sizeof address) < 0)
      return std::unexpected(errno_error("sendto"));
    return {};
  }

private:
  std::unique_ptr<Socket> m_socket;
};

class SocketNetwork final : public Network {
public:
  explicit SocketNetwork(SocketNetworkConfig config) : m_config(std::move(config)) {}

  Result<std::unique_ptr<DatagramSocket>> udp_bind(std::uint16_t port) override {
    auto socket = TRY(Socket::open(SOCK_DGRAM));
    TRY(socket->bind({m_config.bind_address, port}));
    return TRY(try_make_unique<SocketDatagrams>("UDP socket", std::move(socket)));
  }

  Result<std::unique_ptr<Listener>> tcp_listen(std::uint16_t port, TcpListenOptions options) override {
    auto socket = TRY(Socket::open(SOCK_STREAM));
    TRY(socket->bind({m_config.bind_address, port}));
    if (::listen(socket->fd(), static_cast<int>(options.backlog)) < 0) return std::unexpected(errno_error("listen"));
    return TRY(try_make_unique<SocketListener>("listener", std::move(socket), port));
  }

  Task<Result<std::unique_ptr<Stream>>> tcp_connect(Endpoint remote, Instant deadline,
                                                    TcpConnectionOptions options) override {
    auto socket = CO_TRY(Socket::open(SOCK_STREAM));
    auto address = to_sockaddr(remote);
    if (::connect(socket->fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
      if (errno != EINPROGRESS) co_return std::unexpected(errno_error("connect"));
      CO_TRY(co_await wait_fd(socket->fd(), POLLOUT, deadline));
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(socket->fd(), SOL_SOCKET, SO_ERROR, &error, &length);
      if (error) {
        errno = error;
        co_return std::unexpected(errno_error("connect"));
      }
    }
    auto stream = CO_TRY(make_stream(std::move(socket)));
    stream->set_nodelay(options.nodelay);
    if (options.keepalive) stream->set_keepalive(options.keepalive);
    co_return stream;
  }

  Ipv4Address address() const override { return m_config.bind_address; }
  std::span<const Ipv4Address> dns_servers() const override { return m_config.dns_servers; }

private:
  SocketNetworkConfig m_config;
};

} // namespace

Result<std::unique_ptr<Network>> open_socket_network(SocketNetworkConfig config) {
  auto network = TRY(try_make_unique<SocketNetwork>("socket network", std::move(config)));
  socket_log.info("using the host's sockets (--net=socket)");
  return network;
}

} // namespace morgana::net
