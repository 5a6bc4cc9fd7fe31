// git-site: serves the files of a git branch over HTTP and HTTPS, like
// static-site, from a repository it clones at boot and keeps pulling. Its
// stores and settings are in morgana.toml:
//
//   git-site --net=socket --remote=git://127.0.0.1/site.git --port=8080 --tls=0
//   ./morgana configure examples/git-site --target pvh --crunch tls=KEYS -- --tls=443 \
//       --remote=https://git.example.org/site.git --webhook-path=/hooks/push --webhook-secret=SECRET
//
// A path is served as its blob (`dir/` as dir/index.html), with ETag the blob
// id and Last-Modified the date of the last commit that changed it. Until
// the first pull succeeds every page is 503 with Retry-After, while the pull
// is retried with backoff (1 s doubling to 60 s). A new commit (pulled every
// --pull-interval, or at once on a POST to --webhook-path signed with
// --webhook-secret; see morgana/http/webhook.h) replaces the tree served in
// one step. The webhook needs HTTPS when TLS is on: plain HTTP only answers
// 301, and GitLab's token would cross the network in the clear.

#include <string>

#include "morgana/http/client.h"
#include "morgana/http/router.h"
#include "morgana/http/site.h"
#include "morgana/http/static_files.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/http/webhook.h"
#include "morgana/net/dns_resolver.h"
#include "morgana_app.h"
#include "puller.h"

using namespace morgana;

namespace {

// A plain function, not a capturing coroutine lambda: the frame must not refer to a closure a Router may move.
Task<http::Response> serve_files(const Puller* puller, const http::StaticFiles* files, const http::Request& request) {
  if (!puller->serving()) {
    auto response = http::Response::error(http::Status::service_unavailable);
    response.headers.set("Retry-After", format_string("{}", puller->retry_after_seconds()));
    co_return response;
  }
  co_return files->respond(request);
}

// The settings that only make sense together, checked before anything starts.
Result<git::RemoteUrl> checked_settings(const auto& settings, const log::Source& log, bool have_anchors) {
  if (!settings.remote) {
    log.error("--remote=URL is required: git://HOST[:PORT]/PATH, http:// or https://");
    return fail(Errc::invalid_argument, "no --remote");
  }
  auto url = git::RemoteUrl::parse(*settings.remote);
  if (!url) {
    log.error("--remote={}: {}", *settings.remote, url.error().context);
    // A bad argument whatever the reason (ssh:// is Errc::unsupported): exit status 2.
    return fail(Errc::invalid_argument, url.error().context);
  }
  if (url->scheme == git::RemoteScheme::https && !have_anchors) {
    log.error("--remote={}: https needs trust anchors; give the CA's .pem files with ./morgana configure "
              "APP-DIR --crunch ca=DIR (or on hosted, boot with --store=ca=DIR)",
              *url);
    return fail(Errc::invalid_argument, "https remote without trust anchors");
  }
  // A webhook without a secret would let anyone make the site pull: refused at boot rather than served open.
  if (settings.webhook_path.empty() != settings.webhook_secret.empty()) {
    log.error("--webhook-path and --webhook-secret go together (a webhook is always authenticated)");
    return fail(Errc::invalid_argument, "--webhook-path without --webhook-secret, or the reverse");
  }
  if (!settings.webhook_path.empty() && !settings.webhook_path.starts_with('/')) {
    log.error("--webhook-path={}: expected a path starting with '/'", settings.webhook_path);
    return fail(Errc::invalid_argument, "--webhook-path is not a path");
  }
  return url;
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  auto anchors = CO_TRY(http::trust_anchors_from_store(context.stores.ca, log));
  auto remote = CO_TRY(checked_settings(settings, log, anchors != nullptr));
  auto& network = *CO_TRY(co_await context.network());
  net::DnsResolver resolver(network);
  http::Client http_client(network,
                           {.request_timeout = settings.pull_timeout, .trust_anchors = anchors, .resolver = &resolver});

  // Revalidated on every use (cheap: the ETag is the blob id) so that a push shows at once.
  http::StaticFiles files(std::shared_ptr<const kv::Store>{}, {.cache_control = "no-cache"});
  Puller puller(network, resolver, http_client, files,
                {.remote = remote,
                 .branch = std::string(settings.branch),
                 .interval = settings.pull_interval,
                 .timeout = settings.pull_timeout,
                 .first_retry = std::chrono::seconds(1),
                 .longest_retry = std::chrono::seconds(60)},
                log);
  http::Router router;
  if (!settings.webhook_path.empty()) {
    router.add("POST", settings.webhook_path,
               http::webhook_handler(std::string(settings.webhook_secret), [&puller] { puller.request(); }));
  }
  router.add_prefix("GET", "/",
                    [&puller, &files](http::Request& request) { return serve_files(&puller, &files, request); });

  http::SiteOptions options{.http_port = settings.port,
                            .https_port = settings.tls,
                            .redirect_port = settings.redirect_port,
                            .max_connections = settings.max_connections};
  auto site = CO_TRY(http::Site::start(network, router.handler(), context.stores.tls, options));
  log.info("serving on {}: http {}, https {}; pulling {}", network.address(), site->http_port(), site->https_port(),
           remote);
  puller.start();
  co_await context.stopped();
  co_return Result<void>{};
}
