// PathHistory on small histories made by hand, each answer what git log
// prints for it (checked with git: `git log -1 --format=%at -- PATH` and
// `git log --reverse --diff-filter=A --format=%at -- PATH | head -1`):
// linear changes, merges treesame to a parent or to none, renames, a path
// deleted and added again, a merge adding a file, a history cut short; and
// incremental updates that walk only the new commits.

#include "morgana/git/path_history.h"

#include <gtest/gtest.h>

#include "memory_repository.h"

namespace morgana::git {
namespace {

using test::File;
using test::Files;
using test::MemoryRepository;

class GitPathHistoryTest : public ::testing::Test {
protected:
  void update(const ObjectId& head) {
    ASSERT_TRUE(made.flush());
    auto updated = history.update(made.repository, head);
    ASSERT_TRUE(updated) << updated.error().message();
  }
  // (last-modified, created) in seconds; (-1, -1) when not a head path.
  std::pair<std::int64_t, std::int64_t> dates(std::string_view path) const {
    const auto* found = history.find(path);
    if (found == nullptr) return {-1, -1};
    auto seconds = [](WallClock::time_point time) {
      return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
    };
    return {seconds(found->last_modified), seconds(found->created)};
  }
  using Dates = std::pair<std::int64_t, std::int64_t>;

