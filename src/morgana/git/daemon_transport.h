#pragma once

// The git:// transport (gitprotocol-pack "Git Transport"): one TCP
// connection to a git daemon (port 9418 by default) per open().

#include <cstddef>
#include <memory>
#include <string>

#include "morgana/git/remote_url.h"
#include "morgana/git/transport.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"

namespace morgana::git {

class DaemonTransport final : public Transport {
public:
  static constexpr std::size_t read_size = 16384;

  // `resolver` may be null: the host must then be a dotted IPv4 address or
  // "localhost". The URL's scheme must be git://.
  DaemonTransport(net::Network& network, net::DnsResolver* resolver, RemoteUrl url);

  [[nodiscard]] Task<Result<void>> open(ProtocolVersion version, Instant deadline) override;
  [[nodiscard]] Task<Result<void>> send(Bytes request, Instant deadline) override;
  [[nodiscard]] Task<Result<Bytes>> read(Instant deadline) override;
  void close() override { m_stream.reset(); }
  // What failed on the connection, naming the remote: "connect to
  // 192.0.2.2:9418: connection refused", "reading from ...: closed (recv)".
  [[nodiscard]] std::string_view last_error() const override { return m_last_error; }

  // The git-proto-request line that open() sends (for tests).
  [[nodiscard]] Result<std::string> service_request(ProtocolVersion version) const;

private:
  [[nodiscard]] Task<Result<net::Ipv4Address>> resolve(Instant deadline);
  // Records "WHAT REMOTE: ERROR" as last_error() and returns `error`.
  std::unexpected<Error> failure(std::string_view what, Error error);

  net::Network& m_network;
  net::DnsResolver* m_resolver;
  RemoteUrl m_url;
  net::Endpoint m_remote{};
  std::unique_ptr<net::Stream> m_stream;
  std::unique_ptr<std::byte[]> m_buffer;
  std::string m_last_error;
};

} // namespace morgana::git
