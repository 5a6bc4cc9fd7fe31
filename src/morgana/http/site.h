#pragma once

// What every website needs around its handler: HTTP and HTTPS listeners, TLS
// from a store of keys, plain HTTP answering 301 to the same path over HTTPS
// (RFC 9110 §15.4.2; the host checked before it is echoed), and HSTS on every
// HTTPS response (RFC 6797). Static sites, git-backed sites and the blog
// differ only in their handler.
//
//   auto site = CO_TRY(http::Site::start(network, files.handler(), context.stores.tls, options));
//   co_await context.stopped();

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/http/request.h"
#include "morgana/http/server.h"
#include "morgana/kv/store.h"
#include "morgana/net/network.h"
#include "morgana/tls/server.h"

namespace morgana::http {

struct SiteOptions {
  std::uint16_t http_port = 80;               // 0: no plain HTTP
  std::optional<std::uint16_t> https_port;    // 0: none; absent: 443 when there are keys, else none
  std::optional<std::uint16_t> redirect_port; // the HTTPS port redirects name (behind a port forward)
  std::size_t max_connections = 1024;         // per port
  std::string hsts = "max-age=31536000";      // Strict-Transport-Security on HTTPS; empty: none
};

// The TLS server configuration from a store holding server.pem (the chain,
// leaf first) and server.key, offering http/1.1 by ALPN.
[[nodiscard]] Result<std::unique_ptr<tls::ServerContext>> tls_from_store(const kv::Store& keys);

class Site {
public:
  // Listens on the ports `options` asks for, with TLS from `keys` when HTTPS
  // is on. Failures are logged with what to change (no keys for HTTPS,
  // nothing to serve, a port in use) and returned.
  [[nodiscard]] static Result<std::unique_ptr<Site>> start(net::Network& network, Handler handler,
                                                           const kv::Store* keys, const SiteOptions& options);
  Site(const Site&) = delete;
  Site& operator=(const Site&) = delete;
  ~Site();

  [[nodiscard]] std::uint16_t http_port() const { return m_http_port; }
  [[nodiscard]] std::uint16_t https_port() const { return m_https_port; }

private:
  friend struct morgana::NothrowNew;
  Site() = default;
  [[nodiscard]] Result<void> listen(net::Network& network, Handler handler, const kv::Store* keys,
                                    const SiteOptions& options);

  std::uint16_t m_http_port = 0;
  std::uint16_t m_https_port = 0;
  std::unique_ptr<tls::ServerContext> m_tls;
  std::unique_ptr<Server> m_plain;
  std::unique_ptr<Server> m_secure;
  std::unique_ptr<net::Listener> m_plain_listener;
  std::unique_ptr<net::Listener> m_secure_listener;
  // Last: stopped first, while what they use is still there.
  Task<void> m_plain_task;
  Task<void> m_secure_task;
};

} // namespace morgana::http
