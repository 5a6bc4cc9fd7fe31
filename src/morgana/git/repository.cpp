#include "morgana/git/repository.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "morgana/core/log.h"
#include "morgana/git/pack_indexer.h"

namespace morgana::git {
namespace {

log::Source repository_log{"git.repository"};

constexpr std::string_view heads_prefix = "refs/heads/";

// The ref a fetch follows: "refs/heads/<branch>", or HEAD's target.
Result<std::string> branch_ref_name(const std::vector<Ref>& refs, std::string_view branch) {
  if (branch.starts_with("refs/")) return std::string(branch);
  if (!branch.empty()) return std::string(heads_prefix) + std::string(branch);
  for (const auto& ref : refs) {
    if (ref.name != "HEAD") continue;
    // A detached HEAD has no target: follow HEAD itself.
    return ref.symref_target.empty() ? std::string("HEAD") : ref.symref_target;
  }
  return fail(Errc::not_found, "git: the remote has no HEAD");
}

void add_change(std::vector<Change>& changes, const std::string& path, ChangeKind kind, const TreeEntry* old_entry,
                const TreeEntry* new_entry) {
  Change change{.path = path, .kind = kind};
  if (old_entry != nullptr) {
    change.old_id = old_entry->id;
    change.old_mode = change.mode = old_entry->mode;
  }
  if (new_entry != nullptr) {
    change.new_id = new_entry->id;
    change.mode = new_entry->mode;
    if (old_entry == nullptr) change.old_mode = new_entry->mode;
  }
  changes.push_back(std::move(change));
}

// Marks a fetch as running for as long as its coroutine frame lives.
class FetchGuard {
public:
  explicit FetchGuard(bool& fetching) : m_fetching(fetching) { m_fetching = true; }
  FetchGuard(const FetchGuard&) = delete;
  FetchGuard& operator=(const FetchGuard&) = delete;
  ~FetchGuard() { m_fetching = false; }

private:
  bool& m_fetching;
};

} // namespace

Task<Result<void>> Repository::fetch(Client& client, FetchOptions options, Instant deadline) {
  // Two fetches at once would each build on the store as it was.
  if (m_fetching) co_return fail(Errc::in_use, "git: a fetch is already running");
  FetchGuard guard(m_fetching);
  LsRefsRequest listing{.ref_prefixes = {"HEAD", std::string(heads_prefix)}};
  // A ref named in full outside refs/heads/ ("refs/changes/...") is asked for too.
  if (options.branch.starts_with("refs/") && !options.branch.starts_with(heads_prefix))
    listing.ref_prefixes.push_back(options.branch);
  auto refs = CO_TRY(co_await client.list_refs(std::move(listing), deadline));
  auto branch = CO_TRY(branch_ref_name(refs, options.branch));
  auto ref = std::ranges::find(refs, branch, &Ref::name);
  if (ref == refs.end() || ref->id.empty()) co_return fail(Errc::not_found, "git: the remote has no such branch");
  auto want = CO_TRY(ObjectId::parse_hex(ref->id));

  if (m_store.contains(want)) {
    // Already held (nothing new, or a force-push back to an older commit).
    m_remote_refs = std::move(refs);
    m_branch = std::move(branch);
    m_head = want;
    co_return Result<void>{};
  }

  FetchRequest request{.wants = {want.to_hex()}, .depth = options.depth, .thin_pack = true, .include_tag = false};
  if (m_head) {
    for (const auto& have : CO_TRY(log(*m_head, max_haves_sent))) request.haves.push_back(have.to_hex());
  }
  for (const auto& boundary : m_shallow) request.shallow.push_back(boundary.to_hex());

  // The new pack is built aside; its thin bases come from the store as it is.
  PackIndexer indexer(m_limits, &m_store);
  auto fetched = CO_TRY(
      co_await client.fetch(std::move(request), [&indexer](Bytes data) { return indexer.feed(data); }, deadline));
  auto pack = CO_TRY(indexer.finish());

  // The pack must lead to the commit asked for, whose tree is then at hand.
  auto commit_object = CO_TRY(pack.read(want, &m_store));
  if (commit_object.type != ObjectType::commit) co_return fail(Errc::malformed, "git: the branch is not a commit");
  auto commit = CO_TRY(Commit::parse(commit_object.data));
  if (!pack.contains(commit.tree) && !m_store.contains(commit.tree))
    co_return fail(Errc::not_found, "git: the pack lacks the head commit's tree");

  auto shallow = m_shallow;
  for (const auto& hex : fetched.shallow) shallow.push_back(CO_TRY(ObjectId::parse_hex(hex)));
  for (const auto& hex : fetched.unshallow) std::erase(shallow, CO_TRY(ObjectId::parse_hex(hex)));
  std::ranges::sort(shallow);
  auto duplicates = std::ranges::unique(shallow);
  shallow.erase(duplicates.begin(), duplicates.end());

  FetchStats stats{.pack_objects = indexer.object_count(), .pack_bytes = fetched.pack_bytes};
  stats.thin_deltas = static_cast<std::uint32_t>(std::ranges::count_if(
      pack.entries(), [](const PackEntry& entry) { return entry.is_delta() && entry.base == PackEntry::no_base; }));
  // The one step that may still fail; everything after it cannot.
  CO_TRY(m_store.add(std::move(pack)));
  m_remote_refs = std::move(refs);
  m_branch = std::move(branch);
  m_head = want;
  m_shallow = std::move(shallow);
  m_last_fetch = stats;
  repository_log.info("fetched {} ({} objects, {} on bases already held, {} bytes)", want, stats.pack_objects,
                      stats.thin_deltas, stats.pack_bytes);
  co_return Result<void>{};
}

Result<CommitObject> Repository::read_commit(const ObjectId& id) {
  auto object = TRY(m_store.read(id));
  if (object.type != ObjectType::commit) return fail(Errc::malformed, "git: not a commit");
  auto commit = TRY(Commit::parse(object.data));
  return CommitObject{.id = id, .object = std::move(object), .commit = std::move(commit)};
}

Result<Object> Repository::read_tree(const ObjectId& id) {
  auto object = TRY(m_store.read(id));
  if (object.type != ObjectType::tree) return fail(Errc::malformed, "git: not a tree");
  return object;
}

bool Repository::is_shallow_commit(const ObjectId& id) const { return std::ranges::binary_search(m_shallow, id); }

Result<std::vector<ObjectId>> Repository::log(const ObjectId& from, std::size_t limit) {
  struct Queued {
    std::int64_t time;
    std::uint64_t sequence; // ties go in the order commits were met
    ObjectId id;
    std::vector<ObjectId> parents;
  };
  auto later_first = [](const Queued& a, const Queued& b) {
    return a.time != b.time ? a.time < b.time : a.sequence > b.sequence;
  };
  std::vector<Queued> queue; // a heap, latest on top
  std::unordered_set<ObjectId> seen;
  std::uint64_t sequence = 0;
  auto enqueue = [&](const ObjectId& id) -> Result<void> {
    auto read = TRY(read_commit(id));
    // A shallow boundary's parents are not held: history ends there.
    if (is_shallow_commit(id)) read.commit.parents.clear();
    queue.push_back({read.commit.committer.time, sequence++, id, std::move(read.commit.parents)});
    std::ranges::push_heap(queue, later_first);
    return {};
  };

  std::vector<ObjectId> commits;
  if (limit == 0) return commits;
  seen.insert(from);
  TRY(enqueue(from));
  while (!queue.empty() && commits.size() < limit) {
    std::ranges::pop_heap(queue, later_first);
    auto next = std::move(queue.back());
    queue.pop_back();
    commits.push_back(next.id);
    for (const auto& parent : next.parents) {
      // A parent not held lies beyond a boundary the server drew (a shallow fetch).
      if (!m_store.contains(parent) || !seen.insert(parent).second) continue;
      TRY(enqueue(parent));
    }
  }
  return commits;
}

Result<std::vector<Change>> Repository::diff_trees(const ObjectId& old_tree, const ObjectId& new_tree) {
  std::vector<Change> changes;
  std::string path;
  TRY(diff_subtrees(&old_tree, &new_tree, path, 0, changes));
  return changes;
}

Result<void> Repository::diff_subtrees(const ObjectId* old_tree, const ObjectId* new_tree, std::string& path,
                                       std::size_t depth, std::vector<Change>& changes) {
  if (old_tree != nullptr && new_tree != nullptr && *old_tree == *new_tree) return {};
  if (depth > max_tree_depth) return fail(Errc::limit_reached, "git: trees nest too deeply");
  Object old_object;
  Object new_object;
  Tree old_entries;
  Tree new_entries;
  if (old_tree != nullptr) {
    old_object = TRY(read_tree(*old_tree));
    old_entries = TRY(Tree::parse(old_object.data));
  }
  if (new_tree != nullptr) {
    new_object = TRY(read_tree(*new_tree));
    new_entries = TRY(Tree::parse(new_object.data));
  }

  auto prefix_size = path.size();
  auto enter = [&](const TreeEntry& entry) {
    path.resize(prefix_size);
    if (prefix_size != 0) path += '/';
    path += entry.name;
  };
  // An entry on one side only: a file added or deleted, or every file of a directory.
  auto one_side = [&](const TreeEntry& entry, bool is_old) -> Result<void> {
    enter(entry);
    if (entry.is_directory())
      return diff_subtrees(is_old ? &entry.id : nullptr, is_old ? nullptr : &entry.id, path, depth + 1, changes);
    add_change(changes, path, is_old ? ChangeKind::deleted : ChangeKind::added, is_old ? &entry : nullptr,
               is_old ? nullptr : &entry);
    return {};
  };

  const auto& olds = old_entries.entries;
  const auto& news = new_entries.entries;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < olds.size() || j < news.size()) {
    int order = i == olds.size() ? 1
                : j == news.size()
                    ? -1
                    : compare_tree_names(olds[i].name, olds[i].is_directory(), news[j].name, news[j].is_directory());
    if (order < 0) {
      TRY(one_side(olds[i++], true));
    } else if (order > 0) {
      TRY(one_side(news[j++], false));
    } else {
      const auto& old_entry = olds[i++];
      const auto& new_entry = news[j++];
      if (old_entry.id == new_entry.id && old_entry.mode == new_entry.mode) continue;
      enter(new_entry);
      if (old_entry.is_directory()) {
        TRY(diff_subtrees(&old_entry.id, &new_entry.id, path, depth + 1, changes));
      } else {
        add_change(changes, path, ChangeKind::modified, &old_entry, &new_entry);
      }
    }
  }
  path.resize(prefix_size);
  return {};
}

} // namespace morgana::git
