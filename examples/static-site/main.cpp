// Static site: serves a directory compiled into the image over HTTP and HTTPS,
// like MirageOS's static_website_tls.
//
//   ./morgana build examples/static-site --target pvh --crunch site=DIR --crunch tls=KEYS
//   static-site --store=site=DIR,tls=KEYS     (hosted: read at boot, no rebuild)
//
// The "site" store is the website (examples/static-site/site unless --crunch
// site=DIR or, on hosted, --store=site=DIR says otherwise); the "tls" store,
// when there is one, holds server.pem (the certificate chain, leaf first) and
// server.key. With TLS on, plain HTTP
// answers 301 to the same path over HTTPS and HTTPS responses carry
// Strict-Transport-Security.
//
//   static-site --port=80 --tls=443     (--tls=0: HTTP only)
//   static-site --tls=443 --redirect-port=8443   (behind a port forward: 8443 → 443)

#include <optional>
#include <string>

#include "morgana/core/args.h"
#include "morgana/core/ascii.h"
#include "morgana/core/boot.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/format.h"
#include "morgana/core/log.h"
#include "morgana/http/router.h"
#include "morgana/http/server.h"
#include "morgana/http/static_files.h"
#include "morgana/kv/stores.h"
#include "morgana/net/network.h"
#include "morgana/tls/server.h"

namespace {

using namespace morgana;

args::Option<std::uint16_t> port_arg{"port", "HTTP port (0: none)", 80};
args::Option<std::optional<std::uint16_t>> tls_arg{
    "tls", "HTTPS port, 0 for none (default: 443 when there is a tls store, else none)", std::nullopt};
args::Option<std::optional<std::uint16_t>> redirect_port_arg{
    "redirect-port", "HTTPS port named in HTTP's redirects, when clients reach --tls through another (default: --tls)",
    std::nullopt};
args::Option<std::size_t> max_connections_arg{"max-connections", "connections served at once, per port", 1024};

log::Source site_log{"static-site"};

constexpr std::string_view hsts = "max-age=31536000";

// The TLS context from the "tls" store's server.pem and server.key.
Result<std::unique_ptr<tls::ServerContext>> load_tls(const kv::Store& keys) {
  auto chain = keys.get("server.pem");
  if (!chain) return fail(Errc::not_found, "the tls store has no server.pem (the certificate chain)");
  auto key = keys.get("server.key");
  if (!key) return fail(Errc::not_found, "the tls store has no server.key");
  tls::ServerConfig config;
  config.credentials.push_back(TRY(tls::Credentials::from_pem(as_string(chain->data), as_string(key->data))));
  config.alpn = {"http/1.1"};
  return tls::ServerContext::create(std::move(config));
}

// A host name or address from a Host field, without its port; empty when it
// holds anything a URL's host cannot (it is echoed into Location).
std::string_view redirect_host(std::string_view host) {
  if (auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  if (host.empty() || host.size() > 253) return {};
  for (char c : host) {
    bool allowed = ascii::is_alnum(c) || c == '-' || c == '.';
    if (!allowed) return {};
  }
  return host;
}

// Plain HTTP when HTTPS is on: 301 to the same target over HTTPS.
http::Handler redirect_to_https(std::uint16_t https_port, net::Ipv4Address own_address) {
  return [https_port, own_address](http::Request& request) -> Task<http::Response> {
    std::string location = "https://";
    if (auto host = redirect_host(request.host); !host.empty()) {
      location += host;
    } else if (request.host.empty()) {
      location += format_string("{}", own_address);
    } else {
      co_return http::Response::error(http::Status::bad_request);
    }
    if (https_port != 443) location += format_string(":{}", https_port);
    // The target as received (origin-form): path and query kept.
    location += request.target.starts_with('/') ? request.target : std::string_view("/");
    co_return http::Response::redirect(http::Status::moved_permanently, location);
  };
}

Task<void> serve(http::Server& server, std::unique_ptr<net::Listener> listener, std::string_view what) {
  auto result = co_await server.serve(*listener);
  site_log.error("{} listener stopped: {}", what, result ? Error{Errc::closed} : result.error());
}

} // namespace

morgana::Task<int> morgana::app_main() {
  const kv::Store* site = kv::store("site");
  if (!site) {
    site_log.error("no website (stores: {}); build with --crunch site=DIR (or on hosted, boot with --store=site=DIR)",
                   kv::StoreNames{});
    co_return 2;
  }
  const kv::Store* keys = kv::store("tls");
  const std::uint16_t tls_port = tls_arg.value().value_or(keys ? 443 : 0);
  if (tls_port != 0 && !keys) {
    site_log.error("--tls={}: no TLS keys; build with --crunch tls=DIR (or on hosted, boot with --store=tls=DIR) "
                   "holding server.pem and server.key",
                   tls_port);
    co_return 2;
  }
  const std::uint16_t http_port = port_arg.value();
  if (http_port == 0 && tls_port == 0) {
    site_log.error("--port=0 and no HTTPS: nothing to serve");
    co_return 2;
  }
  std::unique_ptr<tls::ServerContext> tls_context;
  if (tls_port != 0) {
    auto context = load_tls(*keys);
    if (!context) {
      site_log.error("cannot set up TLS from the tls store: {}", context.error());
      co_return 1;
    }
    tls_context = std::move(*context);
  }

  auto network = co_await net::open_network();
  if (!network) {
    site_log.error("no network: {}", network.error());
    co_return 1;
  }

  http::StaticFilesOptions file_options;
  file_options.decorate = [](const http::Request& request, http::Response& response) {
    if (request.secure) response.headers.set("Strict-Transport-Security", hsts);
  };
  http::StaticFiles files(*site, file_options);

  http::ServerOptions options;
  options.max_connections = max_connections_arg.value();
  const std::uint16_t redirect_port = redirect_port_arg.value().value_or(tls_port);
  http::Server plain(tls_port != 0 ? redirect_to_https(redirect_port, (*network)->address()) : files.handler(),
                     options);
  options.secure = true;
  http::Server secure(files.handler(), options);

  if (http_port != 0) {
    auto listener = (*network)->tcp_listen(http_port);
    if (!listener) {
      site_log.error("cannot listen on port {}: {}", http_port, listener.error());
      co_return 1;
    }
    loop().spawn(serve(plain, std::move(*listener), "HTTP"));
  }
  if (tls_port != 0) {
    auto listener = (*network)->tcp_listen(tls_port);
    if (!listener) {
      site_log.error("cannot listen on port {}: {}", tls_port, listener.error());
      co_return 1;
    }
    loop().spawn(serve(secure, std::make_unique<tls::Listener>(std::move(*listener), *tls_context), "HTTPS"));
  }
  site_log.info("serving on {}: http {}, https {}", (*network)->address(), http_port, tls_port);
  // Serve until stopped (a signal on hosted).
  WaitQueue forever;
  (void)co_await forever.wait();
  co_return 0;
}
