#include "morgana/http/site.h"

#include <string_view>

#include "morgana/core/ascii.h"
#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"

namespace morgana::http {
namespace {

log::Source site_log{"site"};

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
Handler redirect_to_https(std::uint16_t https_port, net::Ipv4Address own_address) {
  return [https_port, own_address](Request& request) -> Task<Response> {
    std::string location = "https://";
    if (auto host = redirect_host(request.host); !host.empty()) {
      location += host;
    } else if (request.host.empty()) {
      location += format_string("{}", own_address);
    } else {
      co_return Response::error(Status::bad_request);
    }
    if (https_port != 443) location += format_string(":{}", https_port);
    // The target as received (origin-form): path and query kept.
    location += request.target.starts_with('/') ? request.target : std::string_view("/");
    co_return Response::redirect(Status::moved_permanently, location);
  };
}

Handler with_hsts(Handler inner, std::string hsts) {
  if (hsts.empty()) return inner;
  return [inner = std::move(inner), hsts = std::move(hsts)](Request& request) -> Task<Response> {
    Response response = co_await inner(request);
    response.headers.set("Strict-Transport-Security", hsts);
    co_return response;
  };
}

Task<void> serve(Server& server, net::Listener& listener, std::string_view what) {
  auto result = co_await server.serve(listener);
  site_log.error("{} listener on port {} stopped: {}", what, listener.port(),
                 result ? Error{Errc::closed} : result.error());
}

} // namespace

Result<std::unique_ptr<tls::ServerContext>> tls_from_store(const kv::Store& keys) {
  auto chain = keys.get("server.pem");
  if (!chain) return fail(Errc::not_found, "the tls store has no server.pem (the certificate chain)");
  auto key = keys.get("server.key");
  if (!key) return fail(Errc::not_found, "the tls store has no server.key");
  tls::ServerConfig config;
  config.credentials.push_back(TRY(tls::Credentials::from_pem(as_string(chain->data), as_string(key->data))));
  config.alpn = {"http/1.1"};
  return tls::ServerContext::create(std::move(config));
}

Result<std::unique_ptr<Site>> Site::start(net::Network& network, Handler handler, const kv::Store* keys,
                                          const SiteOptions& options) {
  auto site = TRY(try_make_unique<Site>("site"));
  TRY(site->listen(network, std::move(handler), keys, options));
  site_log.debug("listening on {}: http {}, https {}", network.address(), site->m_http_port, site->m_https_port);
  return site;
}

Site::~Site() = default;

Result<void> Site::listen(net::Network& network, Handler handler, const kv::Store* keys, const SiteOptions& options) {
  m_http_port = options.http_port;
  m_https_port = options.https_port.value_or(keys ? 443 : 0);
  if (m_https_port != 0 && !keys) {
    site_log.error("--tls={}: no TLS keys; give a tls store holding server.pem and server.key", m_https_port);
    return fail(Errc::invalid_argument, "HTTPS without TLS keys");
  }
  if (m_http_port == 0 && m_https_port == 0) {
    site_log.error("--port=0 and no HTTPS: nothing to serve");
    return fail(Errc::invalid_argument, "no port to serve");
  }
  if (m_https_port != 0) {
    auto context = tls_from_store(*keys);
    if (!context) {
      site_log.error("cannot set up TLS from the tls store: {}", context.error());
      return std::unexpected(context.error());
    }
    m_tls = std::move(*context);
  }

  ServerOptions server_options;
  server_options.max_connections = options.max_connections;
  auto listen_on = [&](std::uint16_t port) -> Result<std::unique_ptr<net::Listener>> {
    auto listener = network.tcp_listen(port);
    if (!listener) site_log.error("cannot listen on port {}: {}", port, listener.error());
    return listener;
  };
  if (m_http_port != 0) {
    Handler plain = m_https_port != 0
                        ? redirect_to_https(options.redirect_port.value_or(m_https_port), network.address())
                        : handler;
    m_plain = TRY(try_make_unique<Server>("HTTP server", std::move(plain), server_options));
    m_plain_listener = TRY(listen_on(m_http_port));
  }
  if (m_https_port != 0) {
    server_options.secure = true;
    m_secure =
        TRY(try_make_unique<Server>("HTTPS server", with_hsts(std::move(handler), options.hsts), server_options));
    auto tcp = TRY(listen_on(m_https_port));
    m_secure_listener = TRY(try_make_unique<tls::Listener>("HTTPS listener", std::move(tcp), *m_tls));
  }
  if (m_plain) {
    m_plain_task = serve(*m_plain, *m_plain_listener, "HTTP");
    m_plain_task.start();
  }
  if (m_secure) {
    m_secure_task = serve(*m_secure, *m_secure_listener, "HTTPS");
    m_secure_task.start();
  }
  return {};
}

} // namespace morgana::http
