#include "morgana/git/followed_site.h"

#include <utility>

namespace morgana::git {

FollowedSite::FollowedSite(net::Network& network, FollowedSiteOptions options, Follower::OnHead on_head,
                           http::Handler serve, const log::Source& log)
    : m_options(std::move(options)), m_serve(std::move(serve)), m_resolver(network),
      m_http_client(network, {.request_timeout = m_options.follower.timeout,
                              .trust_anchors = m_options.trust_anchors,
                              .resolver = &m_resolver}),
      m_follower(transport_opener(m_options.remote, network, &m_resolver, m_http_client),
                 format_string("{}", m_options.remote), m_options.follower, std::move(on_head), log) {}

Task<http::Response> FollowedSite::answer_get(const FollowedSite* site, http::Request& request) {
  if (!site->m_follower.serving()) {
    auto response = http::Response::text(http::Status::service_unavailable, site->m_options.starting_page,
                                         "text/html; charset=utf-8");
    response.headers.set("Retry-After", format_string("{}", site->m_follower.retry_after_seconds()));
    response.headers.set("Cache-Control", "no-store");
    co_return response;
  }
  co_return co_await site->m_serve(request);
}

Result<std::unique_ptr<FollowedSite>> FollowedSite::start(net::Network& network, const kv::Store* tls_keys,
                                                          FollowedSiteOptions options, Follower::OnHead on_head,
                                                          http::Handler serve, const log::Source& log) {
  auto site = TRY(try_make_unique<FollowedSite>("followed site", network, std::move(options), std::move(on_head),
                                                std::move(serve), log));
  auto* self = site.get();
  if (!self->m_options.webhook_path.empty()) {
    self->m_router.add("POST", self->m_options.webhook_path,
                       http::webhook_handler(self->m_options.webhook_secret, [self] { self->m_follower.request(); }));
  }
  // A plain function, not a capturing coroutine lambda: the frame must not refer to a closure the Router may move.
  self->m_router.add_prefix("GET", "/", [self](http::Request& request) { return answer_get(self, request); });
  self->m_site = TRY(http::Site::start(network, self->m_router.handler(), tls_keys, self->m_options.site));
  log.info("serving on {}: http {}, https {}; pulling {}", network.address(), self->m_site->http_port(),
           self->m_site->https_port(), self->m_options.remote);
  self->m_follower.start();
  return site;
}

} // namespace morgana::git
