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
#include "morgana/git/followed_site.h"
#include "morgana/http/static_files.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/http/webhook.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

Counter pulls{"git_site.pulls", "pulls started (at boot, periodic, or asked for by the webhook)"};
Counter pulls_failed{"git_site.pulls_failed", "pulls that failed: the remote unreachable or refusing, or a bad pack"};
Counter trees_served{"git_site.trees_served", "commits whose tree was swapped in to be served"};

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  auto anchors = CO_TRY(http::trust_anchors_from_store(context.stores.ca, log));
  auto options = CO_TRY(git::followed_site_options(
      settings, anchors, {.pulls = &pulls, .pulls_failed = &pulls_failed, .heads_served = &trees_served},
      "<!DOCTYPE html>\n<title>Starting</title>\n<p>The site is fetching its files.\n", log));
  auto& network = *CO_TRY(co_await context.network());

  // Revalidated on every use (cheap: the ETag is the blob id) so that a push shows at once.
  http::StaticFiles files(std::shared_ptr<const kv::Store>{}, {.cache_control = "no-cache"});
  // Each new tree is swapped into `files` whole: later requests see it, responses in flight finish from the old one.
  auto swap_in = [&files](const git::FollowedHead& head) -> Result<void> {
    files.replace_store(head.tree);
    return {};
  };
  auto site =
      CO_TRY(git::FollowedSite::start(network, context.stores.tls, std::move(options), swap_in, files.handler(), log));
  co_await context.stopped();
  co_return Result<void>{};
}
