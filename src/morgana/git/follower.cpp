#include "morgana/git/follower.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "morgana/git/client.h"
#include "morgana/git/open_transport.h"

namespace morgana::git {

namespace {

void bump(Counter* counter) {
  if (counter) counter->increment();
}

} // namespace

Result<RemoteUrl> remote_from_setting(const std::optional<std::string_view>& remote, bool have_trust_anchors,
                                      const log::Source& log) {
  if (!remote) {
    log.error("--remote=URL is required: git://HOST[:PORT]/PATH, http:// or https://");
    return fail(Errc::invalid_argument, "no --remote");
  }
  auto url = RemoteUrl::parse(*remote);
  if (!url) {
    log.error("--remote={}: {}", *remote, url.error().context);
    // A bad argument whatever the reason (ssh:// is Errc::unsupported): exit status 2.
    return fail(Errc::invalid_argument, url.error().context);
  }
  if (url->scheme == RemoteScheme::https && !have_trust_anchors) {
    log.error("--remote={}: https needs trust anchors; give the CA's .pem files with ./morgana configure "
              "APP-DIR --crunch ca=DIR (or on hosted, boot with --store=ca=DIR)",
              *url);
    return fail(Errc::invalid_argument, "https remote without trust anchors");
  }
  return url;
}

TransportOpener transport_opener(RemoteUrl url, net::Network& network, net::DnsResolver* resolver,
                                 http::Client& http_client) {
  return [url = std::move(url), &network, resolver, &http_client] {
    return open_transport(url, network, resolver, http_client);
  };
}

Follower::Follower(TransportOpener open, std::string remote, FollowerOptions options, OnHead on_head,
                   const log::Source& log)
    : m_open(std::move(open)), m_remote(std::move(remote)), m_options(std::move(options)),
      m_on_head(std::move(on_head)), m_log(log) {}

void Follower::start() {
  m_task = run();
  m_task.start();
}

void Follower::request() {
  m_requested = true;
  m_requests.notify_one();
}

std::uint64_t Follower::retry_after_seconds() const {
  auto left = std::chrono::ceil<std::chrono::seconds>(m_next_attempt - MonotonicClock::now()).count();
  return static_cast<std::uint64_t>(std::max<std::int64_t>(left, 1));
}

Task<bool> Follower::wait_for_request(Instant deadline) {
  while (!m_requested) {
    auto woken = co_await m_requests.wait(deadline);
    if (!woken) co_return woken.error() == Errc::timed_out;
  }
  co_return true;
}

Task<void> Follower::run() {
  // At boot: until the first success, with backoff; a request meanwhile retries at once.
  auto backoff = m_options.first_retry;
  for (;;) {
    m_requested = false;
    auto pulled = co_await pull();
    if (pulled) break;
    m_next_attempt = MonotonicClock::now() + backoff;
    m_log.warn("nothing to serve yet; pulling again in {}", backoff);
    if (!co_await wait_for_request(m_next_attempt)) co_return;
    backoff = std::min(backoff * 2, m_options.longest_retry);
  }
  for (;;) {
    auto deadline = m_options.interval == Duration::zero() ? far_future : MonotonicClock::now() + m_options.interval;
    if (!co_await wait_for_request(deadline)) co_return;
    // Cleared before pulling: a request that arrives during this pull asks for one more.
    m_requested = false;
    // A failure is logged by pull(); what is served stays.
    (void)co_await pull();
  }
}

Task<Result<void>> Follower::pull() {
  bump(m_options.counters.pulls);
  auto result = co_await fetch();
  if (result) result = accept_head(*m_repository.head());
  if (!result) bump(m_options.counters.pulls_failed);
  co_return result;
}

Task<Result<void>> Follower::fetch() {
  auto transport = m_open();
  if (!transport) {
    m_log.error("pull from {} failed: {}", m_remote, transport.error());
    co_return std::unexpected(transport.error());
  }
  Client client(**transport);
  auto fetched =
      co_await m_repository.fetch(client, {.branch = m_options.branch}, MonotonicClock::now() + m_options.timeout);
  if (!fetched) {
    // The client's sentence holds the server's or the transport's own words; the error, only its kind.
    if (client.last_error().empty()) m_log.error("pull from {} failed: {}", m_remote, fetched.error());
    else m_log.error("pull from {} failed: {}", m_remote, client.last_error());
  }
  co_return fetched;
}

Result<void> Follower::accept_head(const ObjectId& head) {
  if (m_tree && m_tree->commit() == head) {
    m_log.info("pulled: {} is still {}", m_repository.branch(), head);
    return {};
  }
  auto accepted = [&]() -> Result<void> {
    TRY(m_history.update(m_repository, head));
    auto tree = TRY(TreeStore::create(m_repository, head, &m_history, m_tree.get()));
    TRY(m_on_head({.repository = m_repository, .head = head, .tree = tree, .history = m_history}));
    m_tree = std::move(tree);
    return {};
  }();
  if (!accepted) {
    m_log.error("cannot serve {}: {}", head, accepted.error());
    return accepted;
  }
  bump(m_options.counters.heads_served);
  m_log.info("serving {} ({} files) of {}", head, m_tree->size(), m_repository.branch());
  return {};
}

} // namespace morgana::git
