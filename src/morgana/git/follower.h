#pragma once

// Follows one branch of a remote: a Repository pulled at boot (retried with
// backoff until the first success), every interval, and on request (a
// webhook). Each new head is handed to the application as a TreeStore with
// dates from a PathHistory; the application decides what to serve from it
// (git-site swaps it into StaticFiles, the blog renders it) and an error it
// returns keeps what was served before.
//
// Requests coalesce: one pull at a time, and any number of requests during a
// pull schedule exactly one more after it.
//
//   git::Follower follower(git::transport_opener(url, network, &resolver, http_client), format_string("{}", url),
//                          {.interval = 60s, .timeout = 120s, .first_retry = 1s, .longest_retry = 60s},
//                          [&](const git::FollowedHead& head) -> Result<void> { ...; return {}; }, log);
//   follower.start();

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/git/object_id.h"
#include "morgana/git/path_history.h"
#include "morgana/git/remote_url.h"
#include "morgana/git/repository.h"
#include "morgana/git/transport.h"
#include "morgana/git/tree_store.h"
#include "morgana/http/client.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"

namespace morgana::git {

// An application's --remote setting parsed; https only with trust anchors
// to check the server. Every refusal is logged and is Errc::invalid_argument
// (a bad argument: exit status 2).
[[nodiscard]] Result<RemoteUrl> remote_from_setting(const std::optional<std::string_view>& remote,
                                                    bool have_trust_anchors, const log::Source& log);

// A fresh connection to the remote, one per pull: a daemon or web server does
// not keep an idle one for long.
using TransportOpener = std::function<Result<std::unique_ptr<Transport>>()>;

// The opener for a remote's URL (open_transport); it keeps references to `network`, `resolver`, `http_client`.
[[nodiscard]] TransportOpener transport_opener(RemoteUrl url, net::Network& network, net::DnsResolver* resolver,
                                               http::Client& http_client);

// What a pull brought: a head not handed over before (or handed over and refused).
struct FollowedHead {
  Repository& repository;
  const ObjectId& head;
  // The head's tree, with created and last-modified dates from `history`.
  std::shared_ptr<const TreeStore> tree;
  const PathHistory& history;
};

// Counters the application names (its own prefix), bumped by the follower; any may be null.
struct FollowerCounters {
  Counter* pulls = nullptr;        // pulls started
  Counter* pulls_failed = nullptr; // fetches failed, or the new head could not be read or was refused
  Counter* heads_served = nullptr; // new heads the application accepted
};

struct FollowerOptions {
  std::string branch;       // empty: the remote's HEAD
  Duration interval{};      // zero: no periodic pulls
  Duration timeout{};       // one pull, connect to last byte
  Duration first_retry{};   // the boot's backoff starts here and doubles...
  Duration longest_retry{}; // ...up to this
  FollowerCounters counters;
};

class Follower {
public:
  // Called on the event loop for each new head; an error keeps what was served (it is logged and
  // the head is offered again on the next pull).
  using OnHead = std::function<Result<void>(const FollowedHead&)>;

  // `remote` names the remote in the log.
  Follower(TransportOpener open, std::string remote, FollowerOptions options, OnHead on_head, const log::Source& log);
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Starts pulling: at once, then as described above.
  void start();
  // Pulls as soon as the current pull (if any) ends.
  void request();

  // Whether a head was accepted (a first pull succeeded).
  [[nodiscard]] bool serving() const { return m_tree != nullptr; }
  // The tree of the head accepted last; null before.
  [[nodiscard]] const std::shared_ptr<const TreeStore>& tree() const { return m_tree; }
  // Seconds until the next attempt while nothing is served (Retry-After), at least 1.
  [[nodiscard]] std::uint64_t retry_after_seconds() const;

private:
  [[nodiscard]] Task<void> run();
  // Fetches and hands over the new head; failures are logged and counted.
  [[nodiscard]] Task<Result<void>> pull();
  [[nodiscard]] Task<Result<void>> fetch();
  [[nodiscard]] Result<void> accept_head(const ObjectId& head);
  // Waits until `deadline` or a request; false when the follower is going away.
  [[nodiscard]] Task<bool> wait_for_request(Instant deadline);

  TransportOpener m_open;
  std::string m_remote;
  FollowerOptions m_options;
  OnHead m_on_head;
  const log::Source& m_log;

  Repository m_repository;
  PathHistory m_history;
  std::shared_ptr<const TreeStore> m_tree; // the head accepted last; null until then
  Instant m_next_attempt{};
  bool m_requested = false;
  WaitQueue m_requests;
  // Last: destroyed first, while what it uses is still there.
  Task<void> m_task;
};

} // namespace morgana::git
