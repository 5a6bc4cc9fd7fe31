#pragma once

// A repository fetched from one remote and kept in memory: its objects (an
// ObjectStore), the remote's refs as last listed, the branch followed and its
// head, and the shallow boundaries when history was fetched with a depth.
//
//   git::Repository repository;
//   CO_TRY(co_await repository.fetch(client, {.branch = "main"}, deadline));
//   auto history = TRY(repository.log(*repository.head(), 20));
//
// A fetch either succeeds whole or leaves the repository as it was: the new
// pack is indexed aside (its thin bases read from the store) and checked,
// and only then are the store, head, refs and shallow list changed, together.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/git/client.h"
#include "morgana/git/commit.h"
#include "morgana/git/object.h"
#include "morgana/git/object_id.h"
#include "morgana/git/object_store.h"
#include "morgana/git/pack.h"
#include "morgana/git/ref.h"
#include "morgana/git/tree.h"

namespace morgana::git {

struct FetchOptions {
  std::string branch;      // "main" or "refs/heads/main"; empty: what the remote's HEAD points to
  std::uint32_t depth = 0; // commits of history to fetch; 0 for all
};

// What the latest fetch that brought a pack received.
struct FetchStats {
  std::uint32_t pack_objects = 0;
  std::uint32_t thin_deltas = 0; // deltas on bases the store held, not the pack
  std::uint64_t pack_bytes = 0;
};

enum class ChangeKind : std::uint8_t { added, deleted, modified };

struct Change {
  std::string path; // from the root, '/' between names
  ChangeKind kind = ChangeKind::modified;
  ObjectId old_id;                    // zero when added
  ObjectId new_id;                    // zero when deleted
  TreeMode mode = TreeMode::file;     // the new entry's mode (the old one's when deleted)
  TreeMode old_mode = TreeMode::file; // the old entry's mode (the new one's when added)
};

// A commit read from the store; `commit`'s views point into `object`.
struct CommitObject {
  ObjectId id;
  Object object;
  Commit commit;
};

class Repository {
public:
  // Haves sent with a fetch: the head and its most recent ancestors.
  static constexpr std::size_t max_haves_sent = 32;
  // Trees nested deeper than this are refused by diff_trees.
  static constexpr std::size_t max_tree_depth = 256;

  explicit Repository(PackLimits limits = {}) : m_limits(limits) {}
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  // Lists the remote's branches, then fetches the chosen one's commit unless
  // it is already held, as a thin pack on top of what the store has. A head
  // that does not descend from the previous one (a force-push) is followed.
  // Errc::not_found when the remote has no such branch (or an unborn HEAD);
  // Errc::in_use while another fetch runs. On any failure (or when the task
  // is destroyed part way) nothing changes.
  [[nodiscard]] Task<Result<void>> fetch(Client& client, FetchOptions options, Instant deadline);

  // Up to `limit` commits from `from`, newest commit date first, each once;
  // parents beyond a shallow boundary (or otherwise not held) are left out.
  [[nodiscard]] Result<std::vector<ObjectId>> log(const ObjectId& from, std::size_t limit);
  // What changed from `old_tree` to `new_tree`, recursively, in git's tree
  // order; subtrees with the same id are skipped without being read.
  [[nodiscard]] Result<std::vector<Change>> diff_trees(const ObjectId& old_tree, const ObjectId& new_tree);

  [[nodiscard]] Result<CommitObject> read_commit(const ObjectId& id);
  // Errc::malformed when `id` is not a tree.
  [[nodiscard]] Result<Object> read_tree(const ObjectId& id);

  [[nodiscard]] const std::optional<ObjectId>& head() const { return m_head; }
  [[nodiscard]] const std::string& branch() const { return m_branch; } // "refs/heads/main"
  [[nodiscard]] const std::vector<Ref>& remote_refs() const { return m_remote_refs; }
  [[nodiscard]] bool is_shallow() const { return !m_shallow.empty(); }
  [[nodiscard]] const std::vector<ObjectId>& shallow() const { return m_shallow; } // sorted
  [[nodiscard]] const FetchStats& last_fetch() const { return m_last_fetch; }
  [[nodiscard]] ObjectStore& store() { return m_store; }

private:
  [[nodiscard]] bool is_shallow_commit(const ObjectId& id) const;
  [[nodiscard]] Result<void> diff_subtrees(const ObjectId* old_tree, const ObjectId* new_tree, std::string& path,
                                           std::size_t depth, std::vector<Change>& changes);

  PackLimits m_limits;
  ObjectStore m_store;
  std::optional<ObjectId> m_head;
  std::string m_branch;
  std::vector<Ref> m_remote_refs;
  std::vector<ObjectId> m_shallow;
  FetchStats m_last_fetch;
  bool m_fetching = false;
};

} // namespace morgana::git