  MemoryRepository made;
  PathHistory history;
};

TEST_F(GitPathHistoryTest, LinearHistoryUsesAuthorDates) {
  // Authored out of order: the author date is what git log prints.
  auto c1 = made.commit({{"a", {"1"}}, {"b", {"1"}}, {"dir/c", {"1"}}}, {}, 100, 50);
  auto c2 = made.commit({{"a", {"2"}}, {"b", {"1"}}, {"dir/c", {"1"}}}, {c1}, 200, 20);
  auto c3 = made.commit({{"a", {"2"}}, {"dir/c", {"1", TreeMode::executable}}, {"d", {"1"}}}, {c2}, 300, 300);
  update(c3);
  EXPECT_EQ(history.head(), c3);
  EXPECT_FALSE(history.shallow());
  EXPECT_EQ(dates("a"), (Dates{20, 50}));
  EXPECT_EQ(dates("dir/c"), (Dates{300, 50})); // a mode change modifies
  EXPECT_EQ(dates("d"), (Dates{300, 300}));
  EXPECT_EQ(dates("b"), (Dates{-1, -1})); // deleted
  EXPECT_EQ(dates("dir"), (Dates{-1, -1}));
  EXPECT_EQ(history.last_update().commits_walked, 3u);
  EXPECT_EQ(history.last_update().paths_updated, 3u);
}

TEST_F(GitPathHistoryTest, MergeTreesameToTheSecondParentFollowsIt) {
  auto base = made.commit({{"f", {"0"}}, {"g", {"0"}}}, {}, 100);
  auto main = made.commit({{"f", {"main"}}, {"g", {"0"}}}, {base}, 200);
  auto side = made.commit({{"f", {"side"}}, {"g", {"0"}}}, {base}, 300);
  auto merge = made.commit({{"f", {"side"}}, {"g", {"0"}}}, {main, side}, 400);
  update(merge);
  EXPECT_EQ(dates("f"), (Dates{300, 100}));
  EXPECT_EQ(dates("g"), (Dates{100, 100}));
}

TEST_F(GitPathHistoryTest, MergeDifferingFromEveryParentIsShown) {
  auto base = made.commit({{"f", {"0"}}}, {}, 100);
  auto main = made.commit({{"f", {"main"}}}, {base}, 200);
  auto side = made.commit({{"f", {"side"}}}, {base}, 300);
  auto merge = made.commit({{"f", {"both"}}}, {main, side}, 400);
  update(merge);
  EXPECT_EQ(dates("f"), (Dates{400, 100}));
}

TEST_F(GitPathHistoryTest, PathAddedOnBothSides) {
  auto base = made.commit({{"keep", {"0"}}}, {}, 100);
  auto side = made.commit({{"keep", {"0"}}, {"p", {"same"}}, {"q", {"side"}}}, {base}, 200);
  auto main = made.commit({{"keep", {"0"}}, {"p", {"same"}}, {"q", {"main"}}}, {base}, 300);
  auto merge = made.commit({{"keep", {"0"}}, {"p", {"same"}}, {"q", {"merged"}}}, {main, side}, 400);
  update(merge);
  // p is the same as in the first parent: only that side's history counts.
  EXPECT_EQ(dates("p"), (Dates{300, 300}));
  // q differs from both: both sides' additions count, and the oldest is shown last.
  EXPECT_EQ(dates("q"), (Dates{400, 200}));
}

TEST_F(GitPathHistoryTest, RenameAddsTheNewPath) {
  auto c1 = made.commit({{"old", {"content"}}}, {}, 100);
  auto c2 = made.commit({{"new", {"content"}}}, {c1}, 200);
  update(c2);
  EXPECT_EQ(dates("new"), (Dates{200, 200}));
  EXPECT_EQ(dates("old"), (Dates{-1, -1}));
}

TEST_F(GitPathHistoryTest, DeletedAndAddedAgainKeepsTheFirstAddition) {
  auto c1 = made.commit({{"p", {"1"}}, {"keep", {"k"}}}, {}, 100);
  auto c2 = made.commit({{"keep", {"k"}}}, {c1}, 200);
  auto c3 = made.commit({{"p", {"2"}}, {"keep", {"k"}}}, {c2}, 300);
  update(c3);
  EXPECT_EQ(dates("p"), (Dates{300, 100}));
}

TEST_F(GitPathHistoryTest, EqualCommitDatesShowTheOlderAdditionLast) {
  // All committed at once (a rebase): git's walk meets the ancestor last.
  auto c1 = made.commit({{"q", {"1"}}, {"keep", {"k"}}}, {}, 500, 100);
  auto c2 = made.commit({{"keep", {"k"}}}, {c1}, 500, 200);
  auto c3 = made.commit({{"q", {"2"}}, {"keep", {"k"}}}, {c2}, 500, 300);
  update(c3);
  EXPECT_EQ(dates("q"), (Dates{300, 100}));
}

TEST_F(GitPathHistoryTest, FilesOfADirectoryOnceNamedSoCountAsAdditions) {
  // git log -- p matches p/x too: adding p/x added "p".
  auto c1 = made.commit({{"p/x", {"x"}}}, {}, 100);
  auto c2 = made.commit({{"p", {"file"}}}, {c1}, 200);
  update(c2);
  EXPECT_EQ(dates("p"), (Dates{200, 100}));
}

TEST_F(GitPathHistoryTest, AFileOnlyAMergeAddedHasNoCreationDate) {
  auto base = made.commit({{"f", {"0"}}}, {}, 100);
  auto side = made.commit({{"f", {"0"}}, {"s", {"s"}}}, {base}, 200);
  auto main = made.commit({{"f", {"1"}}}, {base}, 300);
  auto merge = made.commit({{"f", {"1"}}, {"s", {"s"}}, {"evil", {"e"}}}, {main, side}, 400);
  update(merge);
  EXPECT_EQ(dates("evil"), (Dates{400, 0})); // git log --diff-filter=A shows no merge
  EXPECT_EQ(dates("s"), (Dates{200, 200}));
  EXPECT_EQ(dates("f"), (Dates{300, 100}));
}

TEST_F(GitPathHistoryTest, ACutHistoryDatesFromTheOldestCommitHeld) {
  // c1's parent is not held, as beyond a shallow fetch's boundary.
  auto c1 = made.commit({{"a", {"1"}}, {"b", {"1"}}}, {*ObjectId::parse_hex(std::string(40, 'e'))}, 100);
  auto c2 = made.commit({{"a", {"2"}}, {"b", {"1"}}}, {c1}, 200);
  update(c2);
  EXPECT_TRUE(history.shallow());
  EXPECT_EQ(dates("a"), (Dates{200, 100}));
  EXPECT_EQ(dates("b"), (Dates{100, 100}));
}

TEST_F(GitPathHistoryTest, UpdatesWalkOnlyTheNewCommits) {
  Files files{{"a", {"1"}}, {"b", {"1"}}, {"dir/c", {"1"}}};
  std::vector<ObjectId> commits{made.commit(files, {}, 100)};
  for (int i = 1; i < 20; ++i) {
    files["a"].content = std::to_string(i);
    commits.push_back(made.commit(files, {commits.back()}, 100 + 10 * i));
  }
  update(commits.back());
  EXPECT_EQ(history.last_update().commits_walked, 20u);
  EXPECT_EQ(dates("a"), (Dates{290, 100}));

  files["b"].content = "2";
  files["new"].content = "n";
  auto next = made.commit(files, {commits.back()}, 1000);
  update(next);
  EXPECT_EQ(history.last_update().commits_walked, 1u);
  EXPECT_EQ(history.last_update().paths_updated, 2u);
  EXPECT_EQ(dates("b"), (Dates{1000, 100}));
  EXPECT_EQ(dates("new"), (Dates{1000, 1000}));
  EXPECT_EQ(dates("a"), (Dates{290, 100}));

  // Nothing new: nothing walked.
  update(next);
  EXPECT_EQ(history.last_update().commits_walked, 0u);

  // A side branch from long ago, merged: its commits are new; a path it
  // only adds needs no walk below the fork.
  auto side = made.commit(Files{{"a", {"5"}}, {"b", {"1"}}, {"dir/c", {"1"}}, {"side", {"s"}}}, {commits[5]}, 1100);
  auto merged_files = files;
  merged_files["side"].content = "s";
  auto merge = made.commit(merged_files, {next, side}, 1200);
  update(merge);
  EXPECT_EQ(history.last_update().commits_walked, 2u);
  EXPECT_EQ(dates("side"), (Dates{1100, 1100}));
  EXPECT_EQ(dates("b"), (Dates{1000, 100}));

  // A force-push: computed again, and the same as from scratch.
  auto rewritten = made.commit(Files{{"a", {"x"}}, {"dir/c", {"1"}}}, {commits[10]}, 2000);
  update(rewritten);
  EXPECT_EQ(history.last_update().commits_walked, 1u + 12u); // the new commit, then all again
  EXPECT_EQ(dates("a"), (Dates{2000, 100}));
  EXPECT_EQ(dates("dir/c"), (Dates{100, 100}));
  EXPECT_EQ(dates("b"), (Dates{-1, -1}));
  EXPECT_EQ(dates("new"), (Dates{-1, -1}));
}

TEST_F(GitPathHistoryTest, IncrementalAnswersEqualAFreshComputation) {
  Files files{{"a", {"1"}}, {"b", {"1"}}};
  auto c1 = made.commit(files, {}, 100);
  update(c1);
  // Delete b, add it again on a branch from c1, merge: the re-addition's history reaches c1.
  auto c2 = made.commit(Files{{"a", {"2"}}}, {c1}, 200);
  auto side = made.commit(Files{{"a", {"1"}}, {"b", {"1"}}, {"c", {"c"}}}, {c1}, 250);
  auto merge = made.commit(Files{{"a", {"2"}}, {"b", {"again"}}, {"c", {"c"}}}, {c2, side}, 300);
  update(merge);
  PathHistory fresh;
  ASSERT_TRUE(fresh.update(made.repository, merge));
  for (const auto* path : {"a", "b", "c"}) {
    ASSERT_NE(fresh.find(path), nullptr) << path;
    ASSERT_NE(history.find(path), nullptr) << path;
    EXPECT_EQ(fresh.find(path)->last_modified, history.find(path)->last_modified) << path;
    EXPECT_EQ(fresh.find(path)->created, history.find(path)->created) << path;
  }
  EXPECT_EQ(dates("b"), (Dates{300, 100}));
  EXPECT_EQ(dates("c"), (Dates{250, 250}));
}

// Each update incrementally and from scratch, compared path by path.
class GitPathHistoryEscapeTest : public GitPathHistoryTest {
protected:
  void expect_as_fresh(const ObjectId& head, std::initializer_list<const char*> paths) {
    PathHistory fresh;
    ASSERT_TRUE(fresh.update(made.repository, head));
    for (const auto* path : paths) {
      ASSERT_NE(fresh.find(path), nullptr) << path;
      ASSERT_NE(history.find(path), nullptr) << path;
      EXPECT_EQ(fresh.find(path)->last_modified, history.find(path)->last_modified) << path;
      EXPECT_EQ(fresh.find(path)->created, history.find(path)->created) << path;
    }
  }
};

TEST_F(GitPathHistoryEscapeTest, ABranchForkedEarlierChangingAnOldFileWalksOnlyItsCommits) {
  auto c1 = made.commit({{"a", {"1"}}, {"b", {"1"}}}, {}, 100);
  auto c2 = made.commit({{"a", {"2"}}, {"b", {"1"}}}, {c1}, 200);
  auto c3 = made.commit({{"a", {"3"}}, {"b", {"1"}}}, {c2}, 300);
  update(c3);
  auto side = made.commit({{"a", {"1"}}, {"b", {"side"}}}, {c1}, 400);
  auto merge = made.commit({{"a", {"3"}}, {"b", {"side"}}}, {c3, side}, 500);
  update(merge);
  EXPECT_EQ(history.last_update().commits_walked, 2u);
  EXPECT_EQ(dates("b"), (Dates{400, 100}));
  EXPECT_EQ(dates("a"), (Dates{300, 100}));
  expect_as_fresh(merge, {"a", "b"});
}

TEST_F(GitPathHistoryEscapeTest, APathAddedTwiceIsSearchedBelowTheFork) {
  // p added, deleted, added again: which addition a fork point's history holds needs a walk.
  auto c1 = made.commit({{"p", {"1"}}, {"k", {"k"}}}, {}, 100);
  auto c2 = made.commit({{"k", {"k"}}}, {c1}, 200);
  auto c3 = made.commit({{"p", {"3"}}, {"k", {"k"}}}, {c2}, 300);
  auto c4 = made.commit({{"p", {"3"}}, {"k", {"4"}}}, {c3}, 400);
  update(c4);
  auto side = made.commit({{"p", {"side"}}, {"k", {"k"}}}, {c3}, 500);
  auto merge = made.commit({{"p", {"side"}}, {"k", {"4"}}}, {c4, side}, 600);
  update(merge);
  EXPECT_EQ(history.last_update().commits_walked, 2u + 3u); // the new commits, then c3 and below for p
  EXPECT_EQ(dates("p"), (Dates{500, 100}));
  expect_as_fresh(merge, {"p", "k"});
}

TEST_F(GitPathHistoryEscapeTest, AChainEnteringAnOldCommitIsFollowedThere) {
  // The merge takes the fork point's version of f back: f's chain goes into c1.
  auto c1 = made.commit({{"f", {"1"}}, {"g", {"1"}}}, {}, 100);
  auto c2 = made.commit({{"f", {"2"}}, {"g", {"1"}}}, {c1}, 200);
  update(c2);
  auto side = made.commit({{"f", {"1"}}, {"g", {"side"}}}, {c1}, 300);
  auto merge = made.commit({{"f", {"1"}}, {"g", {"side"}}}, {c2, side}, 400);
  update(merge);
  EXPECT_EQ(dates("f"), (Dates{100, 100}));
  EXPECT_EQ(dates("g"), (Dates{300, 100}));
  expect_as_fresh(merge, {"f", "g"});
}

TEST_F(GitPathHistoryTest, AFailedUpdateChangesNothing) {
  auto c1 = made.commit({{"a", {"1"}}}, {}, 100);
  update(c1);
  auto unknown = made.commit({{"a", {"2"}}}, {c1}, 200); // never flushed into the store
  EXPECT_FALSE(history.update(made.repository, unknown));
  EXPECT_EQ(history.head(), c1);
  EXPECT_EQ(dates("a"), (Dates{100, 100}));
}

} // namespace
} // namespace morgana::git
