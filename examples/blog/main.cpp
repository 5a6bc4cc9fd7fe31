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

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "morgana/blog/handler.h"
#include "morgana/blog/snapshot.h"
#include "morgana/core/counter.h"
#include "morgana/git/followed_site.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/http/webhook.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

Counter pulls{"blog.pulls", "pulls started (at boot, periodic, or asked for by the webhook)"};
Counter pulls_failed{"blog.pulls_failed", "pulls that failed: the remote unreachable or refusing, a bad pack, or a "
                                          "head that could not be rendered"};
Counter renders{"blog.renders", "new heads rendered and swapped in to be served"};

// The 503's page until the first head is rendered.
constexpr const char* starting_page =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Starting</title></head>\n"
    "<body><h1>Starting</h1><p>The blog is fetching its content. Please retry in a moment.</p></body></html>\n";

std::optional<std::string> optional_string(const std::optional<std::string_view>& setting) {
  if (!setting) return std::nullopt;
  return std::string(*setting);
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  auto anchors = CO_TRY(http::trust_anchors_from_store(context.stores.ca, log));
  auto options = CO_TRY(git::followed_site_options(
      settings, anchors, {.pulls = &pulls, .pulls_failed = &pulls_failed, .heads_served = &renders}, starting_page,
      log));
  auto& network = *CO_TRY(co_await context.network());

  // Revalidated on every use (cheap: ETags are digests) so that a push shows at once.
  blog::Handler blog(nullptr, {.cache_control = "no-cache"});
  blog::RenderOptions render_options{.name = optional_string(settings.name),
                                     .index_page = optional_string(settings.index_page)};
  auto render = [&blog, &render_options, &log](const git::FollowedHead& head) -> Result<void> {
    auto commit = TRY(head.repository.read_commit(head.head));
    auto with_date = render_options;
    with_date.head_date = WallClock::time_point{std::chrono::seconds{commit.commit.author.time}};
    auto snapshot = TRY(blog::render(*head.tree, with_date, blog.snapshot().get(), log));
    const auto& stats = snapshot->stats();
    log.info("rendered {}: {} articles ({} rendered again), {} list pages, {} static files, {} files skipped",
             head.head, stats.articles, stats.articles_rendered, stats.pages_rendered, stats.static_files,
             stats.skipped);
    blog.replace_snapshot(std::move(snapshot));
    return {};
  };
  auto site =
      CO_TRY(git::FollowedSite::start(network, context.stores.tls, std::move(options), render, blog.handler(), log));
  co_await context.stopped();
  co_return Result<void>{};
}
