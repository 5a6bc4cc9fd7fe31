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

#include "morgana/core/counter.h"
#include "morgana/git/follower.h"
#include "morgana/http/client.h"
#include "morgana/http/router.h"
#include "morgana/http/site.h"
#include "morgana/http/static_files.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/http/webhook.h"
#include "morgana/net/dns_resolver.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

Counter pulls{"git_site.pulls", "pulls started (at boot, periodic, or asked for by the webhook)"};
Counter pulls_failed{"git_site.pulls_failed", "pulls that failed: the remote unreachable or refusing, or a bad pack"};
Counter trees_served{"git_site.trees_served", "commits whose tree was swapped in to be served"};

// A plain function, not a capturing coroutine lambda: the frame must not refer to a closure a Router may move.
Task<http::Response> serve_files(const git::Follower* follower, const http::StaticFiles* files,
                                 const http::Request& request) {
  if (!follower->serving()) {
    auto response = http::Response::error(http::Status::service_unavailable);
    response.headers.set("Retry-After", format_string("{}", follower->retry_after_seconds()));
    co_return response;
  }
  co_return files->respond(request);
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  auto anchors = CO_TRY(http::trust_anchors_from_store(context.stores.ca, log));
  auto remote = CO_TRY(git::remote_from_setting(settings.remote, anchors != nullptr, log));
  CO_TRY(http::check_webhook_settings(settings.webhook_path, settings.webhook_secret, log));
  auto& network = *CO_TRY(co_await context.network());
  net::DnsResolver resolver(network);
  http::Client http_client(network,
                           {.request_timeout = settings.pull_timeout, .trust_anchors = anchors, .resolver = &resolver});

  // Revalidated on every use (cheap: the ETag is the blob id) so that a push shows at once.
  http::StaticFiles files(std::shared_ptr<const kv::Store>{}, {.cache_control = "no-cache"});
  // Each new tree is swapped into `files` whole: later requests see it, responses in flight finish from the old one.
  git::Follower follower(
      git::transport_opener(remote, network, &resolver, http_client), format_string("{}", remote),
      {.branch = std::string(settings.branch),
       .interval = settings.pull_interval,
       .timeout = settings.pull_timeout,
       .first_retry = std::chrono::seconds(1),
       .longest_retry = std::chrono::seconds(60),
       .counters = {.pulls = &pulls, .pulls_failed = &pulls_failed, .heads_served = &trees_served}},
      [&files](const git::FollowedHead& head) -> Result<void> {
        files.replace_store(head.tree);
        return {};
      },
      log);
  http::Router router;
  if (!settings.webhook_path.empty()) {
    router.add("POST", settings.webhook_path,
               http::webhook_handler(std::string(settings.webhook_secret), [&follower] { follower.request(); }));
  }
  router.add_prefix("GET", "/",
                    [&follower, &files](http::Request& request) { return serve_files(&follower, &files, request); });

  http::SiteOptions options{.http_port = settings.port,
                            .https_port = settings.tls,
                            .redirect_port = settings.redirect_port,
                            .max_connections = settings.max_connections};
  auto site = CO_TRY(http::Site::start(network, router.handler(), context.stores.tls, options));
  log.info("serving on {}: http {}, https {}; pulling {}", network.address(), site->http_port(), site->https_port(),
           remote);
  follower.start();
  co_await context.stopped();
  co_return Result<void>{};
}
