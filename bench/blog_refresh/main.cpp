// blog_refresh: the blog's refresh after one commit against a full render, in
// one process so that only the rendering is timed (bench/blog.py; fetching is
// bench/git_clone.py's). It fetches the remote's branch once, then
// --repetitions times:
//   full     what the blog does with its first head, for the head's parent
//            (BASE): per-path dates from scratch, a TreeStore, a render
//            without a previous snapshot;
//   refresh  what it does with the next head (HEAD, one commit later): the
//            dates brought up to date incrementally, a TreeStore reusing
//            BASE's, a render given BASE's snapshot.
// It prints one line per phase with process CPU time (CLOCK_PROCESS_CPUTIME_ID)
// and wall time in microseconds:
//   "blog_refresh: full cpu_us C wall_us W history_us H tree_us T render_us R articles A rendered N pages P"
//   "blog_refresh: refresh cpu_us ... (the same fields)"
// and, once, checks that the refreshed snapshot serves exactly what a full
// render of HEAD does ("blog_refresh: checked K entries"), so that the refresh
// timed is a correct one.
//
//   blog_refresh --net=socket --remote=git://127.0.0.1:9418/blog.git --repetitions=5

#include <time.h>

#include <memory>
#include <string>

#include "morgana/blog/snapshot.h"
#include "morgana/core/format.h"
#include "morgana/git/client.h"
#include "morgana/git/follower.h"
#include "morgana/git/open_transport.h"
#include "morgana/git/path_history.h"
#include "morgana/git/repository.h"
#include "morgana/git/tree_store.h"
#include "morgana/http/client.h"
#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

template <class... Args>
void print(std::string_view pattern, const Args&... args) {
  StringSink line;
  line.write("blog_refresh: ");
  format_to(line, pattern, args...);
  line.put('\n');
  platform::console_write(line.text());
}

// This benchmark runs on the hosted target only: a Linux process's clocks.
std::int64_t clock_us(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return std::int64_t{now.tv_sec} * 1'000'000 + now.tv_nsec / 1000;
}

// CPU and wall time since construction.
struct Stopwatch {
  std::int64_t cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
  std::int64_t wall = clock_us(CLOCK_MONOTONIC);
  [[nodiscard]] std::int64_t cpu_us() const { return clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu; }
  [[nodiscard]] std::int64_t wall_us() const { return clock_us(CLOCK_MONOTONIC) - wall; }
};

// One head rendered as the blog renders it, with the state the next render reuses.
struct Rendered {
  std::shared_ptr<const git::TreeStore> tree;
  std::shared_ptr<const blog::Snapshot> snapshot;
};

// Brings `history` to `head`, makes its TreeStore (reusing `previous`'s) and
// renders it (reusing `previous`'s snapshot); prints the phase's times.
Result<Rendered> render_head(std::string_view phase, git::Repository& repository, git::PathHistory& history,
                             const git::ObjectId& head, const Rendered* previous, const log::Source& log) {
  Stopwatch whole;
  TRY(history.update(repository, head));
  auto history_cpu = whole.cpu_us();
  auto tree = TRY(git::TreeStore::create(repository, head, &history, previous ? previous->tree.get() : nullptr));
  auto tree_cpu = whole.cpu_us() - history_cpu;
  auto commit = TRY(repository.read_commit(head));
  blog::RenderOptions options{.head_date = WallClock::time_point{std::chrono::seconds{commit.commit.author.time}}};
  auto snapshot = TRY(blog::render(*tree, options, previous ? previous->snapshot.get() : nullptr, log));
  auto cpu = whole.cpu_us();
  const auto& stats = snapshot->stats();
  print("{} cpu_us {} wall_us {} history_us {} tree_us {} render_us {} articles {} rendered {} pages {}", phase, cpu,
        whole.wall_us(), history_cpu, tree_cpu, cpu - history_cpu - tree_cpu, stats.articles, stats.articles_rendered,
        stats.pages_rendered);
  return Rendered{std::move(tree), std::move(snapshot)};
}

// Every key of `expected` (values, the index and the 404 page) is in `actual`
// with the same bytes, and `actual` has no other; returns the keys compared.
Result<std::size_t> compare_keys(const blog::Snapshot& expected, const blog::Snapshot& actual,
                                 const std::string& prefix) {
  auto listed = expected.list(prefix);
  auto listed_actual = actual.list(prefix);
  if (!listed) {
    if (listed_actual) return fail(Errc::malformed, "the refresh has keys a full render does not");
    return 0;
  }
  if (!listed_actual || listed_actual->size() != listed->size()) {
    return fail(Errc::malformed, "the refresh lists other keys than a full render");
  }
  std::size_t compared = 0;
  for (const auto& entry : *listed) {
    auto key = prefix.empty() ? entry.name : prefix + "/" + entry.name;
    if (entry.is_directory) {
      compared += TRY(compare_keys(expected, actual, key));
      continue;
    }
    auto wanted = TRY(expected.metadata(key));
    auto got = actual.metadata(key);
    if (!got || got->digest != wanted.digest)
      return fail(Errc::malformed, "a refreshed page differs from a full render");
    ++compared;
  }
  return compared;
}

Result<std::size_t> compare(const blog::Snapshot& expected, const blog::Snapshot& actual) {
  auto index = TRY(expected.metadata(""));
  auto index_actual = TRY(actual.metadata(""));
  if (index.digest != index_actual.digest || expected.not_found_page().digest != actual.not_found_page().digest) {
    return fail(Errc::malformed, "the refreshed index or 404 page differs from a full render");
  }
  return TRY(compare_keys(expected, actual, "")) + 2;
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  auto url = CO_TRY(git::remote_from_setting(settings.remote, false, log));
  auto& network = *CO_TRY(co_await context.network());
  http::Client http_client(network, {.request_timeout = settings.timeout});
  git::Repository repository;
  {
    auto transport = CO_TRY(git::open_transport(url, network, nullptr, http_client));
    git::Client client(*transport);
    CO_TRY(co_await repository.fetch(client, {.branch = std::string(settings.branch)},
                                     MonotonicClock::now() + settings.timeout));
  }
  auto head = *repository.head();
  auto head_commit = CO_TRY(repository.read_commit(head));
  if (head_commit.commit.parents.empty()) co_return fail(Errc::invalid_argument, "the head has no parent");
  auto base = head_commit.commit.parents.front();
  print("fetched {} base {}", head, base);

  for (std::uint32_t repetition = 0; repetition < settings.repetitions; ++repetition) {
    git::PathHistory history;
    auto full = CO_TRY(render_head("full", repository, history, base, nullptr, log));
    auto refreshed = CO_TRY(render_head("refresh", repository, history, head, &full, log));
    if (repetition == 0) {
      git::PathHistory fresh_history;
      auto expected = CO_TRY(render_head("check", repository, fresh_history, head, nullptr, log));
      print("checked {} entries", CO_TRY(compare(*expected.snapshot, *refreshed.snapshot)));
    }
  }
  co_return Result<void>{};
}
