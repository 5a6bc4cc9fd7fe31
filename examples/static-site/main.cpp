// Static site: serves a store of files over HTTP and HTTPS, like MirageOS's
// static_website_tls. Its stores and settings are in morgana.toml:
//
//   ./morgana configure examples/static-site --target pvh --crunch site=DIR --crunch tls=KEYS -- --port=80 --tls=443
//   ./morgana build examples/static-site
//   static-site --store=site=DIR,tls=KEYS     (hosted: read at boot, no rebuild)
//
// With TLS keys (server.pem, server.key), plain HTTP answers 301 to the same
// path over HTTPS and HTTPS responses carry Strict-Transport-Security;
// --tls=0 serves plain HTTP only.

#include "morgana/http/site.h"
#include "morgana/http/static_files.h"
#include "morgana_app.h"

using namespace morgana;

Task<Result<void>> app_main(app::Context& context) {
  auto& network = *CO_TRY(co_await context.network());
  http::StaticFiles files(context.stores.site);
  http::SiteOptions options{.http_port = context.settings.port,
                            .https_port = context.settings.tls,
                            .redirect_port = context.settings.redirect_port,
                            .max_connections = context.settings.max_connections};
  auto site = CO_TRY(http::Site::start(network, files.handler(), context.stores.tls, options));
  context.log().info("serving on {}: http {}, https {}", network.address(), site->http_port(), site->https_port());
  co_await context.stopped();
  co_return Result<void>{};
}
