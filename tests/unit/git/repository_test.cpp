// The repository over a scripted transport serving packs git made: a clone,
// a thin incremental fetch, fetches that fail part way and leave everything
// as it was, a shallow fetch, the history walk and the tree diff.

#include "morgana/git/repository.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fixtures.h"
#include "git_captures.h"
#include "morgana/core/event_loop.h"
#include "scripted_transport.h"
#include "sim.h"

namespace morgana::git {
namespace {

using namespace std::chrono_literals;
using test::fetch_response;
using test::ls_refs_response;
using test::ScriptedTransport;

Instant soon() { return MonotonicClock::now() + 10s; }

ObjectId id(std::string_view hex) { return *ObjectId::parse_hex(hex); }

class GitRepositoryTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override { loop().destroy_spawned(); }

  // One fetch over a fresh connection: the remote's branch at `head`, then `response`.
  Result<void> fetch(std::string_view head, std::string response, FetchOptions options = {}) {
    transport.emplace();
    transport->advertisement_v2 = captured::v2_advertisement;
    transport->responses = {ls_refs_response(head), std::move(response)};
    transport->chunk = 300;
    Client client(*transport);
    return loop().run(repository.fetch(client, std::move(options), soon()));
  }

  void clone() {
    ASSERT_TRUE(fetch(fixtures::merge_commit_id, fetch_response(fixtures::pack_base)));
    ASSERT_EQ(repository.head(), id(fixtures::merge_commit_id));
  }

  // The repository as the clone left it: head, one pack, old objects readable.
  void expect_as_cloned() {
    EXPECT_EQ(repository.head(), id(fixtures::merge_commit_id));
    EXPECT_EQ(repository.store().pack_count(), 1u);
    EXPECT_EQ(repository.last_fetch().pack_objects, 17u);
    EXPECT_TRUE(repository.read_commit(id(fixtures::merge_commit_id)));
    EXPECT_FALSE(repository.store().contains(id(fixtures::head_commit_id)));
    ASSERT_TRUE(repository.log(id(fixtures::merge_commit_id), 10));
  }

  std::optional<ScriptedTransport> transport;
  Repository repository;
};

TEST_F(GitRepositoryTest, ClonesTheRemoteHeadsBranch) {
  clone();
  EXPECT_EQ(repository.branch(), "refs/heads/main");
  EXPECT_FALSE(repository.is_shallow());
  ASSERT_EQ(repository.remote_refs().size(), 2u);
  EXPECT_EQ(repository.remote_refs()[0].symref_target, "refs/heads/main");
  EXPECT_EQ(repository.last_fetch().pack_objects, 17u);
  ASSERT_EQ(transport->requests.size(), 2u);
  EXPECT_TRUE(transport->requests[0].starts_with("0014command=ls-refs\n"));
  const auto& request = transport->requests[1];
  EXPECT_NE(request.find("want " + std::string(fixtures::merge_commit_id)), std::string::npos);
  EXPECT_NE(request.find("thin-pack"), std::string::npos);
  EXPECT_NE(request.find("ofs-delta"), std::string::npos);
  EXPECT_EQ(request.find("have "), std::string::npos);
  auto commit = repository.read_commit(id(fixtures::merge_commit_id));
  ASSERT_TRUE(commit);
  EXPECT_EQ(commit->commit.parents.size(), 2u);
}

TEST_F(GitRepositoryTest, FetchesAThinPackOnTopOfTheStore) {
  clone();
  ASSERT_TRUE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin)));
  EXPECT_EQ(repository.head(), id(fixtures::head_commit_id));
  EXPECT_EQ(repository.store().pack_count(), 2u);
  EXPECT_EQ(repository.last_fetch().pack_objects, 3u);
  EXPECT_EQ(repository.last_fetch().thin_deltas, 1u);
  const auto& request = transport->requests[1];
  EXPECT_NE(request.find("have " + std::string(fixtures::merge_commit_id)), std::string::npos);
  // The README is a delta on the clone's README.
  auto readme = repository.store().read(id(fixtures::readme_id));
  ASSERT_TRUE(readme);
  EXPECT_EQ(std::vector<std::byte>(readme->data.begin(), readme->data.end()), fixtures::readme);
}

TEST_F(GitRepositoryTest, NothingToFetchWhenTheBranchIsHeldAndAForcePushIsFollowed) {
  clone();
  ASSERT_TRUE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin)));
  // The remote went back to the merge: held already, so no fetch request.
  ASSERT_TRUE(fetch(fixtures::merge_commit_id, "unused"));
  EXPECT_EQ(repository.head(), id(fixtures::merge_commit_id));
  EXPECT_EQ(transport->requests.size(), 1u);
  EXPECT_EQ(repository.store().pack_count(), 2u);
}

