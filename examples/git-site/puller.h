#pragma once

// What git-site serves: a Repository following one branch of the remote,
// pulled at boot (retried with backoff until the first success), every
// interval, and on request (the webhook). Each new head becomes a TreeStore,
// with dates from a PathHistory, swapped into the StaticFiles whole: later
// requests see the new tree, responses in flight finish from the old one.
//
// Requests coalesce: one pull at a time, and any number of requests during a
// pull schedule exactly one more after it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/git/path_history.h"
#include "morgana/git/remote_url.h"
#include "morgana/git/repository.h"
#include "morgana/git/tree_store.h"
#include "morgana/http/client.h"
#include "morgana/http/static_files.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"

struct PullerOptions {
  morgana::git::RemoteUrl remote;
  std::string branch;                // empty: the remote's HEAD
  morgana::Duration interval{};      // zero: no periodic pulls
  morgana::Duration timeout{};       // one pull, connect to last byte
  morgana::Duration first_retry{};   // the boot's backoff starts here and doubles...
  morgana::Duration longest_retry{}; // ...up to this
};

class Puller {
public:
  Puller(morgana::net::Network& network, morgana::net::DnsResolver& resolver, morgana::http::Client& http_client,
         morgana::http::StaticFiles& files, PullerOptions options, const morgana::log::Source& log);
  Puller(const Puller&) = delete;
  Puller& operator=(const Puller&) = delete;

  // Starts pulling: at once, then as described above.
  void start();
  // Pulls as soon as the current pull (if any) ends.
  void request();

  // Whether a tree is being served (a first pull succeeded).
  [[nodiscard]] bool serving() const { return m_store != nullptr; }
  // Seconds until the next attempt while nothing is served (Retry-After), at least 1.
  [[nodiscard]] std::uint64_t retry_after_seconds() const;

private:
  [[nodiscard]] morgana::Task<void> run();
  // Fetches and serves the new head; failures are logged and counted.
  [[nodiscard]] morgana::Task<morgana::Result<void>> pull();
  [[nodiscard]] morgana::Task<morgana::Result<void>> fetch();
  [[nodiscard]] morgana::Result<void> serve_head(const morgana::git::ObjectId& head);
  // Waits until `deadline` or a request; false when the puller is going away.
  [[nodiscard]] morgana::Task<bool> wait_for_request(morgana::Instant deadline);

  morgana::net::Network& m_network;
  morgana::net::DnsResolver& m_resolver;
  morgana::http::Client& m_http_client;
  morgana::http::StaticFiles& m_files;
  PullerOptions m_options;
  const morgana::log::Source& m_log;

  morgana::git::Repository m_repository;
  morgana::git::PathHistory m_history;
  std::shared_ptr<const morgana::git::TreeStore> m_store; // what is served; null until the first pull
  morgana::Instant m_next_attempt{};
  bool m_requested = false;
  morgana::WaitQueue m_requests;
  // Last: destroyed first, while what it uses is still there.
  morgana::Task<void> m_task;
};
