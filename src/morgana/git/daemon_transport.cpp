#include "morgana/git/daemon_transport.h"

#include "morgana/core/format.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/git/pkt_line.h"

namespace morgana::git {

namespace {

log::Source daemon_log{"git"};

} // namespace

DaemonTransport::DaemonTransport(net::Network& network, net::DnsResolver* resolver, RemoteUrl url)
    : m_network(network), m_resolver(resolver), m_url(std::move(url)) {}

Result<std::string> DaemonTransport::service_request(ProtocolVersion version) const {
  if (m_url.scheme != RemoteScheme::git) return fail(Errc::invalid_argument, "the git transport needs a git:// URL");
  std::string request = format_string("git-upload-pack {}", m_url.path);
  request.push_back('\0');
  request += "host=" + m_url.host;
  if (m_url.port != default_port(RemoteScheme::git)) request += format_string(":{}", m_url.port);
  request.push_back('\0');
  // Extra parameters follow a second NUL (gitprotocol-pack, "Git Transport").
  if (version == ProtocolVersion::v2) {
    request.push_back('\0');
    request += "version=2";
    request.push_back('\0');
  }
  PktLineWriter writer;
  writer.line(request);
  return writer.finish();
}

Task<Result<net::Ipv4Address>> DaemonTransport::resolve(Instant deadline) {
  if (auto address = net::parse_ipv4(m_url.host)) co_return *address;
  if (m_url.host == "localhost") co_return net::Ipv4Address::from_octets(127, 0, 0, 1);
  if (!m_resolver) co_return fail(Errc::unreachable, "no DNS resolver for the remote's host name");
  auto addresses = CO_TRY(co_await m_resolver->resolve(m_url.host, deadline));
  if (addresses.empty()) co_return fail(Errc::not_found, "the remote's host name has no address");
  co_return addresses.front();
}

std::unexpected<Error> DaemonTransport::failure(std::string_view what, Error error) {
  // A refused connection is Errc::closed "connect": said as such.
  if (what == "connect to" && error == Errc::closed)
    m_last_error = format_string("{} {}: connection refused", what, m_remote);
  else m_last_error = format_string("{} {}: {}", what, m_remote, error);
  return std::unexpected(error);
}

Task<Result<void>> DaemonTransport::open(ProtocolVersion version, Instant deadline) {
  m_stream.reset();
  m_last_error.clear();
  auto request = CO_TRY(service_request(version));
  if (!m_buffer) m_buffer = CO_TRY(try_make_unique<std::byte[]>("git read buffer", read_size));
  auto address = CO_TRY(co_await resolve(deadline));
  m_remote = {address, m_url.port};
  daemon_log.debug("connecting to {} ({}) for {}", m_url, m_remote, m_url.path);
  auto stream = co_await m_network.tcp_connect(m_remote, deadline);
  if (!stream) co_return failure("connect to", stream.error());
  m_stream = std::move(*stream);
  m_stream->set_nodelay(true);
  co_return co_await send(as_bytes(request), deadline);
}

Task<Result<void>> DaemonTransport::send(Bytes request, Instant deadline) {
  if (!m_stream) co_return fail(Errc::closed, "the git connection is not open");
  if (auto written = co_await m_stream->write(request, deadline); !written)
    co_return failure("sending to", written.error());
  co_return Result<void>{};
}

Task<Result<Bytes>> DaemonTransport::read(Instant deadline) {
  if (!m_stream) co_return fail(Errc::closed, "the git connection is not open");
  MutableBytes buffer(m_buffer.get(), read_size);
  auto count = co_await m_stream->read(buffer, deadline);
  if (!count) co_return failure("reading from", count.error());
  co_return Bytes(buffer.first(*count));
}

} // namespace morgana::git