TEST_F(GitRepositoryTest, AForcePushToUnrelatedHistoryIsFollowed) {
  clone();
  // The remote's main now holds another repository's history altogether.
  transport.emplace();
  transport->advertisement_v2 = captured::v2_advertisement;
  transport->responses = {std::string(captured::v2_ls_refs_response), std::string(captured::v2_fetch_full_response)};
  Client client(*transport);
  ASSERT_TRUE(loop().run(repository.fetch(client, {}, soon())));
  EXPECT_NE(transport->requests[1].find("have " + std::string(fixtures::merge_commit_id)), std::string::npos);
  EXPECT_EQ(repository.head(), id(captured::heads_main_id));
  EXPECT_EQ(repository.store().pack_count(), 2u);
  auto history = repository.log(id(captured::heads_main_id), 10);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), 3u);
  EXPECT_TRUE(repository.read_commit(id(fixtures::merge_commit_id)));
}

// A server that never answers: open() waits for an hour.
class SilentTransport final : public Transport {
public:
  Task<Result<void>> open(ProtocolVersion, Instant) override {
    CO_TRY(co_await m_never.wait(MonotonicClock::now() + 1h));
    co_return Result<void>{};
  }
  Task<Result<void>> send(Bytes, Instant) override { co_return fail(Errc::closed); }
  Task<Result<Bytes>> read(Instant) override { co_return fail(Errc::closed); }
  void close() override {}

private:
  WaitQueue m_never;
};

TEST_F(GitRepositoryTest, OneFetchAtATimeAndADestroyedFetchChangesNothing) {
  clone();
  SilentTransport silent;
  Client stalled(silent);
  loop().spawn([](Repository& repository, Client& client) -> Task<void> {
    (void)co_await repository.fetch(client, {}, soon());
  }(repository, stalled));
  auto second = loop().run([](Repository& repository) -> Task<Result<void>> {
    CO_TRY(co_await sleep_for(1ms));
    ScriptedTransport unused;
    Client client(unused);
    co_return co_await repository.fetch(client, {}, soon());
  }(repository));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), Errc::in_use);
  // The stalled fetch is destroyed part way: nothing changed, and fetching works again.
  loop().destroy_spawned();
  expect_as_cloned();
  ASSERT_TRUE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin)));
  EXPECT_EQ(repository.head(), id(fixtures::head_commit_id));
}

TEST_F(GitRepositoryTest, TheServerGoneMidPackLeavesTheRepositoryAsItWas) {
  clone();
  auto response = fetch_response(fixtures::pack_thin, false);
  EXPECT_FALSE(fetch(fixtures::head_commit_id, response.substr(0, response.size() / 2)));
  expect_as_cloned();
  // And a later fetch still works.
  ASSERT_TRUE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin)));
  EXPECT_EQ(repository.head(), id(fixtures::head_commit_id));
}

TEST_F(GitRepositoryTest, ACorruptPackLeavesTheRepositoryAsItWas) {
  clone();
  auto corrupt = fixtures::pack_thin;
  corrupt[corrupt.size() / 2] ^= std::byte{0x40};
  EXPECT_FALSE(fetch(fixtures::head_commit_id, fetch_response(corrupt)));
  expect_as_cloned();
  // A pack cut short but properly framed.
  auto truncated = fixtures::pack_thin;
  truncated.resize(truncated.size() - 30);
  EXPECT_FALSE(fetch(fixtures::head_commit_id, fetch_response(truncated)));
  expect_as_cloned();
}

TEST_F(GitRepositoryTest, AnErrLineLeavesTheRepositoryAsItWas) {
  clone();
  EXPECT_FALSE(fetch(fixtures::head_commit_id, std::string(captured::v2_fetch_not_our_ref_response)));
  expect_as_cloned();
}

TEST_F(GitRepositoryTest, APackWithoutTheWantedCommitIsRefused) {
  clone();
  // The remote names the head commit, but sends the clone's pack again.
  EXPECT_FALSE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_base)));
  expect_as_cloned();
}

TEST_F(GitRepositoryTest, AThinPackWithoutItsBaseIsRefused) {
  auto result = fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::not_found);
  EXPECT_FALSE(repository.head());
  EXPECT_EQ(repository.store().pack_count(), 0u);
  EXPECT_TRUE(repository.remote_refs().empty());
}

