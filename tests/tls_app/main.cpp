// tls_app: a test tool for Morgana's TLS against real peers (OpenSSL), on the
// hosted target with the host's sockets. Two modes:
//
//   tls_app --net=socket --serve=8443 --cert=ec.pem,rsa.pem --key=ec.key,rsa.key
//       a TLS echo server (credentials chosen by SNI and by the client's suites)
//   tls_app --net=socket --fetch=127.0.0.1:8443 --ca=ca.pem --name=localhost
//       connects, sends --send and CRLF CRLF, prints the answer as
//       "answer: ..." and exits 0; exits 1 with "fetch failed: ..." otherwise
//       (2 for bad settings).
//
// It reads its PEM files with plain POSIX calls: a hosted-only test tool,
// which portable code must never do.

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "morgana/core/event_loop.h"
#include "morgana/net/network.h"
#include "morgana/platform/interface.h"
#include "morgana/tls/client.h"
#include "morgana/tls/server.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    auto comma = text.find(',');
    parts.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

// Hosted only: a whole file through POSIX; a failure is logged with the path.
Result<std::string> read_file(std::string_view path, const log::Source& log) {
  std::string name(path);
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    log.error("cannot open {}", path);
    return fail(Errc::not_found, "a file named by a setting");
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    auto count = ::read(fd, buffer, sizeof buffer);
    if (count < 0) {
      ::close(fd);
      log.error("cannot read {}", path);
      return fail(Errc::io_error, "a file named by a setting");
    }
    if (count == 0) break;
    text.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(fd);
  return text;
}

Task<void> echo(std::unique_ptr<net::Stream> connection, const log::Source& log) {
  auto& stream = static_cast<tls::Stream&>(*connection);
  std::byte buffer[16384];
  for (;;) {
    auto count = co_await stream.read(buffer, MonotonicClock::now() + 30s);
    if (!count) {
      log.info("connection from {} ended: {}", stream.remote(), count.error());
      co_return;
    }
    if (*count == 0) break;
    if (auto written = co_await stream.write(std::span(buffer, *count), MonotonicClock::now() + 30s); !written) {
      log.info("writing to {} failed: {}", stream.remote(), written.error());
      co_return;
    }
  }
  log.info("connection from {} closed (sni '{}', alpn '{}', resumed {})", stream.remote(), stream.server_name(),
           stream.selected_protocol(), stream.resumed());
  (void)stream.shutdown();
  // Let close_notify go out before the connection is destroyed.
  (void)co_await sleep_for(100ms);
}

Task<void> accept_all(tls::Listener& listener, const log::Source& log) {
  for (;;) {
    auto connection = co_await listener.accept();
    if (!connection) {
      log.warn("accept failed: {}", connection.error());
      continue;
    }
    loop().spawn(echo(std::move(*connection), log));
  }
}

Task<Result<void>> serve(app::Context& context, std::uint16_t port) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  tls::ServerConfig config;
  auto certs = split(settings.cert);
  auto keys = split(settings.key);
  if (certs.empty() || certs.size() != keys.size())
    co_return fail(Errc::invalid_argument, "--serve needs as many --key files as --cert files");
  for (std::size_t i = 0; i < certs.size(); ++i) {
    auto chain = CO_TRY(read_file(certs[i], log));
    auto key = CO_TRY(read_file(keys[i], log));
    auto credentials = tls::Credentials::from_pem(chain, key);
    if (!credentials) {
      log.error("{} / {}: {}", certs[i], keys[i], credentials.error());
      co_return std::unexpected(credentials.error());
    }
    config.credentials.push_back(std::move(*credentials));
  }
  for (auto protocol : split(settings.alpn)) config.alpn.emplace_back(protocol);
  auto server = CO_TRY(tls::ServerContext::create(std::move(config)));
  auto& network = *CO_TRY(co_await context.network());
  auto tcp = network.tcp_listen(port);
  if (!tcp) {
    log.error("cannot listen on TCP port {}: {}", port, tcp.error());
    co_return std::unexpected(tcp.error());
  }
  tls::Listener listener(std::move(*tcp), *server);
  log.info("serving TLS on port {}", listener.port());
  auto accepting = accept_all(listener, log);
  accepting.start();
  co_await context.stopped();
  co_return Result<void>{};
}

// The exchange with the server failed: status 1, though TLS calls a refused
// certificate Errc::invalid_argument (status 2, meant for bad settings).
Error fetch_failed(const log::Source& log, std::string_view what, Error error) {
  log.error("fetch failed: {}: {}", what, error);
  if (error == Errc::invalid_argument) error.code = Errc::closed;
  return error;
}

Task<Result<void>> fetch(app::Context& context, net::Endpoint destination) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  auto deadline = MonotonicClock::now() + settings.timeout;
  auto anchors = tls::TrustAnchors::from_pem(CO_TRY(read_file(settings.ca, log)));
  if (!anchors) {
    log.error("--ca={}: {}", settings.ca, anchors.error());
    co_return std::unexpected(anchors.error());
  }
  auto& network = *CO_TRY(co_await context.network());
  auto transport = co_await network.tcp_connect(destination, deadline);
  if (!transport) co_return std::unexpected(fetch_failed(log, "connecting", transport.error()));
  tls::ClientConfig config;
  config.trust_anchors = std::make_shared<tls::TrustAnchors>(std::move(*anchors));
  config.server_name = settings.name;
  for (auto protocol : split(settings.alpn)) config.alpn.emplace_back(protocol);
  auto stream = co_await tls::connect(std::move(*transport), std::move(config), deadline);
  if (!stream) co_return std::unexpected(fetch_failed(log, "TLS", stream.error()));
  log.info("connected to {}: suite {} alpn '{}'", destination, Hex{(*stream)->cipher_suite(), 4},
           (*stream)->selected_protocol());
  std::string request(settings.send);
  request += "\r\n\r\n";
  if (auto written = co_await (*stream)->write(as_bytes(request), deadline); !written)
    co_return std::unexpected(fetch_failed(log, "writing", written.error()));
  std::string answer;
  std::byte buffer[4096];
  for (;;) {
    auto count = co_await (*stream)->read(buffer, deadline);
    if (!count) {
      // Our own echo server answers and waits: what came before the deadline is the answer.
      if (count.error() == Errc::timed_out && !answer.empty()) break;
      co_return std::unexpected(fetch_failed(log, "reading", count.error()));
    }
    if (*count == 0) break;
    answer += as_string(std::span(buffer, *count));
    if (answer.size() >= request.size() && answer.starts_with(request)) break; // an echo
  }
  platform::console_write("answer: ");
  platform::console_write(answer);
  platform::console_write("\n");
  (void)(*stream)->shutdown();
  (void)co_await sleep_for(100ms);
  co_return Result<void>{};
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  if (context.settings.serve) co_return co_await serve(context, *context.settings.serve);
  if (context.settings.fetch) co_return co_await fetch(context, *context.settings.fetch);
  co_return fail(Errc::invalid_argument, "give --serve=PORT or --fetch=ADDRESS:PORT (see --help)");
}
