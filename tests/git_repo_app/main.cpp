// git_repo_app: a Repository cloned from a real git server, for
// tests/system/git_repository_test.py and git_acceptance_test.py. Fetches the
// remote's branch and prints the state it holds: "head ID BRANCH", "pack N
// objects T thin M bytes" (T: deltas on bases held before), the head commit's
// tree as `git ls-tree -r` prints it, each line after "tree " ("MODE TYPE
// ID\tPATH": blobs and submodule entries, subtrees entered in place), with
// --blob-digest "blobs N bytes B sha256 HEX" (every blob of the listing read,
// their contents hashed in listing order), then "listed" and "log N commits".
// With --refetch-after=DURATION it waits that long, fetches again and prints
// the new state the same way, --refetches times (with --wait-for-change, each
// time once the branch has moved). A failed fetch prints
// "fetch failed: SENTENCE (ERROR)"; with --keep-going, a failed refetch is
// followed by "held head ID" and the state still held, before exiting 1.
//
// With --dates (tests/system/git_dates_test.py) it keeps a PathHistory and a
// TreeStore of the head: after the clone and after each of --date-updates new
// heads (fetching every --refetch-after until the head moves) it prints
// "history commits N trees M paths K" (the update's stats), one line
// "date LAST_MODIFIED CREATED PATH" (epoch seconds) per path that is not a
// directory, then "dates done HEAD complete|shallow".
//
//   git_repo_app --net=socket --remote=git://127.0.0.1:9418/repo.git [--refetch-after=5s]
//   git_repo_app --net=socket --remote=https://localhost:8443/repo.git --store=trust=DIR --protocol=0

#include <bearssl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "morgana/core/event_loop.h"
#include "morgana/core/format.h"
#include "morgana/git/client.h"
#include "morgana/git/follower.h"
#include "morgana/git/open_transport.h"
#include "morgana/git/path_history.h"
#include "morgana/git/repository.h"
#include "morgana/git/tree.h"
#include "morgana/git/tree_store.h"
#include "morgana/git/tree_walk.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

// More than any test repository's history.
constexpr std::size_t max_log = 1'000'000;

template <class... Args>
void print(std::string_view pattern, const Args&... args) {
  StringSink line;
  line.write("git_repo_app: ");
  format_to(line, pattern, args...);
  line.put('\n');
  platform::console_write(line.text());
}

// `git ls-tree -r` of `tree_id`.
Result<void> list_tree(git::Repository& repository, const git::ObjectId& tree_id) {
  return git::walk_tree(repository, tree_id, [](std::string_view path, const git::TreeEntry& entry) -> Result<void> {
    auto mode = static_cast<unsigned>(entry.mode);
    auto type = entry.mode == git::TreeMode::submodule ? "commit" : "blob";
    StringSink line;
    format_to(line, "tree {}{}{}{}{}{} {} {}\t{}", (mode >> 15) & 7, (mode >> 12) & 7, (mode >> 9) & 7, (mode >> 6) & 7,
              (mode >> 3) & 7, mode & 7, type, entry.id, path);
    print("{}", line.text());
    return {};
  });
}