TEST_F(GitRepositoryTest, AMissingBranchIsNotFound) {
  auto result = fetch(fixtures::merge_commit_id, "unused", {.branch = "nope"});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::not_found);
  EXPECT_FALSE(repository.head());
  result = fetch(fixtures::merge_commit_id, "unused", {.branch = "refs/changes/1"});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::not_found);
  EXPECT_NE(transport->requests[0].find("ref-prefix refs/changes/1\n"), std::string::npos);
}

TEST_F(GitRepositoryTest, AShallowFetchStopsTheLogAtItsBoundary) {
  transport.emplace();
  transport->advertisement_v2 = captured::v2_advertisement;
  transport->responses = {std::string(captured::v2_ls_refs_response), std::string(captured::v2_fetch_deepen_response)};
  Client client(*transport);
  ASSERT_TRUE(loop().run(repository.fetch(client, {.depth = 1}, soon())));
  EXPECT_NE(transport->requests[1].find("deepen 1"), std::string::npos);
  auto main = id(captured::heads_main_id);
  EXPECT_EQ(repository.head(), main);
  EXPECT_TRUE(repository.is_shallow());
  EXPECT_EQ(repository.shallow(), std::vector<ObjectId>{main});
  auto history = repository.log(main, 10);
  ASSERT_TRUE(history);
  EXPECT_EQ(*history, std::vector<ObjectId>{main});
}

TEST_F(GitRepositoryTest, LogWalksParentsByCommitDateEachOnce) {
  clone();
  ASSERT_TRUE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin)));
  auto merge = repository.read_commit(id(fixtures::merge_commit_id));
  ASSERT_TRUE(merge);
  auto second = merge->commit.parents[0];
  auto side = merge->commit.parents[1];
  auto first = repository.read_commit(second);
  ASSERT_TRUE(first);
  auto root = first->commit.parents[0];
  auto history = repository.log(id(fixtures::head_commit_id), 10);
  ASSERT_TRUE(history);
  // git made every commit at the same second: ties go in the order parents are met.
  EXPECT_EQ(*history,
            (std::vector<ObjectId>{id(fixtures::head_commit_id), id(fixtures::merge_commit_id), second, side, root}));
  auto two = repository.log(id(fixtures::head_commit_id), 2);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
  EXPECT_FALSE(repository.log(id(fixtures::root_tree_id), 10));
}

TEST_F(GitRepositoryTest, DiffSkipsEqualSubtreesAndRecursesIntoChangedOnes) {
  clone();
  ASSERT_TRUE(fetch(fixtures::head_commit_id, fetch_response(fixtures::pack_thin)));
  auto tree_of = [&](std::string_view commit) { return repository.read_commit(id(commit))->commit.tree; };
  auto merge = repository.read_commit(id(fixtures::merge_commit_id));
  auto root = repository.read_commit(repository.read_commit(merge->commit.parents[0])->commit.parents[0]);
  ASSERT_TRUE(root);

  // Third only touched README.md: docs/ has the same id and is not read.
  auto changes = repository.diff_trees(tree_of(fixtures::merge_commit_id), tree_of(fixtures::head_commit_id));
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].path, "README.md");
  EXPECT_EQ((*changes)[0].kind, ChangeKind::modified);
  EXPECT_EQ((*changes)[0].new_id, id(fixtures::readme_id));

  // From the first commit: README.md and docs/guide.md (in a subtree).
  changes = repository.diff_trees(root->commit.tree, tree_of(fixtures::head_commit_id));
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].path, "README.md");
  EXPECT_EQ((*changes)[1].path, "docs/guide.md");
  EXPECT_EQ((*changes)[1].kind, ChangeKind::modified);

  // docs/ against the root: guide.md deleted, everything else added, docs/ recursively.
  changes = repository.diff_trees(id(fixtures::docs_tree_id), id(fixtures::root_tree_id));
  ASSERT_TRUE(changes);
  std::vector<std::string> listed;
  for (const auto& change : *changes)
    listed.push_back((change.kind == ChangeKind::added     ? "+"
                      : change.kind == ChangeKind::deleted ? "-"
                                                           : "~") +
                     change.path);
  EXPECT_EQ(listed,
            (std::vector<std::string>{"+README.md", "+docs.txt", "+docs/guide.md", "-guide.md", "+link", "+run.sh"}));
  for (const auto& change : *changes) {
    if (change.path == "run.sh") EXPECT_EQ(change.mode, TreeMode::executable);
    if (change.path == "link") EXPECT_EQ(change.mode, TreeMode::symlink);
    if (change.kind == ChangeKind::added) EXPECT_TRUE(change.old_id.is_zero());
  }
  EXPECT_FALSE(repository.diff_trees(id(fixtures::docs_tree_id), id(fixtures::head_commit_id)));
}

} // namespace
} // namespace morgana::git
