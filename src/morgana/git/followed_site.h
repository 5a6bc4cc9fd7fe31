#pragma once

// What git-site and the blog share around what they serve: a Follower on
// the remote whose new heads the application turns into what it serves, the
// webhook that makes it pull, and http::Site (HTTP, HTTPS, 301, HSTS). Until
// a head was accepted every GET is 503 with `starting_page` and Retry-After;
// then GETs go to the application's handler.
//
//   auto options = CO_TRY(git::followed_site_options(settings, anchors, counters, starting_page, log));
//   auto site = CO_TRY(git::FollowedSite::start(network, context.stores.tls, std::move(options), on_head,
//                                               files.handler(), log));
//   co_await context.stopped();

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/git/follower.h"
#include "morgana/git/remote_url.h"
#include "morgana/http/client.h"
#include "morgana/http/router.h"
#include "morgana/http/site.h"
#include "morgana/http/webhook.h"
#include "morgana/kv/store.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"
#include "morgana/tls/credentials.h"

namespace morgana::git {

struct FollowedSiteOptions {
  RemoteUrl remote;
  std::shared_ptr<const tls::TrustAnchors> trust_anchors; // for an https remote
  FollowerOptions follower;
  std::string webhook_path; // empty: no webhook
  std::string webhook_secret;
  http::SiteOptions site;
  std::string starting_page; // the 503's HTML body until the first head is accepted
};

// The options from an application's settings, named as git-site's and the
// blog's morgana.toml name them (remote, branch, pull-interval, pull-timeout,
// webhook-path, webhook-secret, port, tls, redirect-port, max-connections),
// checked (remote_from_setting, http::check_webhook_settings); the boot's
// backoff goes from 1 s to 60 s.
template <class Settings>
[[nodiscard]] Result<FollowedSiteOptions>
followed_site_options(const Settings& settings, const std::shared_ptr<const tls::TrustAnchors>& trust_anchors,
                      FollowerCounters counters, std::string_view starting_page, const log::Source& log) {
  auto remote = TRY(remote_from_setting(settings.remote, trust_anchors != nullptr, log));
  TRY(http::check_webhook_settings(settings.webhook_path, settings.webhook_secret, log));
  return FollowedSiteOptions{.remote = std::move(remote),
                             .trust_anchors = trust_anchors,
                             .follower = {.branch = std::string(settings.branch),
                                          .interval = settings.pull_interval,
                                          .timeout = settings.pull_timeout,
                                          .first_retry = std::chrono::seconds(1),
                                          .longest_retry = std::chrono::seconds(60),
                                          .counters = counters},
                             .webhook_path = std::string(settings.webhook_path),
                             .webhook_secret = std::string(settings.webhook_secret),
                             .site = {.http_port = settings.port,
                                      .https_port = settings.tls,
                                      .redirect_port = settings.redirect_port,
                                      .max_connections = settings.max_connections},
                             .starting_page = std::string(starting_page)};
}

class FollowedSite {
public:
  // Listens (failures as http::Site::start gives them), then starts following.
  // `serve` answers GETs once `on_head` accepted a head; the arguments outlive the site.
  [[nodiscard]] static Result<std::unique_ptr<FollowedSite>> start(net::Network& network, const kv::Store* tls_keys,
                                                                   FollowedSiteOptions options,
                                                                   Follower::OnHead on_head, http::Handler serve,
                                                                   const log::Source& log);
  FollowedSite(const FollowedSite&) = delete;
  FollowedSite& operator=(const FollowedSite&) = delete;

  [[nodiscard]] const Follower& follower() const { return m_follower; }

private:
  friend struct morgana::NothrowNew;
  FollowedSite(net::Network& network, FollowedSiteOptions options, Follower::OnHead on_head, http::Handler serve,
               const log::Source& log);
  [[nodiscard]] static Task<http::Response> answer_get(const FollowedSite* site, http::Request& request);

  FollowedSiteOptions m_options;
  http::Handler m_serve;
  net::DnsResolver m_resolver;
  http::Client m_http_client;
  Follower m_follower;
  http::Router m_router;
  // Last: stopped first, while the router and follower it uses are still there.
  std::unique_ptr<http::Site> m_site;
};

} // namespace morgana::git
