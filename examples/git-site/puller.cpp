#include "puller.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "morgana/core/counter.h"
#include "morgana/git/client.h"
#include "morgana/git/open_transport.h"

using namespace morgana;

namespace {

Counter pulls{"git_site.pulls", "pulls started (at boot, periodic, or asked for by the webhook)"};
Counter pulls_failed{"git_site.pulls_failed", "pulls that failed: the remote unreachable or refusing, or a bad pack"};
Counter trees_served{"git_site.trees_served", "commits whose tree was swapped in to be served"};

} // namespace

Puller::Puller(net::Network& network, net::DnsResolver& resolver, http::Client& http_client, http::StaticFiles& files,
               PullerOptions options, const log::Source& log)
    : m_network(network), m_resolver(resolver), m_http_client(http_client), m_files(files),
      m_options(std::move(options)), m_log(log) {}

void Puller::start() {
  m_task = run();
  m_task.start();
}

void Puller::request() {
  m_requested = true;
  m_requests.notify_one();
}

std::uint64_t Puller::retry_after_seconds() const {
  auto left = std::chrono::ceil<std::chrono::seconds>(m_next_attempt - MonotonicClock::now()).count();
  return static_cast<std::uint64_t>(std::max<std::int64_t>(left, 1));
}

Task<bool> Puller::wait_for_request(Instant deadline) {
  while (!m_requested) {
    auto woken = co_await m_requests.wait(deadline);
    if (!woken) co_return woken.error() == Errc::timed_out;
  }
  co_return true;
}

Task<void> Puller::run() {
  // At boot: until the first success, with backoff; a webhook meanwhile retries at once.
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
    // A failure is logged by pull(); the tree served stays.
    (void)co_await pull();
  }
}

Task<Result<void>> Puller::pull() {
  pulls.increment();
  auto result = co_await fetch();
  if (result) result = serve_head(*m_repository.head());
  if (!result) pulls_failed.increment();
  co_return result;
}

Task<Result<void>> Puller::fetch() {
  // One connection per pull: a daemon or web server does not keep an idle one for long.
  auto transport = git::open_transport(m_options.remote, m_network, &m_resolver, m_http_client);
  if (!transport) {
    m_log.error("pull from {} failed: {}", m_options.remote, transport.error());
    co_return std::unexpected(transport.error());
  }
  git::Client client(**transport);
  auto fetched =
      co_await m_repository.fetch(client, {.branch = m_options.branch}, MonotonicClock::now() + m_options.timeout);
  if (!fetched) {
    // The client's sentence holds the server's or the transport's own words; the error, only its kind.
    if (client.last_error().empty()) m_log.error("pull from {} failed: {}", m_options.remote, fetched.error());
    else m_log.error("pull from {} failed: {}", m_options.remote, client.last_error());
  }
  co_return fetched;
}

Result<void> Puller::serve_head(const git::ObjectId& head) {
  if (m_store && m_store->commit() == head) {
    m_log.info("pulled: {} is still {}", m_repository.branch(), head);
    return {};
  }
  auto served = [&]() -> Result<void> {
    TRY(m_history.update(m_repository, head));
    auto store = TRY(git::TreeStore::create(m_repository, head, &m_history, m_store.get()));
    m_files.replace_store(store);
    m_store = std::move(store);
    return {};
  }();
  if (!served) {
    m_log.error("cannot serve {}: {}", head, served.error());
    return served;
  }
  trees_served.increment();
  m_log.info("serving {} ({} files) of {}", head, m_store->size(), m_repository.branch());
  return {};
}
