// blog: a Canopy blog from a git branch, rendered once into memory and served
// over HTTP and HTTPS. Its stores and settings are in morgana.toml:
//
//   blog --net=socket --remote=git://127.0.0.1/blog.git --port=8080 --tls=0
//   ./morgana configure examples/blog --target pvh --crunch tls=KEYS -- --remote=git://HOST/blog.git \
//       --index-page=Posts --name="full stack engineer" --tls=443 --port=80
//
// The repository is Canopy's (.config/, articles with a header, redirects,
// static/; see morgana/blog/article.h and snapshot.h). At boot the blog
// clones it, retrying with backoff (1 s doubling to 60 s) while the remote is
// unreachable; until the first render every page is 503 with a short page
// and Retry-After. Each new head (pulled every --pull-interval, or at once on
// a POST to --webhook-path signed with --webhook-secret; see
// morgana/http/webhook.h) is rendered again, reusing the previous snapshot
// for what did not change, and the new snapshot replaces the old one in one
// step: later requests see it, responses in flight finish from the old one.
// A failed pull keeps what is served; an article whose header no longer
// parses keeps its previous rendering, and the log names it.

#include <memory>
#include <optional>
#include <string>

#include "morgana/blog/handler.h"
#include "morgana/blog/snapshot.h"
#include "morgana/core/counter.h"
#include "morgana/git/follower.h"
#include "morgana/http/client.h"
#include "morgana/http/router.h"
#include "morgana/http/site.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/http/webhook.h"
#include "morgana/net/dns_resolver.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

Counter pulls{"blog.pulls", "pulls started (at boot, periodic, or asked for by the webhook)"};
Counter pulls_failed{"blog.pulls_failed", "pulls that failed: the remote unreachable or refusing, a bad pack, or a "
                                          "head that could not be rendered"};
Counter renders{"blog.renders", "new heads rendered and swapped in to be served"};

constexpr std::string_view starting_page =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Starting</title></head>\n"
    "<body><h1>Starting</h1><p>The blog is fetching its content. Please retry in a moment.</p></body></html>\n";

// A plain function, not a capturing coroutine lambda: the frame must not refer to a closure a Router may move.
Task<http::Response> serve_blog(const git::Follower* follower, const blog::Handler* blog,
                                const http::Request& request) {
  if (!follower->serving()) {
    auto response = http::Response::text(http::Status::service_unavailable, starting_page, "text/html; charset=utf-8");
    response.headers.set("Retry-After", format_string("{}", follower->retry_after_seconds()));
    response.headers.set("Cache-Control", "no-store");
    co_return response;
  }
  co_return blog->respond(request);
}

std::optional<std::string> optional_string(const std::optional<std::string_view>& setting) {
  if (!setting) return std::nullopt;
  return std::string(*setting);
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

  // Revalidated on every use (cheap: ETags are digests) so that a push shows at once.
  blog::Handler blog(nullptr, {.cache_control = "no-cache"});
  blog::RenderOptions render_options{.name = optional_string(settings.name),
                                     .index_page = optional_string(settings.index_page)};
  auto render = [&blog, &render_options, &log](const git::FollowedHead& head) -> Result<void> {
    auto commit = TRY(head.repository.read_commit(head.head));
    auto options = render_options;
    options.head_date = WallClock::time_point{std::chrono::seconds{commit.commit.author.time}};
    auto snapshot = TRY(blog::render(*head.tree, options, blog.snapshot().get(), log));
    const auto& stats = snapshot->stats();
    log.info("rendered {}: {} articles ({} rendered again), {} list pages, {} static files, {} files skipped",
             head.head, stats.articles, stats.articles_rendered, stats.pages_rendered, stats.static_files,
             stats.skipped);
    blog.replace_snapshot(std::move(snapshot));
    return {};
  };
  git::Follower follower(git::transport_opener(remote, network, &resolver, http_client), format_string("{}", remote),
                         {.branch = std::string(settings.branch),
                          .interval = settings.pull_interval,
                          .timeout = settings.pull_timeout,
                          .first_retry = std::chrono::seconds(1),
                          .longest_retry = std::chrono::seconds(60),
                          .counters = {.pulls = &pulls, .pulls_failed = &pulls_failed, .heads_served = &renders}},
                         render, log);
  http::Router router;
  if (!settings.webhook_path.empty()) {
    router.add("POST", settings.webhook_path,
               http::webhook_handler(std::string(settings.webhook_secret), [&follower] { follower.request(); }));
  }
  router.add_prefix("GET", "/",
                    [&follower, &blog](http::Request& request) { return serve_blog(&follower, &blog, request); });

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
