// git_repo_app: a Repository cloned from a real git daemon, for
// tests/system/git_repository_test.py. Fetches the remote's branch, prints
// "head ID" and "pack N objects T thin M bytes" (T: deltas on
// bases held before), then the head commit's tree as
// `git ls-tree -r` prints it, each line after "tree " ("MODE TYPE ID\tPATH":
// blobs and submodule entries, subtrees entered in place); with
// --refetch-after=DURATION it waits that long, fetches again and prints the
// new head and pack the same way.
//
//   git_repo_app --net=socket --remote=git://127.0.0.1:9418/repo.git [--refetch-after=5s]

#include <memory>
#include <string>

#include "morgana/core/event_loop.h"
#include "morgana/core/format.h"
#include "morgana/git/client.h"
#include "morgana/git/open_transport.h"
#include "morgana/git/repository.h"
#include "morgana/git/tree.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

template <class... Args>
void print(std::string_view pattern, const Args&... args) {
  StringSink line;
  line.write("git_repo_app: ");
  format_to(line, pattern, args...);
  line.put('\n');
  platform::console_write(line.text());
}

// `git ls-tree -r` of `tree_id` below `prefix`.
Result<void> list_tree(git::Repository& repository, const git::ObjectId& tree_id, const std::string& prefix,
                       unsigned depth) {
  if (depth > git::Repository::max_tree_depth) return fail(Errc::limit_reached, "trees nest too deeply");
  auto object = TRY(repository.read_tree(tree_id));
  auto tree = TRY(git::Tree::parse(object.data));
  for (const auto& entry : tree.entries) {
    auto path = prefix + std::string(entry.name);
    if (entry.is_directory()) {
      TRY(list_tree(repository, entry.id, path + "/", depth + 1));
      continue;
    }
    auto mode = static_cast<unsigned>(entry.mode);
    auto type = entry.mode == git::TreeMode::submodule ? "commit" : "blob";
    StringSink line;
    format_to(line, "tree {}{}{}{}{}{} {} {}\t{}", (mode >> 15) & 7, (mode >> 12) & 7, (mode >> 9) & 7, (mode >> 6) & 7,
              (mode >> 3) & 7, mode & 7, type, entry.id, path);
    print("{}", line.text());
  }
  return {};
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  if (!settings.remote) {
    context.log().error("--remote=git://HOST[:PORT]/PATH is required");
    co_return fail(Errc::invalid_argument, "no --remote");
  }
  auto url = git::RemoteUrl::parse(*settings.remote);
  if (!url) {
    context.log().error("--remote={}: {}", *settings.remote, url.error().context);
    co_return std::unexpected(url.error());
  }
  auto& network = *CO_TRY(co_await context.network());
  net::DnsResolver resolver(network);
  http::Client http_client(network, {.request_timeout = settings.timeout, .resolver = &resolver});
  git::Repository repository;

  // One connection per fetch: a daemon does not keep an idle one open for long.
  auto fetch = [&]() -> Task<Result<void>> {
    auto transport = CO_TRY(git::open_transport(*url, network, &resolver, http_client));
    git::Client client(*transport);
    auto before = repository.store().pack_count();
    auto fetched = co_await repository.fetch(client, {.branch = std::string(settings.branch), .depth = settings.depth},
                                             MonotonicClock::now() + settings.timeout);
    if (!fetched) {
      print("fetch failed: {} ({})", client.last_error(), fetched.error().message());
      co_return std::unexpected(fetched.error());
    }
    print("head {} {}", *repository.head(), repository.branch());
    if (repository.store().pack_count() != before)
      print("pack {} objects {} thin {} bytes", repository.last_fetch().pack_objects,
            repository.last_fetch().thin_deltas, repository.last_fetch().pack_bytes);
    else print("pack none");
    co_return Result<void>{};
  };

  CO_TRY(co_await fetch());
  auto head = CO_TRY(repository.read_commit(*repository.head()));
  auto listed = list_tree(repository, head.commit.tree, "", 0);
  if (!listed) {
    print("listing failed: {}", listed.error().message());
    co_return std::unexpected(listed.error());
  }
  print("listed");
  if (settings.refetch_after == Duration::zero()) co_return Result<void>{};
  CO_TRY(co_await sleep_for(settings.refetch_after));
  CO_TRY(co_await fetch());
  auto history = CO_TRY(repository.log(*repository.head(), 1000));
  print("log {} commits", history.size());
  co_return Result<void>{};
}