std::int64_t epoch_seconds(WallClock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

// Prints every path below `prefix` of `store` with its dates, through the kv::Store interface.
Result<void> print_dates(const git::TreeStore& store, const git::PathHistory& history, const std::string& prefix,
                         unsigned depth) {
  if (depth > git::Repository::max_tree_depth) return fail(Errc::limit_reached, "trees nest too deeply");
  for (const auto& listed : TRY(store.list(prefix))) {
    auto path = prefix.empty() ? listed.name : prefix + "/" + listed.name;
    if (listed.is_directory) {
      TRY(print_dates(store, history, path, depth + 1));
      continue;
    }
    auto entry = TRY(store.entry(path));
    git::PathDates dates;
    if (entry.kind == git::TreeStore::Kind::file || entry.kind == git::TreeStore::Kind::executable) {
      auto metadata = TRY(store.metadata(path));
      if (metadata.digest != entry.id.to_hex()) return fail(Errc::malformed, "the digest is not the blob id");
      dates = {metadata.last_modified, metadata.created};
    } else if (const auto* known = history.find(path)) {
      dates = *known; // symlinks and submodules are not served, but git log dates them all the same
    }
    print("date {} {} {}", epoch_seconds(dates.last_modified), epoch_seconds(dates.created), path);
  }
  return {};
}

// Reads every blob of the tree: "blobs N bytes B sha256 HEX" of their contents
// in listing order, for comparison with `git cat-file --batch`'s.
Result<void> print_blob_digest(git::Repository& repository, const git::ObjectId& tree_id) {
  // Submodule entries are commits of another repository, not held.
  std::vector<git::ObjectId> blobs;
  TRY(git::walk_tree(repository, tree_id, [&blobs](std::string_view, const git::TreeEntry& entry) -> Result<void> {
    if (entry.mode != git::TreeMode::submodule) blobs.push_back(entry.id);
    return {};
  }));
  br_sha256_context sha256;
  br_sha256_init(&sha256);
  std::uint64_t bytes = 0;
  for (const auto& id : blobs) {
    auto blob = TRY(repository.store().read(id));
    if (blob.type != git::ObjectType::blob) return fail(Errc::malformed, "a tree's blob entry is not a blob");
    br_sha256_update(&sha256, blob.data.data(), blob.data.size());
    bytes += blob.data.size();
  }
  unsigned char digest[br_sha256_SIZE];
  br_sha256_out(&sha256, digest);
  StringSink hex;
  for (auto byte : digest) format_to(hex, "{}", Hex{byte, 2});
  print("blobs {} bytes {} sha256 {}", blobs.size(), bytes, hex.text());
  return {};
}

// --dates: the head's per-path dates after the clone and after each new head.
Task<Result<void>> follow_dates(git::Repository& repository, const std::function<Task<Result<void>>()>& fetch,
                                std::uint32_t updates, Duration poll) {
  git::PathHistory history;
  std::shared_ptr<const git::TreeStore> store;
  for (std::uint32_t update = 0;; ++update) {
    auto head = *repository.head();
    CO_TRY(history.update(repository, head));
    const auto& stats = history.last_update();
    print("history commits {} trees {} paths {}", stats.commits_walked, stats.trees_diffed, stats.paths_updated);
    store = CO_TRY(git::TreeStore::create(repository, head, &history, store.get()));
    CO_TRY(print_dates(*store, history, "", 0));
    print("dates done {} {}", head, store->shallow() ? "shallow" : "complete");
    if (update == updates) co_return Result<void>{};
    while (*repository.head() == head) {
      CO_TRY(co_await sleep_for(poll));
      CO_TRY(co_await fetch());
    }
  }
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  if (settings.protocol != 0 && settings.protocol != 2) co_return fail(Errc::invalid_argument, "--protocol is 0 or 2");
  auto anchors = http::trust_anchors_from_store(context.stores.trust, context.log());
  if (!anchors) co_return std::unexpected(anchors.error());
  auto url = CO_TRY(git::remote_from_setting(settings.remote, *anchors != nullptr, context.log()));
  auto& network = *CO_TRY(co_await context.network());
  net::DnsResolver resolver(network);
  http::Client http_client(network,
                           {.request_timeout = settings.timeout, .trust_anchors = *anchors, .resolver = &resolver});
  git::Repository repository;
  const git::ClientOptions client_options{.protocol = settings.protocol == 0 ? git::ProtocolVersion::v0
                                                                             : git::ProtocolVersion::v2};

  // One connection per fetch: a daemon does not keep an idle one open for long.
  auto fetch = [&]() -> Task<Result<void>> {
    auto transport = CO_TRY(git::open_transport(url, network, &resolver, http_client));
    git::Client client(*transport, client_options);
    auto fetched = co_await repository.fetch(client, {.branch = std::string(settings.branch), .depth = settings.depth},
                                             MonotonicClock::now() + settings.timeout);
    if (!fetched) {
      // The client's sentence when the wire failed; the error itself (with its context) when the pack did.
      if (client.last_error().empty()) print("fetch failed: {}", fetched.error());
      else print("fetch failed: {} ({})", client.last_error(), fetched.error().message());
      co_return std::unexpected(fetched.error());
    }
    co_return Result<void>{};
  };

  // What the fetches since the store held `packs_before` packs brought.
  auto print_fetched = [&](std::size_t packs_before) {
    print("head {} {}", *repository.head(), repository.branch());
    if (repository.store().pack_count() != packs_before)
      print("pack {} objects {} thin {} bytes", repository.last_fetch().pack_objects,
            repository.last_fetch().thin_deltas, repository.last_fetch().pack_bytes);
    else print("pack none");
  };

  // The held head's tree listed, its blobs read (--blob-digest), its history walked.
  auto print_state = [&]() -> Result<void> {
    auto head = TRY(repository.read_commit(*repository.head()));
    auto listed = list_tree(repository, head.commit.tree);
    if (listed && settings.blob_digest) listed = print_blob_digest(repository, head.commit.tree);
    if (!listed) {
      print("listing failed: {}", listed.error());
      return std::unexpected(listed.error());
    }
    print("listed");
    auto history = TRY(repository.log(*repository.head(), max_log));
    print("log {} commits", history.size());
    return {};
  };

  CO_TRY(co_await fetch());
  print_fetched(0);
  if (settings.dates) {
    auto followed = co_await follow_dates(repository, fetch, settings.date_updates, settings.refetch_after);
    if (!followed) print("dates failed: {}", followed.error().message());
    co_return followed;
  }
  CO_TRY(print_state());
  if (settings.refetch_after == Duration::zero()) co_return Result<void>{};
  for (std::uint32_t round = 0; round < settings.refetches; ++round) {
    auto previous = *repository.head();
    auto packs_before = repository.store().pack_count();
    // With --wait-for-change, fetches that find the branch where it was are
    // not reported: a test moves it while the app waits, at its own pace.
    auto give_up = MonotonicClock::now() + settings.timeout;
    Result<void> fetched;
    do {
      CO_TRY(co_await sleep_for(settings.refetch_after));
      fetched = co_await fetch();
    } while (fetched && settings.wait_for_change && *repository.head() == previous && MonotonicClock::now() < give_up);
    if (!fetched && settings.keep_going) {
      // The failed fetch must have left the previous state whole.
      print("held head {} {}", *repository.head(), repository.branch());
      CO_TRY(print_state());
    }
    if (!fetched) co_return std::unexpected(fetched.error());
    print_fetched(packs_before);
    CO_TRY(print_state());
  }
  co_return Result<void>{};
}
