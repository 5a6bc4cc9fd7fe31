// tls_app: a test tool for Morgana's TLS against real peers (OpenSSL), on the
// hosted target with the host's sockets. Two modes:
//
//   tls_app --net=socket --serve=8443 --cert=ec.pem,rsa.pem --key=ec.key,rsa.key
//       a TLS echo server (credentials chosen by SNI and by the client's suites)
//   tls_app --net=socket --fetch=127.0.0.1:8443 --ca=ca.pem --name=localhost
//       connects, sends --send and CRLF CRLF, prints the answer as
//       "answer: ..." and exits 0; exits 1 with "fetch failed: ..." otherwise.
//
// It reads its PEM files with plain POSIX calls: a hosted-only test tool,
// which portable code must never do.

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "morgana/core/args.h"
#include "morgana/core/boot.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/net/network.h"
#include "morgana/platform/interface.h"
#include "morgana/tls/client.h"
#include "morgana/tls/server.h"

namespace {

using namespace morgana;

args::Option<std::optional<std::uint16_t>> serve_arg{"serve", "run a TLS echo server on this TCP port", std::nullopt};
args::Option<std::string_view> cert_arg{"cert", "PEM certificate chain files, comma-separated", ""};
args::Option<std::string_view> key_arg{"key", "PEM private key files, comma-separated, in --cert's order", ""};
args::Option<std::string_view> alpn_arg{"alpn", "ALPN protocols, comma-separated", "http/1.1"};
args::Option<std::optional<net::Endpoint>> fetch_arg{"fetch", "connect to ADDRESS:PORT and print the answer",
                                                     std::nullopt};
args::Option<std::string_view> ca_arg{"ca", "PEM file of trust anchors (--fetch)", ""};
args::Option<std::string_view> name_arg{"name", "server name to ask for and verify (--fetch)", "localhost"};
args::Option<std::string_view> send_arg{"send", "what --fetch sends, followed by CRLF CRLF", "GET / HTTP/1.0"};
args::Option<Duration> timeout_arg{"timeout", "how long --fetch may take", 10s};

log::Source app_log{"tls-app"};

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

// Hosted only: a whole file through POSIX.
std::optional<std::string> read_file(std::string_view path) {
  std::string name(path);
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    auto count = ::read(fd, buffer, sizeof buffer);
    if (count < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (count == 0) break;
    text.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(fd);
  return text;
}

Task<void> echo(std::unique_ptr<net::Stream> connection) {
  auto& stream = static_cast<tls::Stream&>(*connection);
  std::byte buffer[16384];
  for (;;) {
    auto count = co_await stream.read(buffer, MonotonicClock::now() + 30s);
    if (!count) {
      app_log.info("connection from {} ended: {}", stream.remote(), count.error());
      co_return;
    }
    if (*count == 0) break;
    if (auto written = co_await stream.write(std::span(buffer, *count), MonotonicClock::now() + 30s); !written) {
      app_log.info("writing to {} failed: {}", stream.remote(), written.error());
      co_return;
    }
  }
  app_log.info("connection from {} closed (sni '{}', alpn '{}', resumed {})", stream.remote(), stream.server_name(),
               stream.selected_protocol(), stream.resumed());
  (void)stream.shutdown();
  // Let close_notify go out before the connection is destroyed.
  (void)co_await sleep_for(100ms);
}

Task<int> serve(std::uint16_t port) {
  tls::ServerConfig config;
  auto certs = split(cert_arg.value());
  auto keys = split(key_arg.value());
  if (certs.empty() || certs.size() != keys.size()) {
    app_log.error("--serve needs as many --key files as --cert files");
    co_return 1;
  }
  for (std::size_t i = 0; i < certs.size(); ++i) {
    auto chain = read_file(certs[i]);
    auto key = read_file(keys[i]);
    if (!chain || !key) {
      app_log.error("cannot read {} or {}", certs[i], keys[i]);
      co_return 1;
    }
    auto credentials = tls::Credentials::from_pem(*chain, *key);
    if (!credentials) {
      app_log.error("{} / {}: {}", certs[i], keys[i], credentials.error());
      co_return 1;
    }
    config.credentials.push_back(std::move(*credentials));
  }
  for (auto protocol : split(alpn_arg.value())) config.alpn.emplace_back(protocol);
  auto context = tls::ServerContext::create(std::move(config));
  if (!context) {
    app_log.error("TLS: {}", context.error());
    co_return 1;
  }
  auto network = co_await net::open_network();
  if (!network) {
    app_log.error("no network: {}", network.error());
    co_return 1;
  }
  auto tcp = (*network)->tcp_listen(port);
  if (!tcp) {
    app_log.error("cannot listen on {}: {}", port, tcp.error());
    co_return 1;
  }
  tls::Listener listener(std::move(*tcp), **context);
  app_log.info("serving TLS on port {}", listener.port());
  for (;;) {
    auto connection = co_await listener.accept();
    if (!connection) {
      app_log.warn("accept failed: {}", connection.error());
      continue;
    }
    loop().spawn(echo(std::move(*connection)));
  }
}

Task<int> fetch(net::Endpoint destination) {
  auto deadline = MonotonicClock::now() + timeout_arg.value();
  auto anchors_pem = read_file(ca_arg.value());
  if (!anchors_pem) {
    app_log.error("cannot read --ca={}", ca_arg.value());
    co_return 1;
  }
  auto anchors = tls::TrustAnchors::from_pem(*anchors_pem);
  if (!anchors) {
    app_log.error("--ca: {}", anchors.error());
    co_return 1;
  }
  auto network = co_await net::open_network();
  if (!network) {
    app_log.error("no network: {}", network.error());
    co_return 1;
  }
  auto transport = co_await (*network)->tcp_connect(destination, deadline);
  if (!transport) {
    app_log.error("fetch failed: cannot connect to {}: {}", destination, transport.error());
    co_return 1;
  }
  tls::ClientConfig config;
  config.trust_anchors = std::make_shared<tls::TrustAnchors>(std::move(*anchors));
  config.server_name = name_arg.value();
  for (auto protocol : split(alpn_arg.value())) config.alpn.emplace_back(protocol);
  auto stream = co_await tls::connect(std::move(*transport), std::move(config), deadline);
  if (!stream) {
    app_log.error("fetch failed: {}", stream.error());
    co_return 1;
  }
  app_log.info("connected to {}: suite {} alpn '{}'", destination, Hex{(*stream)->cipher_suite(), 4},
               (*stream)->selected_protocol());
  std::string request(send_arg.value());
  request += "\r\n\r\n";
  if (auto written = co_await (*stream)->write(as_bytes(request), deadline); !written) {
    app_log.error("fetch failed: writing: {}", written.error());
    co_return 1;
  }
  std::string answer;
  std::byte buffer[4096];
  for (;;) {
    auto count = co_await (*stream)->read(buffer, deadline);
    if (!count) {
      // Our own echo server answers and waits: what came before the deadline is the answer.
      if (count.error() == Errc::timed_out && !answer.empty()) break;
      app_log.error("fetch failed: reading: {}", count.error());
      co_return 1;
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
  co_return 0;
}

} // namespace

morgana::Task<int> morgana::app_main() {
  if (serve_arg.value()) co_return co_await serve(*serve_arg.value());
  if (fetch_arg.value()) co_return co_await fetch(*fetch_arg.value());
  app_log.error("give --serve=PORT or --fetch=ADDRESS:PORT (see --help)");
  co_return 1;
}
