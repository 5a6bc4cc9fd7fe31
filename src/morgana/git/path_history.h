#pragma once

// Per-path dates of a branch's head, as git log reports them:
// last-modified = `git log -1 --format=%aI -- PATH` (the first commit shown by
// history simplification: from the head, a merge where PATH is the same as
// in a parent follows only the first such parent), created =
// `git log --reverse --diff-filter=A --format=%aI -- PATH | head -1` (the
// non-merge commit adding PATH, over its whole simplified history, that git's
// commit-date walk shows last).
//
// Computed incrementally: when the previous head is an ancestor of the new
// one, only the new commits are walked, and each is diffed against its
// parents (a diff costs the entries that changed), carrying per commit the
// set of paths whose history passes there. The set that follows first
// parents is held as "every path but these", so a linear history costs its
// changes, not files × commits. Dates are kept for every path the history
// ever held (a path deleted and added again keeps its first creation). A
// branch forked before the previous head and merged now is walked down to
// its fork; below it only for paths whose answer there is not known (a path
// added more than once, or a last-modified chain entering old history).
//
// Where git's walk is approximated: of several commits adding a path, git
// shows last the one its commit-date walk meets last. With committer dates
// that never go back along history that is the oldest committer date, which
// is what is taken; equal dates go to the commit met later in a walk in
// git's order (children first, latest date first). With clock skew
// (a commit dated before its parent) git may show another one.
//
//   git::PathHistory history;
//   TRY(history.update(repository, *repository.head()));
//   if (auto* dates = history.find("README.md")) use(dates->last_modified);

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/result.h"
#include "morgana/core/time.h"
#include "morgana/git/object_id.h"
#include "morgana/git/repository.h"

namespace morgana::git {

struct PathDates {
  WallClock::time_point last_modified{};
  WallClock::time_point created{}; // zero when git shows no commit adding the path (only a merge did)
};

class PathHistory {
public:
  // Brings the dates to `head`'s tree. Incremental when the previous head is
  // an ancestor of `head` (work in proportion to the new commits and the
  // entries they change); otherwise (first call, force-push) computed from
  // scratch. On error nothing changes.
  [[nodiscard]] Result<void> update(Repository& repository, const ObjectId& head);
  // Null when `path` is not a blob path (file, symlink, submodule) of the head.
  [[nodiscard]] const PathDates* find(std::string_view path) const;
  // History was cut (a shallow fetch): dates are those of the oldest commits held.
  [[nodiscard]] bool shallow() const;
  [[nodiscard]] const std::optional<ObjectId>& head() const { return m_head; }

  struct Stats {
    std::size_t commits_walked = 0;
    std::size_t trees_diffed = 0;
    std::size_t paths_updated = 0; // head paths whose dates were set or changed
  };
  // What the latest update() did, for tests and benchmarks proving incrementality.
  [[nodiscard]] const Stats& last_update() const { return m_stats; }

  PathHistory();
  PathHistory(const PathHistory&) = delete;
  PathHistory& operator=(const PathHistory&) = delete;
  PathHistory(PathHistory&&) noexcept;
  PathHistory& operator=(PathHistory&&) noexcept;
  ~PathHistory();

  struct State; // every path the history held, with its dates; the commits walked

private:
  // Applies the commits from the previous head to `head`; false (nothing
  // applied) when the previous head is not an ancestor of `head`.
  [[nodiscard]] Result<bool> increment(Repository& repository, const ObjectId& head, Stats& stats);

  std::unique_ptr<State> m_state;
  std::optional<ObjectId> m_head;
  Stats m_stats;
};

} // namespace morgana::git
